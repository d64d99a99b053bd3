"""aion_core.ml.evaluation: the report of a universe too small for some figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pytest import approx

from aion_core.ml.evaluation import report


def test_a_universe_too_small_for_deciles_reports_none_not_nan():
    """Eight names cannot fill ten deciles: the report says so with null, and stays JSON."""
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2017-01-02", periods=30)
    frame = pd.DataFrame([(d, f"S{i}") for d in dates for i in range(8)],
                         columns=["date", "symbol"])
    for col in ("expected_return", "realised", "reversal", "momentum"):
        frame[col] = rng.normal(0, 0.01, len(frame))
    frame["confidence"] = rng.uniform(0.45, 0.6, len(frame))
    doc = report(frame, 5)
    assert doc["all"]["model"]["top_minus_bottom"] is None
    assert doc["all"]["model"]["mean_rank_ic"] is not None
    json.dumps(doc, allow_nan=False)  # raises on any NaN left


def _planted(when: str, seed: int = 4) -> pd.DataFrame:
    """A market whose move on session t+1 leans on a signal known at t's close, either
    overnight (close t -> open t+1) or after the open (open t+1 -> close t+1); the report's
    frame of it for h = 5, the signal as the forecast."""
    from aion_core.ml.labels import forward_returns, open_forward_returns

    rng = np.random.default_rng(seed)
    n_sym, n_days, h = 60, 260, 5
    signal = rng.normal(size=(n_days, n_sym))
    lean = 0.01 * np.vstack([np.zeros((1, n_sym)), signal[:-1]])  # signal of the day before
    night = lean if when == "overnight" else 0.0
    day = lean if when == "after_open" else 0.0
    gap = np.exp(night + 0.005 * rng.normal(size=signal.shape))
    move = np.exp(day + 0.01 * rng.normal(size=signal.shape))
    opens, closes = np.empty_like(gap), np.empty_like(gap)
    last = np.full(n_sym, 100.0)
    for t in range(n_days):
        opens[t] = last * gap[t]
        closes[t] = last = opens[t] * move[t]
    dates = pd.bdate_range("2016-01-04", periods=n_days)
    bars = pd.DataFrame({"symbol": np.repeat([f"S{i:02d}" for i in range(n_sym)], n_days),
                         "date": np.tile(dates, n_sym), "open": opens.T.ravel(),
                         "close": closes.T.ravel(), "volume": 1.0})
    bars["high"] = bars[["open", "close"]].max(axis=1)
    bars["low"] = bars[["open", "close"]].min(axis=1)
    frame = bars[["symbol", "date"]].assign(
        expected_return=signal.T.ravel(), confidence=0.5,
        realised=open_forward_returns(bars, {"x": h})["open_fwd_x"],
        realised_close=forward_returns(bars, {"x": h})["fwd_x"],
        reversal=rng.normal(size=len(bars)), momentum=rng.normal(size=len(bars)))
    return frame.dropna().reset_index(drop=True)


def test_a_signal_acting_overnight_is_not_tradeable_and_one_acting_after_the_open_is():
    """The bots fill at the next open: an edge that is gone by then must not count."""
    overnight = report(_planted("overnight"), 5)
    assert overnight["close_to_close"]["all"]["model"]["mean_rank_ic"] > 0.2
    assert abs(overnight["all"]["model"]["mean_rank_ic"]) < 0.02  # the tradeable label
    after_open = report(_planted("after_open"), 5)
    assert after_open["all"]["model"]["mean_rank_ic"] > 0.2
    assert after_open["all"]["model"]["rank_ic_t"] > 10


def test_errors_use_twice_the_horizon_of_lags_and_a_non_overlapping_t():
    from aion_core.ml.evaluation import newey_west_se, non_overlapping_t

    rng = np.random.default_rng(2)
    x = np.convolve(rng.normal(size=400), np.ones(5) / 5, mode="valid") + 0.05
    doc = report(_planted("after_open"), 5)
    assert doc["newey_west_lags"] == 10
    # plain code, apart from the module: every 5th value, mean over its standard error
    apart = x[::5]
    t, used = non_overlapping_t(x, 5)
    assert used == len(apart)
    assert t == approx(apart.mean() / (apart.std(ddof=1) / np.sqrt(len(apart))))
    d, n = x - x.mean(), len(x)
    gamma = [d[k:] @ d[:n - k] / n for k in range(11)]
    long_run = gamma[0] + 2 * sum((1 - k / 11) * gamma[k] for k in range(1, 11))
    assert newey_west_se(x, 10) == approx(np.sqrt(long_run / n))
    assert newey_west_se(x, 10) > 1.5 * newey_west_se(x, 0)  # overlapping values cost


def test_summary_lines_print_n_a_where_a_window_ending_at_the_last_session_has_no_figure():
    """Issue 24 item 8: a window ending at the last session (its last labels unknown) left
    None figures that the summary's formats crashed on."""
    from jobs.evaluate import summary_lines

    rep = report(_planted("after_open").head(0), 5)  # nothing judged yet
    doc = {"id": "e", "start": "2026-11-01", "end": "2026-11-20", "retrain_every": 63,
           "data": {"symbols": 60}, "horizons": {"1w": rep}}
    lines = summary_lines(doc)
    assert lines[1] == "  1w verdict: no verdict: too few judged days"
    assert "rank IC n/a (NW t n/a, non-overlapping t n/a)" in lines[2]


def test_the_verdict_pairs_the_model_with_the_composite_and_the_best_baseline_per_date():
    frame = _planted("after_open")
    rng = np.random.default_rng(9)
    frame["composite"] = frame["expected_return"] + rng.normal(0, 3.0, len(frame))  # weaker
    frame["reversal_20"] = frame["expected_return"]  # the same signal: no better, no worse
    doc = report(frame, 5)
    versus = doc["versus"]
    assert set(versus) == {"composite", "reversal", "reversal_20", "momentum"}
    # plain per-date code: Spearman of each signal, then the model's lead over the composite
    lead = []
    for _, day in frame.groupby("date"):
        r = day["realised"].rank()
        lead.append(np.corrcoef(day["expected_return"].rank(), r)[0, 1]
                    - np.corrcoef(day["composite"].rank(), r)[0, 1])
    assert versus["composite"]["mean_difference"] == approx(np.mean(lead))
    assert versus["composite"]["t"] > 2 and versus["reversal_20"]["mean_difference"] == 0
    assert doc["verdict"].startswith("model +0.")
    assert "beats composite" in doc["verdict"] and "does not beat reversal_20" in doc["verdict"]
    # ahead by a hair is not beating: the verdict says which
    frame["composite"] = frame["expected_return"] + rng.normal(0, 50.0, len(frame))
    frame.loc[frame["date"] != frame["date"].iloc[0], "composite"] = \
        frame["expected_return"]
    ahead = report(frame, 5)
    assert 0 < ahead["versus"]["composite"]["t"] < 2
    assert "ahead of, not significantly, composite" in ahead["verdict"]
