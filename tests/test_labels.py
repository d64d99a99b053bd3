"""Forward returns: close t -> close t+h of the same symbol, NaN past the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aion_core.config import HORIZONS
from aion_core.errors import DataError
from aion_core.ml.features import PanelLayout, panel_arrays
from aion_core.ml.labels import forward_returns, label_columns, target_columns
from aion_core.ml.residual import daily_residuals


def test_forward_returns_match_per_symbol_shift(synthetic_market):
    bars = synthetic_market.panel()
    labels = forward_returns(bars)
    assert list(labels.columns) == ["symbol", "date", *label_columns(), *target_columns()]
    assert len(labels) == len(bars)
    for sym, b in bars.groupby("symbol"):
        for name, steps in HORIZONS.items():
            want = (b["close"].shift(-steps) / b["close"] - 1).to_numpy()
            got = labels.loc[b.index, f"fwd_{name}"].to_numpy()
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"{sym} {name}")
            # the last `steps` sessions of every symbol are unknown, the rest are known
            assert np.isnan(got[-steps:]).all() and np.isfinite(got[:-steps]).all()


def test_labels_never_cross_symbols():
    bars = pd.DataFrame({"symbol": ["A"] * 3 + ["B"] * 3,
                         "date": list(pd.bdate_range("2024-01-01", periods=3)) * 2,
                         "open": 1.0, "high": 1.0, "low": 1.0, "volume": 1.0,
                         "close": [1.0, 2.0, 4.0, 10.0, 10.0, 5.0]})
    labels = forward_returns(bars, {"x": 1, "y": 2})
    np.testing.assert_allclose(labels["fwd_x"], [1.0, 1.0, np.nan, 0.0, -0.5, np.nan])
    np.testing.assert_allclose(labels["fwd_y"], [3.0, np.nan, np.nan, -0.5, np.nan, np.nan])


def test_unsorted_bars_are_refused(synthetic_market):
    with pytest.raises(DataError):
        forward_returns(synthetic_market.panel().iloc[::-1])


def test_the_residual_target_sums_the_next_sessions_residuals(synthetic_market):
    bars = synthetic_market.panel()
    labels = forward_returns(bars)
    p = panel_arrays(bars)
    lay = PanelLayout.of(p, bars["date"].to_numpy())
    resid = pd.DataFrame(daily_residuals(lay.by_day(p.close), lay.days))
    for name, steps in HORIZONS.items():
        # the next `steps` rows' residuals, summed by a plain loop over the shift
        want = sum(resid.shift(-k) for k in range(1, steps + 1)).to_numpy()[lay.day, lay.sym]
        got = labels[f"resid_fwd_{name}"].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=name)
        assert np.isfinite(got).mean() > 0.8  # known from the first refit on


def test_the_tradeable_label_runs_from_the_next_open_to_the_open_h_sessions_later():
    from aion_core.ml.labels import open_forward_returns

    dates = pd.bdate_range("2020-01-01", periods=8)
    bars = pd.DataFrame({"symbol": ["A"] * 8 + ["B"] * 3, "date": [*dates, *dates[:3]],
                         "open": [10, 11, 12, 0, 14, 15, 16, 17, 5, 6, 7.0],
                         "high": 20.0, "low": 1.0, "close": 9.0, "volume": 1.0})
    got = open_forward_returns(bars, {"x": 2})["open_fwd_x"].to_numpy()
    want = [np.nan, 14 / 12 - 1, np.nan, 16 / 14 - 1, 17 / 15 - 1,  # A: the zero open of
            np.nan, np.nan, np.nan,  # row 3 is unknown; the last three rows have no open t+3
            np.nan, np.nan, np.nan]  # B: never two sessions past its next open
    np.testing.assert_allclose(got, want, rtol=1e-12)
