#!/usr/bin/env bash
# `make run`: a living demo from an empty data root. Fills it with the synthetic market (only
# when empty), runs the nightly pipeline and replays the last months for the bots (only when the
# root has no predictions or no bot history yet: on a filled root the app starts at once and the
# scheduler's nightly retrains), then starts the scheduler beside the app and stops both on
# Ctrl-C. The scheduler's output goes to its log (the Logs page shows it), not this console.
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

# What the root still needs, every path from the store: "<nightly 0|1> <replay 0|1> <first
# replayed session> <last session> <scheduler log>".
read -r NEED_NIGHTLY NEED_REPLAY START END SCHEDULER_LOG < <(
  "$BIN/python" - "$REPLAY_SESSIONS" <<'PY'
import sys
from aion_core.bots.registry import SWING_BOTS
from aion_core.config import load_settings
from aion_core.store import Store

store = Store(load_settings().aion_data_dir)
dates = sorted({d for s in store.daily_symbols()[:5] for d in store.read_daily(s)["date"]})
n = int(sys.argv[1])
nightly = not store.path("rolling_brain").exists()
replay = not all(bot.state_path(store.root).exists() for bot in SWING_BOTS)
log = store.path("job_log", job="scheduler")
log.parent.mkdir(parents=True, exist_ok=True)
print(int(nightly), int(replay), dates[-min(n, len(dates))].date(), dates[-1].date(), log)
PY
)
if [ "$NEED_NIGHTLY" = 1 ]; then
  "$BIN/aion" nightly --skip-fetch
else
  echo "predictions already there: the scheduler's nightly refreshes them"
fi
if [ "$NEED_REPLAY" = 1 ]; then
  "$BIN/aion" replay --start "$START" --end "$END"
else
  echo "bots already have a history: \`aion replay\` extends it"
fi

"$BIN/aion" scheduler >>"$SCHEDULER_LOG" 2>&1 &
SCHEDULER=$!
trap 'kill "$SCHEDULER" 2>/dev/null || true; wait "$SCHEDULER" 2>/dev/null || true' EXIT INT TERM
echo "scheduler running, its log in $SCHEDULER_LOG"
echo "Aion is at http://127.0.0.1:8501 (Ctrl-C stops the app and the scheduler)"
"$BIN/streamlit" run app.py
