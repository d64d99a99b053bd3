"""aion_core.ml.analytics: each series on a small market whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aion_core.ml.analytics import COLUMNS, score_autocorrelation, signal_analytics

DATES = pd.bdate_range("2024-03-01", periods=8, name="date")
NAMES = [f"S{i:02d}" for i in range(20)]


def _rows(seed: int = 3) -> pd.DataFrame:
    """20 names a day; the forecast is the realised return itself, one input its opposite,
    another a constant ranking of the names (by their number)."""
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame([(d, s) for d in DATES for s in NAMES], columns=["date", "symbol"])
    rows["realised"] = rng.normal(0, 0.02, len(rows))
    rows["expected_return"] = rows["realised"]
    rows["against"] = -rows["realised"]
    rows["by_name"] = rows["symbol"].str[1:].astype(int)
    return rows


def _book() -> pd.DataFrame:
    return pd.DataFrame({"gross": np.linspace(0.001, 0.008, len(DATES)), "cost": 0.0002,
                         "net": np.linspace(0.001, 0.008, len(DATES)) - 0.0002,
                         "turnover": 0.1}, index=DATES)


def _one(out: pd.DataFrame, series: str, key: str = "") -> pd.Series:
    part = out[(out["series"] == series) & (out["key"] == key)]
    return part.set_index("date")["value"]


def test_a_forecast_equal_to_the_outcome_has_ic_one_and_its_opposite_minus_one():
    out = signal_analytics(_rows(), _book(), ["against", "by_name"])
    assert list(out.columns) == COLUMNS
    assert set(out["series"]) == {"rank_ic", "long_short", "decile", "feature_ic",
                                  "score_autocorr"}
    ic = _one(out, "rank_ic")
    assert list(ic.index) == list(DATES) and np.allclose(ic, 1.0)
    assert np.allclose(_one(out, "feature_ic", "against"), -1.0)
    assert len(_one(out, "feature_ic", "by_name")) == len(DATES)
    pd.testing.assert_series_equal(_one(out, "long_short", "net"), _book()["net"],
                                   check_names=False, check_freq=False)


def test_deciles_hold_each_date_s_mean_return_of_its_two_names_per_decile():
    rows = _rows()
    out = signal_analytics(rows, _book(), [])
    day = DATES[2]
    ordered = np.sort(rows.loc[rows["date"] == day, "realised"].to_numpy())
    for d in (1, 5, 10):  # 20 names: decile d is the (2d-1)-th and 2d-th lowest forecasts
        got = _one(out, "decile", str(d)).loc[day]
        assert got == pytest.approx(ordered[2 * d - 2:2 * d].mean())


def test_a_ranking_that_never_changes_has_autocorrelation_one_and_a_flipped_one_minus_one():
    rows = _rows()
    steady = score_autocorrelation(rows, "by_name")
    assert list(steady.index) == list(DATES[1:])  # the first date has no session before it
    assert np.allclose(steady, 1.0)
    flip = np.where(DATES.get_indexer(rows["date"]) % 2 == 0, 1, -1)
    flipping = score_autocorrelation(rows.assign(by_name=rows["by_name"] * flip), "by_name")
    assert np.allclose(flipping, -1.0)


def test_autocorrelation_is_over_the_names_both_dates_have():
    rows = _rows()
    rows["by_name"] = rows["by_name"].astype(float)
    # a name that appears only on the second date, ranked first there, changes nothing
    new = pd.DataFrame({"date": [DATES[1]], "symbol": ["NEW"], "by_name": [99.0]})
    got = score_autocorrelation(pd.concat([rows, new], ignore_index=True), "by_name")
    assert got.loc[DATES[1]] == pytest.approx(1.0)
