#!/usr/bin/env bash
# `make run`: a living demo from an empty data root. Fills it with the synthetic market (only
# when empty), runs the nightly pipeline, replays the last months for the bots (resumable: a
# replayed session is never traded twice), then starts the scheduler beside the app and stops
# both on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export AION_DATA_DIR="${AION_DATA_DIR:-./data}"
REPLAY_SESSIONS="${REPLAY_SESSIONS:-63}"

if [ -z "$(ls -A "$AION_DATA_DIR/raw/daily" 2>/dev/null)" ]; then
  "$BIN/aion" demo-data --symbols 50 --years 5
else
  echo "data root $AION_DATA_DIR already holds daily bars; leaving them as they are"
fi

"$BIN/aion" nightly --skip-fetch

read -r START END < <("$BIN/python" - "$REPLAY_SESSIONS" <<'PY'
import sys
from aion_core.config import load_settings
from aion_core.store import Store

store = Store(load_settings().aion_data_dir)
dates = sorted({d for s in store.daily_symbols()[:5] for d in store.read_daily(s)["date"]})
n = int(sys.argv[1])
print(dates[-n].date(), dates[-1].date())
PY
)
"$BIN/aion" replay --start "$START" --end "$END"

"$BIN/aion" scheduler &
SCHEDULER=$!
trap 'kill "$SCHEDULER" 2>/dev/null || true; wait "$SCHEDULER" 2>/dev/null || true' EXIT INT TERM
echo "Aion is at http://127.0.0.1:8501 (Ctrl-C stops the app and the scheduler)"
"$BIN/streamlit" run app.py
