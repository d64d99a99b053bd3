"""Cross-sectional figures against scipy, and the confidence calibration's shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr

from aion_core.ml.calibration import Calibration, cross_sectional_metrics, per_date_rank_ic


def panel(n_dates: int = 40, n_names: int = 25, seed: int = 3):
    rng = np.random.default_rng(seed)
    dates = np.repeat(np.arange(n_dates), n_names)
    realised = rng.normal(0, 0.03, size=len(dates)) + np.repeat(rng.normal(0, 0.02, n_dates),
                                                                 n_names)
    predicted = 0.3 * realised + rng.normal(0, 0.03, size=len(dates))
    return dates, predicted, realised


def test_ic_and_rank_ic_are_means_of_per_date_correlations():
    dates, p, r = panel()
    m = cross_sectional_metrics(dates, p, r)
    frame = pd.DataFrame({"d": dates, "p": p, "r": r})
    ic = np.mean([pearsonr(g.p, g.r)[0] for _, g in frame.groupby("d")])
    ric = [spearmanr(g.p, g.r)[0] for _, g in frame.groupby("d")]
    assert m["ic"] == pytest.approx(ic)
    assert m["rank_ic"] == pytest.approx(np.mean(ric))
    np.testing.assert_allclose(per_date_rank_ic(dates, p, r), ric)
    assert m["n_dates"] == 40 and m["n_rows"] == 1000


def test_hit_rate_and_decile_spread():
    dates, p, r = panel()
    m = cross_sectional_metrics(dates, p, r)
    frame = pd.DataFrame({"d": dates, "p": p, "r": r})
    hits = []  # against each date's medians, not zero: a rising market is not skill
    for _, g in frame.groupby("d"):
        said, went = np.sign(g.p - g.p.median()), np.sign(g.r - g.r.median())
        hits += list((said == went)[(said != 0) & (went != 0)])
    assert m["hit_rate"] == pytest.approx(np.mean(hits))
    drift = cross_sectional_metrics(dates, p + 1.0, r + 1.0)  # every forecast and move up
    assert drift["hit_rate"] == pytest.approx(m["hit_rate"])
    spreads = []
    for _, g in frame.groupby("d"):
        g = g.sort_values("p")
        k = len(g) // 10
        spreads.append(g.r.iloc[-k:].mean() - g.r.iloc[:k].mean())
    assert m["decile_spread"] == pytest.approx(np.mean(spreads))
    perfect = cross_sectional_metrics(dates, r, r)
    assert perfect["rank_ic"] == pytest.approx(1) and perfect["hit_rate"] == 1


def _panel(rng: np.random.Generator, skill: float, n_dates: int = 200, n_names: int = 100):
    dates = np.repeat(np.arange(n_dates), n_names)
    pred = rng.normal(0, 0.02, n_dates * n_names)
    market = np.repeat(rng.normal(0, 0.05, n_dates), n_names)  # common moves, no skill needed
    realised = market + skill * pred + rng.normal(0, 0.02, len(pred))
    return dates, pred, realised


def test_confidence_grows_with_distance_from_the_middle_and_stays_a_probability():
    rng = np.random.default_rng(5)
    dates, pred, realised = _panel(rng, skill=1.0)
    cal = Calibration.fit(dates, pred, realised)
    day = np.zeros(5)
    conf = cal.confidence(day, np.array([-0.05, -0.01, 0.0, 0.01, 0.05]))
    assert conf[2] == pytest.approx(min(cal.y), abs=0.05)  # the middle name: a coin flip
    assert conf[4] > conf[3] > conf[2] + 0.05 and conf[4] > 0.7
    assert conf[0] == pytest.approx(conf[4]) and conf[1] == pytest.approx(conf[3])
    assert ((conf >= 0) & (conf <= 1)).all()
    back = Calibration.from_dict(cal.to_dict())
    np.testing.assert_array_equal(back.confidence(dates, pred), cal.confidence(dates, pred))


def test_market_moves_do_not_move_confidence():
    """A month when everything falls must not make the model's best names look untrustworthy."""
    rng = np.random.default_rng(8)
    dates, pred, realised = _panel(rng, skill=1.0)
    crash = Calibration.fit(dates, pred, realised - 0.2)
    calm = Calibration.fit(dates, pred, realised)
    probe = np.linspace(-0.05, 0.05, 11)
    np.testing.assert_allclose(crash.confidence(np.zeros(11), probe),
                               calm.confidence(np.zeros(11), probe))


def test_a_forecast_without_skill_gets_a_flat_confidence_near_a_coin_flip():
    rng = np.random.default_rng(6)
    dates, pred, realised = _panel(rng, skill=0.0)
    cal = Calibration.fit(dates, pred, realised)
    conf = cal.confidence(np.zeros(50), np.linspace(-3, 3, 50))
    assert np.all(np.abs(conf - 0.5) < 0.05)
