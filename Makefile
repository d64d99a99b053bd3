# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= $(or $(AION_DATA_DIR),./data)

.PHONY: run test lint setup demo-data bench

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Fill an empty data root with the synthetic market (a filled root is left alone).
demo-data: $(STAMP)
	@if [ -z "$$(ls -A $(DATA_DIR)/raw/daily 2>/dev/null)" ]; then \
	  $(BIN)/aion demo-data --data-dir $(DATA_DIR) --symbols 50 --years 5; \
	else echo "data root $(DATA_DIR) already holds daily bars; leaving it as it is"; fi

run: demo-data
	$(BIN)/aion nightly --data-dir $(DATA_DIR) --skip-fetch

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b; done
