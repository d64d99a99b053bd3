"""Backtest runs kept in the data root, and the predictions of replays and backtests recorded
into prediction_history (issue 13, parts 1 and 3), on the real pipeline over a short period."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date

import pandas as pd
import pytest

from aion_core.app import run_now
from aion_core.config import load_settings
from aion_core.errors import KnobError, RefusedError
from aion_core.store import read_jsonl, read_parquet
from jobs.nightly_steps import append_history
from jobs.replay import BENCHMARK, EQUITY_COLUMNS, PREDICTION_COLUMNS, run_backtest, run_replay

START, END = date(2026, 11, 2), date(2026, 11, 13)


@pytest.fixture
def settings(demo_root):
    return load_settings(demo_root.root, env_file=None).model_copy(
        update={"aion_retrain_every": 30})


def test_a_backtest_without_out_is_kept_with_its_knobs_and_predictions(demo_root, settings):
    knobs = {"swing": {"1w": {"max_positions": 3}}}
    line = run_backtest(demo_root, settings, START, END, ["1w"], knobs=knobs)
    (folder,) = (demo_root.root / "research" / "backtests").iterdir()
    assert str(folder) in line and folder.name.startswith("bt_")
    run = demo_root.read_json("backtest_run", backtest_id=folder.name)
    assert run["id"] == folder.name and run["bots"] == ["swing_1w"]
    assert run["knobs"]["swing_1w"]["max_positions"] == 3 and run["retrain_every"] == 30
    assert demo_root.read_json("bot_state", horizon="1w") is None, "live books untouched"
    sheet = demo_root.read_json("backtest_metrics", backtest_id=folder.name)["bots"]["swing_1w"]
    assert {"volatility", "calmar", "alpha", "beta", "profit_factor"} <= set(sheet)
    equity = read_parquet(demo_root.path("backtest_equity", backtest_id=folder.name))
    assert list(equity.columns) == EQUITY_COLUMNS
    assert set(equity["bot"]) == {"swing_1w", BENCHMARK}
    preds = read_parquet(demo_root.path("backtest_predictions", backtest_id=folder.name))
    assert list(preds.columns) == PREDICTION_COLUMNS and (preds["as_of"] < preds["date"]).all()
    history = read_parquet(demo_root.path("prediction_history"))
    assert len(history) == len(preds), "the model's predictions join the track record"
    trades = read_jsonl(demo_root.path("backtest_trades", backtest_id=folder.name)).records
    assert {t["bot"] for t in trades} <= {"swing_1w"}


def test_bad_knobs_are_refused_before_anything_runs(demo_root, settings):
    with pytest.raises(KnobError, match="max_positions"):
        run_backtest(demo_root, settings, START, END, ["1w"],
                     knobs={"swing": {"1w": {"max_positions": -1}}})
    assert not (demo_root.root / "research").exists()


def test_a_replay_records_its_predictions_without_overwriting_a_nightlys(demo_root, settings):
    as_of = pd.Timestamp("2026-11-05")
    published = pd.DataFrame({"as_of": [as_of], "symbol": ["ZZZ"], "horizon": ["1w"],
                              "expected_return": [0.5], "confidence": [0.9], "score": [9.0],
                              "rank": [1]})
    append_history(demo_root, published)
    run_replay(demo_root, settings, START, END)
    history = read_parquet(demo_root.path("prediction_history"))
    days = pd.to_datetime(history["as_of"])
    assert days.min() == pd.Timestamp("2026-10-30") and days.max() == pd.Timestamp("2026-11-12")
    assert set(history["horizon"]) == {"1w", "2w", "4w"}
    kept = history[(days == as_of) & (history["symbol"] == "ZZZ")]
    assert kept["expected_return"].tolist() == [0.5]
    assert not history.duplicated(["as_of", "symbol", "horizon"]).any()


def test_the_runner_starts_a_backtest_with_the_pages_arguments(store):
    """Through the admin buttons' runner and lock: the page's options reach `aion backtest`,
    whose one-line error (an empty root here) ends the job's log."""
    extra = ["--start", "2026-11-02", "--end", "2026-11-13", "--horizon", "1w,4w",
             "--retrain-every", "30", "--knobs", '{"swing": {"1w": {"max_positions": 3}}}']
    run_now.start_job(store, run_now.BACKTEST_JOB, extra=extra)
    with pytest.raises(RefusedError, match="already running"):
        run_now.start_job(store, run_now.BACKTEST_JOB, extra=extra)
    deadline = time.time() + 60
    while (view := run_now.job_view(store, run_now.BACKTEST_JOB)).running:
        assert time.time() < deadline
        time.sleep(0.2)
    assert view.status == "failed" and view.doc["args"] == ["backtest", *extra]
    assert "aion demo-data" in view.log_tail[-1]


@pytest.mark.parametrize("args,needle", [
    (["--knobs", "{not json"], "--knobs is not JSON"),
    (["--knobs", '{"swing": {"1w": {"max_positions": -1}}}'], "max_positions"),
    (["--horizon", "1w,3w"], "--horizon must be"),
])
def test_bad_backtest_options_are_one_clear_line(store, args, needle):
    result = subprocess.run([sys.executable, "-m", "aion_core", "backtest", "--start",
                             "2026-11-02", "--end", "2026-11-13", "--data-dir", str(store.root),
                             *args], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and needle in result.stderr
    assert "Traceback" not in result.stderr
