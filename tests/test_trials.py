"""The trial registry (jobs/trials.py): every evaluation and backtest counted, and a
backtest's Sharpe ratios deflated for the tries on its window."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from math import erf, sqrt

import numpy as np
import pytest

from aion_core.config import load_settings
from aion_core.store import Store, read_parquet
from jobs.replay import BENCHMARK, run_backtest
from jobs.trials import overlapping, record_trial, trials

START, END = date(2026, 11, 2), date(2026, 11, 13)


def test_trials_are_appended_once_and_counted_by_their_window(store: Store):
    record_trial(store, "evaluate", "e1", {"a": 1}, "2015-01-01", "2015-12-31", 100, {})
    record_trial(store, "evaluate", "e1", {"a": 1}, "2015-01-01", "2015-12-31", 100, {})
    record_trial(store, "evaluate", "e1", {"a": 2}, "2015-01-01", "2015-12-31", 100, {})
    record_trial(store, "backtest", "b1", {}, "2016-06-01", "2016-12-31", 100, {"x": 1})
    lines = trials(store)
    assert [t["id"] for t in lines] == ["e1", "e1", "b1"]  # the same try is one trial
    assert lines[0]["recipe"] != lines[1]["recipe"] and lines[0]["code_version"]
    assert [t["id"] for t in overlapping(lines, "2015-12-31", "2016-01-31")] == ["e1", "e1"]
    assert [t["id"] for t in overlapping(lines, "2016-01-01", "2016-05-31")] == []
    done = subprocess.run([sys.executable, "-m", "aion_core", "trials", "--kind", "backtest",
                           "--data-dir", str(store.root)], capture_output=True, text=True)
    out = done.stdout.strip().splitlines()
    assert done.returncode == 0 and len(out) == 2 and " b1 2016-06-01..2016-12-31 " in out[0]
    assert out[-1].startswith("1 trial(s) in ")


def _psr(sr: float, n: int, skew: float, kurt: float, bench: float) -> float:
    z = (sr - bench) * sqrt(n - 1) / sqrt(1 - skew * sr + (kurt - 1) / 4 * sr ** 2)
    return 0.5 * (1 + erf(z / sqrt(2)))


def test_a_backtest_is_a_trial_and_its_sharpe_is_deflated_for_the_trials_before_it(demo_root):
    settings = load_settings(demo_root.root, env_file=None).model_copy(
        update={"aion_retrain_every": 30})
    run_backtest(demo_root, settings, START, END, ["1w", "4w"])
    run_backtest(demo_root, settings, START, END, ["1w"],
                 knobs={"swing": {"1w": {"max_positions": 3}}})
    lines = trials(demo_root)
    assert [t["kind"] for t in lines] == ["backtest", "backtest"]
    assert lines[0]["recipe"] != lines[1]["recipe"]
    second = lines[1]["id"]
    doc = demo_root.read_json("backtest_metrics", backtest_id=second)["deflated"]
    assert doc["trials"] == 3  # two bots of the first run, one of this one (traded or not)
    # plain code from the run's own equity and the registry: per-session Sharpe, moments,
    # the expected maximum of 3 skill-less trials, the PSR against it
    equity = read_parquet(demo_root.path("backtest_equity", backtest_id=second))
    curve = equity[equity["bot"] == "swing_1w"].set_index("date")["equity"]
    x = np.diff(np.r_[100_000.0, curve.to_numpy()]) / np.r_[100_000.0, curve.to_numpy()[:-1]]
    sr = x.mean() / x.std(ddof=1)
    d = x - x.mean()
    skew, kurt = np.mean(d ** 3) / np.mean(d ** 2) ** 1.5, np.mean(d ** 4) / np.mean(d ** 2) ** 2
    sharpes = [s for s in lines[0]["figures"]["sharpe_per_session"].values()
               if s is not None] + [sr]  # a bot that never traded has no Sharpe, but was tried
    from scipy.stats import norm

    g = 0.5772156649015329
    sr0 = np.std(sharpes, ddof=1) * ((1 - g) * norm.ppf(1 - 1 / 3)
                                     + g * norm.ppf(1 - 1 / (3 * np.e)))
    bot = doc["bots"]["swing_1w"]
    assert bot["sharpe_per_session"] == pytest.approx(sr)
    assert bot["psr"] == pytest.approx(_psr(sr, len(x), skew, kurt, 0.0))
    assert bot["dsr"] == pytest.approx(_psr(sr, len(x), skew, kurt, sr0))
    assert BENCHMARK not in doc["bots"]
    # a rerun of the same run (a killed one finished) is that trial, not one more
    run_backtest(demo_root, settings, START, END, ["1w"],
                 out=demo_root.path("backtest_metrics", backtest_id=second).parent,
                 knobs={"swing": {"1w": {"max_positions": 3}}})
    assert len(trials(demo_root)) == 2
    assert demo_root.read_json("backtest_metrics", backtest_id=second)["deflated"] == doc
