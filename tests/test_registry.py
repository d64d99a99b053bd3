"""The bot registry: one identity per bot, the contract's names and paths, one job name."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_core.app import run_now
from aion_core.bots.registry import BOTS, JOB_NAMES, SWING_BOTS, swing_bot
from aion_core.config import HORIZONS, load_settings
from jobs import scheduler as sched

ROOT = Path("/data")


def test_names_keys_and_paths_follow_the_contract():
    assert [b.key for b in BOTS.values()] == [*HORIZONS, "dt"]
    assert [b.name for b in SWING_BOTS] == [f"swing_{h}" for h in HORIZONS]
    assert BOTS["dt"].name == "dt" and BOTS["dt"].label == "intraday"
    assert swing_bot("2w").state_path(ROOT) == ROOT / "stock_cache/master/bot/rolling_2w.json.gz"
    assert swing_bot("4w").trades_path(ROOT, "2026-11-20") == \
        ROOT / "ml_data/bot_logs/4w/trades_20261120.jsonl"
    assert BOTS["dt"].state_path(ROOT) == ROOT / "da_brains/intraday/dt_state.json.gz"
    assert BOTS["dt"].trades_path(ROOT, "2026-11-20") == ROOT / "da_brains/intraday/dt_trades.jsonl"
    assert {(b.section, b.horizon) for b in BOTS.values()} == \
        {("swing", h) for h in HORIZONS} | {("dt", None)}


def test_one_spelling_of_each_job_everywhere():
    assert {b.job for b in BOTS.values()} <= set(JOB_NAMES)
    # Run-now jobs are the scheduled ones plus the replay, which only a person starts.
    assert set(run_now.JOBS) == {*JOB_NAMES, run_now.REPLAY_JOB}
    specs = sched.job_specs(load_settings(env_file=None))
    assert [s.name for s in specs] == list(JOB_NAMES)


def test_an_unknown_horizon_is_named():
    with pytest.raises(KeyError, match="3w"):
        swing_bot("3w")
    with pytest.raises(KeyError, match="dt"):
        swing_bot("dt")
