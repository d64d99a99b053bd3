"""Cross-sectional figures against scipy, and the confidence calibration's shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr

from aion_core.calibration import Calibration, cross_sectional_metrics, per_date_rank_ic


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
    assert m["hit_rate"] == pytest.approx(np.mean(np.sign(p) == np.sign(r)))
    frame = pd.DataFrame({"d": dates, "p": p, "r": r})
    spreads = []
    for _, g in frame.groupby("d"):
        g = g.sort_values("p")
        k = len(g) // 10
        spreads.append(g.r.iloc[-k:].mean() - g.r.iloc[:k].mean())
    assert m["decile_spread"] == pytest.approx(np.mean(spreads))
    perfect = cross_sectional_metrics(dates, r, r)
    assert perfect["rank_ic"] == pytest.approx(1) and perfect["hit_rate"] == 1


def test_confidence_grows_with_forecast_size_and_stays_a_probability():
    rng = np.random.default_rng(5)
    pred = rng.normal(0, 0.02, 20_000)
    realised = pred + rng.normal(0, 0.02, 20_000)  # big forecasts are right more often
    cal = Calibration.fit(pred, realised)
    conf = cal.confidence(np.array([0.0, 0.005, 0.02, 0.05, 1.0, -0.05]))
    assert np.all(np.diff(conf[:5]) >= 0) and conf[4] > conf[0] + 0.2
    assert conf[5] == conf[3]  # only the size matters
    assert ((conf >= 0) & (conf <= 1)).all()
    back = Calibration.from_dict(cal.to_dict())
    np.testing.assert_array_equal(back.confidence(pred), cal.confidence(pred))


def test_a_forecast_without_skill_gets_a_flat_confidence_near_a_coin_flip():
    rng = np.random.default_rng(6)
    cal = Calibration.fit(rng.normal(size=20_000), rng.normal(size=20_000))
    conf = cal.confidence(np.linspace(0, 3, 50))
    assert np.all(np.abs(conf - 0.5) < 0.1)
