"""The daily engine of the synthetic market: regimes, factors, volatility, the hidden signal.

All arrays are (sessions x symbols) numpy arrays whose row 0 is the ORIGIN session; recursions
(the regime chain, GARCH variances) loop over sessions, vectorised over symbols. Log return of
symbol i on session k:

    r[k, i] = beta_i * m[k] + load_i * f[k, sector(i)]
              + SIGNAL_DRIFT * sigma_i * signal[k-1, i]
              + idio_mult(regime) * sqrt(h[k, i]) * z[k, i]

m: market factor (GARCH(1,1), regime drift and volatility); f: sector factors; h: per-symbol
GARCH(1,1) variance; signal: the hidden AR(1) (phi = SIGNAL_PHI, unit variance) known at the
close of its session, so it moves only later returns. A stressed regime cuts drift and raises
market and sector volatility more than idiosyncratic volatility, so correlations rise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from aion_core.providers.synthetic_random import Stream, generator, session_draws

SECTORS = ("Technology", "Health Care", "Financials", "Consumer Discretionary",
           "Communication Services", "Industrials", "Consumer Staples", "Energy", "Utilities",
           "Real Estate", "Materials")

SIGNAL_PHI = 0.98
"""Daily persistence of the hidden signal (half-life ~34 sessions)."""
SIGNAL_DRIFT = 0.042
"""Expected daily log return per unit of signal, in units of the symbol's idiosyncratic vol."""

P_CALM_TO_STRESSED = 0.012
P_STRESSED_TO_CALM = 0.045
MARKET_DRIFT = (0.0006, -0.0015)       # calm, stressed (log return per session)
MARKET_VOL_MULT = (1.0, 2.2)
SECTOR_VOL_MULT = (1.0, 1.6)
IDIO_VOL_MULT = (1.0, 1.25)
MARKET_VOL = 0.008                     # unconditional daily vol of the market factor, calm
SECTOR_VOL = 0.006
GARCH_MARKET = (0.08, 0.90)            # alpha, beta
GARCH_IDIO = (0.06, 0.92)


@dataclass(frozen=True)
class SymbolParams:
    """Static per-symbol parameters (arrays of length n_symbols)."""

    sector: np.ndarray        # int index into SECTORS
    beta: np.ndarray
    loading: np.ndarray       # sector-factor loading
    sigma: np.ndarray         # unconditional idiosyncratic daily vol
    price0: np.ndarray        # price at the origin
    volume0: np.ndarray       # typical daily share volume


@dataclass(frozen=True)
class DailyPath:
    """The simulated state from the origin; row k is session k."""

    stressed: np.ndarray      # (K,) bool
    market_var: np.ndarray    # (K,) conditional market variance incl. the regime multiplier
    ret: np.ndarray           # (K, n) log close-to-close returns (row 0: zero)
    log_close: np.ndarray     # (K, n)
    vol: np.ndarray           # (K, n) conditional total daily vol of each symbol
    signal: np.ndarray        # (K, n) hidden signal known at the close of session k


def symbol_params(seed: int, n: int) -> SymbolParams:
    """Static parameters; row i depends only on (seed, i)."""
    u = generator(seed, Stream.STATIC).random((n, 6))
    return SymbolParams(
        sector=(u[:, 0] * len(SECTORS)).astype(np.int64),
        beta=0.7 + 0.6 * u[:, 1],
        loading=0.6 + 0.8 * u[:, 2],
        sigma=0.009 + 0.009 * u[:, 3],
        price0=np.exp(np.log(10.0) + u[:, 4] * np.log(60.0 / 10.0)),
        volume0=np.exp(np.log(3e5) + u[:, 5] * np.log(3e7 / 3e5)),
    )


def regimes(seed: int, k: int) -> np.ndarray:
    """(K,) bool: the calm/stressed Markov chain, calm at the origin."""
    u = session_draws(seed, Stream.REGIME, 0, k, 1, "uniform")[:, 0]
    out = np.zeros(k, dtype=bool)
    state = False
    for t in range(1, k):
        state = (u[t] >= P_STRESSED_TO_CALM) if state else (u[t] < P_CALM_TO_STRESSED)
        out[t] = state
    return out


def garch_variance(z: np.ndarray, var0: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """h[k] = omega + (alpha * z[k-1]^2 + beta) * h[k-1], with var0 the unconditional level.

    z: (K, n) standard normals (the shocks scaled by sqrt(h)); var0: (n,). Returns (K, n).
    """
    omega = var0 * (1.0 - alpha - beta)
    coef = alpha * z * z + beta
    h = np.empty_like(z)
    h[0] = var0
    for t in range(1, len(z)):
        h[t] = omega + coef[t - 1] * h[t - 1]
    return h


def hidden_signal(seed: int, k: int, n: int) -> np.ndarray:
    """(K, n) AR(1) with phi = SIGNAL_PHI and unit stationary variance from row 0 on."""
    u = session_draws(seed, Stream.SIGNAL, 0, k, n)
    c = np.sqrt(1.0 - SIGNAL_PHI ** 2)
    zi = ((1.0 - c) * u[0])[None, :]   # makes row 0 equal u[0] ~ N(0, 1): stationary at once
    return lfilter([c], [1.0, -SIGNAL_PHI], u, axis=0, zi=zi)[0]


def simulate(seed: int, k: int, params: SymbolParams) -> DailyPath:
    """Simulate sessions 0..k-1 for the symbols of `params`."""
    n = len(params.sigma)
    stressed = regimes(seed, k)
    st = stressed.astype(np.int64)
    z_m = session_draws(seed, Stream.MARKET, 0, k, 1)[:, 0]
    h_m = garch_variance(z_m[:, None], np.array([MARKET_VOL ** 2]), *GARCH_MARKET)[:, 0]
    m_sd = np.sqrt(h_m) * np.take(MARKET_VOL_MULT, st)
    market = np.take(MARKET_DRIFT, st) + m_sd * z_m
    sec_sd = SECTOR_VOL * np.take(SECTOR_VOL_MULT, st)
    sector = sec_sd[:, None] * session_draws(seed, Stream.SECTOR, 0, k, len(SECTORS))
    z_i = session_draws(seed, Stream.IDIO, 0, k, n)
    idio_sd = np.sqrt(garch_variance(z_i, params.sigma ** 2, *GARCH_IDIO))
    idio_sd *= np.take(IDIO_VOL_MULT, st)[:, None]
    signal = hidden_signal(seed, k, n)
    ret = market[:, None] * params.beta + sector[:, params.sector] * params.loading
    ret += idio_sd * z_i
    ret[1:] += SIGNAL_DRIFT * params.sigma * signal[:-1]
    ret[0] = 0.0
    vol = np.sqrt((m_sd[:, None] * params.beta) ** 2 + (sec_sd[:, None] * params.loading) ** 2
                  + idio_sd ** 2)
    log_close = np.log(params.price0) + np.cumsum(ret, axis=0)
    return DailyPath(stressed=stressed, market_var=m_sd ** 2, ret=ret, log_close=log_close,
                     vol=vol, signal=signal)


def ohlcv(seed: int, path: DailyPath, params: SymbolParams, k0: int, k1: int
          ) -> dict[str, np.ndarray]:
    """Open, high, low, close, volume for sessions k0..k1-1: (k1 - k0, n) arrays each.

    The overnight gap takes a share of the day's return; high and low reach beyond the body by
    a vol-scaled half-normal, so low <= min(open, close) and high >= max(open, close) always.
    Volume rises with the size of the move relative to the vol and with the vol itself.
    """
    n = path.ret.shape[1]
    ret, vol = path.ret[k0:k1], path.vol[k0:k1]
    close = path.log_close[k0:k1]
    gap = 0.3 * ret + 0.25 * vol * session_draws(seed, Stream.GAP, k0, k1, n)
    open_ = close - ret + gap
    body_hi, body_lo = np.maximum(open_, close), np.minimum(open_, close)
    high = body_hi + 0.5 * vol * np.abs(session_draws(seed, Stream.HIGH, k0, k1, n))
    low = body_lo - 0.5 * vol * np.abs(session_draws(seed, Stream.LOW, k0, k1, n))
    log_vol = (np.log(params.volume0) + 0.5 * np.log(vol / params.sigma)
               + 0.35 * np.abs(ret) / vol + 0.25 * session_draws(seed, Stream.VOLUME, k0, k1, n))
    prices = {key: np.maximum(np.round(np.exp(a), 4), 1e-4) for key, a in
              (("open", open_), ("high", high), ("low", low), ("close", close))}
    return {**prices, "volume": np.round(np.exp(log_vol)).astype(np.int64)}
