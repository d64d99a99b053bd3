# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint setup bench

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Debian's chromium for the one browser test; where it cannot be installed that test skips.
$(CHROMIUM):
	-command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] && SUDO= || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium not installable here: the e2e test will skip"

run: $(STAMP)
	scripts/run.sh

lint: $(STAMP)
	$(BIN)/ruff check .

# Debian's postgresql and redis-server for the metrics-store and cache tests, which start them
# on free ports under a temporary folder; where they cannot be installed those tests skip.
SERVERS := /usr/lib/postgresql /usr/bin/redis-server
$(SERVERS):
	-command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] && SUDO= || SUDO=sudo; \
	  $$SUDO apt-get install -y -qq postgresql redis-server >/dev/null \
	  || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq postgresql redis-server \
	       >/dev/null; }; } \
	  || echo "postgresql / redis-server not installable here: their tests will skip"

# Two pytest workers (pytest-xdist), a test file each at a time so module fixtures run once:
# much of the suite waits on subprocesses, servers and the browser, and one process left a
# core idle (13 min serial, 7 with two workers on 2 cores). PYTEST_WORKERS=0 runs serially.
PYTEST_WORKERS ?= 2
test: $(STAMP) lint $(CHROMIUM) $(SERVERS)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b; done
