"""Residual returns: the common factors come out, the stock's own move stays, nothing later
is read."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aion_core.ml import residual as R


def factor_market(n_days: int = 700, n_symbols: int = 80, seed: int = 0):
    """Closes driven by three common factors plus idiosyncratic noise; returns the closes,
    the session dates and the idiosyncratic returns that were planted."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2019-01-01", periods=n_days)
    factors = rng.normal(0, 0.01, (n_days, 3))
    betas = rng.normal(1.0, 1.0, (3, n_symbols))
    idio = rng.normal(0, 0.01, (n_days, n_symbols))
    ret = factors @ betas + idio
    ret[0] = 0.0
    close = 50.0 * np.exp(np.cumsum(np.log1p(ret), axis=0))
    return close, days, idio


def test_refits_fall_on_each_month_s_first_session_whatever_the_start():
    days = pd.bdate_range("2019-01-01", periods=400)
    full = days[R.refit_days(days)]
    assert all(d.month != (d - pd.offsets.BDay(1)).month for d in full)
    later = days[37:]
    cut = later[R.refit_days(later)]
    assert set(cut) <= set(full) and len(cut) >= len(full) - 3


def test_residuals_strip_the_common_factors_and_keep_the_stock_s_own_move():
    close, days, idio = factor_market()
    resid = R.daily_residuals(close, days, factors=3)
    known = np.isfinite(resid).all(axis=1)
    assert known[R.FIT_WINDOW:].all() and not known[:R.MIN_FIT_WINDOW].any()
    ret = close[1:] / close[:-1] - 1.0
    raw_corr = np.mean([np.corrcoef(ret[t - 1], idio[t])[0, 1] for t in range(300, 700)])
    res_corr = np.mean([np.corrcoef(resid[t], idio[t])[0, 1] for t in range(300, 700)])
    assert res_corr > 0.9 and raw_corr < 0.7, (res_corr, raw_corr)


def test_a_day_s_residual_reads_nothing_after_it():
    close, days, _ = factor_market(n_days=500)
    t = 400
    changed = close.copy()
    changed[t + 1:] *= np.random.default_rng(1).uniform(0.5, 1.5, changed[t + 1:].shape)
    a, b = R.daily_residuals(close, days), R.daily_residuals(changed, days)
    np.testing.assert_array_equal(a[:t + 1], b[:t + 1])
    assert not np.allclose(a[t + 1:], b[t + 1:], equal_nan=True)


def test_a_symbol_with_gaps_is_left_out_until_it_has_a_window():
    close, days, _ = factor_market(n_days=600, n_symbols=20)
    close[200:260, 0] = np.nan  # 60 sessions without a bar: under 90 % of the next windows
    resid = R.daily_residuals(close, days)
    assert np.isnan(resid[260:280, 0]).all() and np.isfinite(resid[260:280, 1:]).all()
    assert np.isfinite(resid[-5:, 0]).all()  # back once the window is clean enough again


def test_a_small_universe_keeps_one_factor_per_four_symbols():
    close, days, _ = factor_market(n_days=300, n_symbols=4)
    resid = R.daily_residuals(close, days)
    # one factor out of four symbols: the residuals do not vanish (15 would leave nothing)
    assert np.nanstd(resid[R.FIT_WINDOW:]) > 1e-3


def test_reversal_columns_are_minus_the_summed_residuals():
    close, days, _ = factor_market(n_days=400, n_symbols=30)
    cols = R.residual_columns(close, days)
    resid = pd.DataFrame(R.daily_residuals(close, days))
    for d in R.REVERSAL_WINDOWS:
        want = -sum(resid.shift(k) for k in range(d)).to_numpy()
        np.testing.assert_allclose(cols[f"resid_rev{d}"], want, rtol=1e-9, atol=1e-12)
    assert set(cols) == set(R.RESIDUAL_FEATURES)
