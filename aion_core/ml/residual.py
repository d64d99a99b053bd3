"""Residual returns: each stock's daily return with the market's statistical factors taken out.

Why: on the S&P 500 dev years (2014-2016) the raw price features load on factors whose sign
flips from year to year (12-1 momentum paid in 2015 and lost in 2016), so a model trained on
them bets on last year's regime. The part of a stock's move that its factors do not explain
mean-reverts over the next weeks, in every one of those years (the statistical-arbitrage
signal of Avellaneda & Lee, 2010; Blitz et al.'s residual reversal, 2013): minus the last 5
sessions' residual return had a 1-week rank IC of +0.029, +0.014 and +0.022 in 2014, 2015 and
2016, against +0.024, +0.001 and +0.008 for minus the raw 5-session return.

How: on the "date x symbol" grid, at the first session of every calendar month (a schedule
that does not depend on where the history starts, so a feature's value does not either),
the daily returns of the last FIT_WINDOW sessions (fewer, down to MIN_FIT_WINDOW, early in
a history: those values are part of the warm-up) are scaled per symbol by their root mean
square and their top principal components taken (the eigenportfolios). Every day until the
next refit, a stock's residual is its scaled return minus its projection on those
components, back in return units. Causal: a day's residual uses loadings fitted on that day
and the ones before it. Symbols with less than 90 % of the window's returns are not fitted
(their residual is NaN until the next refit that has them); a missing return counts as 0.

The returns are not centred on the symbol's own trailing mean: that mean is a past return,
and subtracting it (or adding it back) puts last year's momentum into a residual, hence into
the training target (aion_core.ml.labels), where a model learns to predict the artefact. On
the dev years, adding it back turned the 1w rank IC to -0.009 / -0.005 (2015 / 2016).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIT_WINDOW = 252
MIN_FIT_WINDOW = 60
#: Statistical factors taken out; a small universe keeps at most one per four symbols.
FACTORS = 15
REVERSAL_WINDOWS = (5, 10, 20)
RESIDUAL_VOL_WINDOW = 60
RESIDUAL_FEATURES = ([f"resid_rev{d}" for d in REVERSAL_WINDOWS]
                     + [f"resid_rev{d}_z" for d in REVERSAL_WINDOWS] + ["resid_vol60"])
#: Sessions of history after which every residual feature is defined and independent of where
#: the history starts: the fit window, the longest wait for the next month's refit (23
#: sessions), the longest rolling window and the one-session return.
WARM_UP = FIT_WINDOW + 23 + max(REVERSAL_WINDOWS[-1], RESIDUAL_VOL_WINDOW) + 1
_MIN_PRESENT = 0.9
_Z_CLIP = 6.0  # a bad print (LNT 2016-05-19: -49 % then +101 %) is one big move, not six


def refit_days(days: pd.DatetimeIndex) -> np.ndarray:
    """Indices of the first session of each calendar month that has MIN_FIT_WINDOW returns
    up to it (row 0 has no return)."""
    month = days.year * 12 + days.month
    first = np.flatnonzero(np.r_[True, month[1:] != month[:-1]])
    return first[first >= MIN_FIT_WINDOW]


def daily_residuals(close: np.ndarray, days: pd.DatetimeIndex, factors: int = FACTORS,
                    member: np.ndarray | None = None) -> np.ndarray:
    """Residual returns (dates x symbols), NaN before the first refit and where no return.

    close: the "date x symbol" grid of closes (NaN where a symbol has no bar that day).
    member: the same grid's index membership (bool; None = every symbol a member). The
    factors of a refit are then fitted on the symbols that are members on the refit date;
    every other symbol with enough returns gets its residual against those factors, its
    loadings from a least-squares fit of its own window on the factors' returns (for a
    fitted symbol that fit gives back its own loadings: the same residual), so a name that
    joins the index has its residual history ready and never moves the factors before.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = close[1:] / close[:-1] - 1.0
    ret = np.vstack([np.full((1, close.shape[1]), np.nan), ret])
    out = np.full_like(ret, np.nan)
    starts = refit_days(days)
    for i, s in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(ret)
        window = ret[max(1, s - FIT_WINDOW + 1):s + 1]
        present = np.isfinite(window)
        scales = np.sqrt(np.nansum(window * window, axis=0) / np.maximum(present.sum(axis=0), 1))
        usable = (present.mean(axis=0) >= _MIN_PRESENT) & (scales > 0)
        fitted = usable if member is None else usable & member[s]
        if not fitted.any():
            continue
        scale = scales[fitted]
        z = np.clip(np.nan_to_num(window[:, fitted] / scale), -_Z_CLIP, _Z_CLIP)
        loadings = _top_components(z, min(factors, int(fitted.sum()) // 4))
        block = ret[s:end, fitted]
        zb = np.clip(np.nan_to_num(block / scale), -_Z_CLIP, _Z_CLIP)
        resid = (zb - (zb @ loadings) @ loadings.T) * scale
        out[s:end, np.flatnonzero(fitted)] = np.where(np.isfinite(block), resid, np.nan)
        others = usable & ~fitted
        if others.any():
            out[s:end, others] = _against_factors(window[:, others], ret[s:end, others],
                                                  scales[others], z @ loadings,
                                                  zb @ loadings)
    return out


def _against_factors(window: np.ndarray, block: np.ndarray, scale: np.ndarray,
                     fit_factors: np.ndarray, block_factors: np.ndarray) -> np.ndarray:
    """Residuals of symbols outside a refit's fit: each symbol's scaled returns regressed on
    the factors' returns over the fit window, and its block's returns less that fit."""
    z = np.clip(np.nan_to_num(window / scale), -_Z_CLIP, _Z_CLIP)
    zb = np.clip(np.nan_to_num(block / scale), -_Z_CLIP, _Z_CLIP)
    if fit_factors.shape[1]:
        beta = np.linalg.lstsq(fit_factors, z, rcond=None)[0]
        zb = zb - block_factors @ beta
    return np.where(np.isfinite(block), zb * scale, np.nan)


def _top_components(z: np.ndarray, k: int) -> np.ndarray:
    """The first k right singular vectors of z (sessions x symbols), as symbols x k columns.

    From the eigenvectors of the small sessions x sessions Gram matrix rather than a full SVD:
    the same subspace, several times faster on 252 x 500 (a refit a month over decades)."""
    if k == 0:
        return np.zeros((z.shape[1], 0))
    values, vectors = np.linalg.eigh(z @ z.T)
    top = np.argsort(values)[::-1][:k]
    top = top[values[top] > 1e-9 * max(values[top[0]], 1e-300)]  # no direction of a zero mode
    v = z.T @ vectors[:, top]
    return v / np.linalg.norm(v, axis=0)


def residual_columns(close: np.ndarray, days: pd.DatetimeIndex,
                     member: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """RESIDUAL_FEATURES on the "date x symbol" grid: minus the residual return summed over
    the last d sessions (`resid_rev<d>`), the same over its expected size from the residuals'
    60-session volatility (`_z`), and that volatility (`resid_vol60`); `member` as in
    `daily_residuals`."""
    resid = pd.DataFrame(daily_residuals(close, days, member=member))
    vol = resid.rolling(RESIDUAL_VOL_WINDOW).std().to_numpy()
    out = {"resid_vol60": vol}
    with np.errstate(divide="ignore", invalid="ignore"):
        for d in REVERSAL_WINDOWS:
            rev = -resid.rolling(d).sum().to_numpy()
            out[f"resid_rev{d}"] = rev
            out[f"resid_rev{d}_z"] = np.where(vol > 0, rev / (vol * np.sqrt(d)), np.nan)
    return out
