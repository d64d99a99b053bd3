"""Macro series of the synthetic market, named by their real FRED ids so that real FRED data
feeds the very same features.

- DGS10 (10-year yield, %) and T10Y2Y (10y - 2y slope, points): daily on sessions, mean-reverting
  random walks; a stressed regime pulls the yield down (flight to safety) and steepens the
  slope (rate cuts expected).
- VIXCLS: daily, the market factor's conditional vol annualised (so it follows realised vol and
  jumps with the stressed regime) plus a persistent premium and noise.
- CPIAUCSL (index) and UNRATE (%): monthly, dated on the first of the month like FRED, and
  present only for months that are complete by `end`, so a value never changes once seen.
  Unemployment climbs with the share of stressed sessions in the month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from aion_core.market_hours import sessions as nyse_sessions
from aion_core.providers.synthetic_random import Stream, generator, session_draws

MACRO_SERIES = ("DGS10", "T10Y2Y", "VIXCLS", "CPIAUCSL", "UNRATE")
MAX_MONTHS = 12 * 80
"""Months drawn from the origin month on (one fixed-length draw, so values never shift)."""


def _ar1(x0: float, phi: float, mean: float, shocks: np.ndarray) -> np.ndarray:
    """x[t] = phi * x[t-1] + (1 - phi) * mean + shocks[t], x[-1] = x0."""
    drive = (1.0 - phi) * mean + shocks
    return lfilter([1.0], [1.0, -phi], drive, zi=[phi * x0])[0]


def daily_macro(seed: int, stressed: np.ndarray, market_var: np.ndarray) -> dict[str, np.ndarray]:
    """DGS10, T10Y2Y, VIXCLS for sessions 0..K-1 from the regime and the market variance."""
    k = len(stressed)
    z = session_draws(seed, Stream.MACRO_DAILY, 0, k, 3)
    st = stressed.astype(float)
    dgs10 = np.maximum(_ar1(6.4, 0.997, 4.0, 0.045 * z[:, 0] - 0.02 * st), 0.3)
    slope = _ar1(0.4, 0.995, 1.0, 0.035 * z[:, 1] + 0.01 * st)
    premium = _ar1(3.0, 0.97, 3.0, 0.6 * z[:, 2])
    vix = np.maximum(100.0 * np.sqrt(252.0 * market_var) * 1.05 + premium, 9.0)
    return {"DGS10": np.round(dgs10, 2), "T10Y2Y": np.round(slope, 2),
            "VIXCLS": np.round(vix, 2)}


def monthly_macro(seed: int, sessions: pd.DatetimeIndex, stressed: np.ndarray
                  ) -> dict[str, pd.Series]:
    """CPIAUCSL and UNRATE for every month complete within `sessions` (origin first).

    Returns series indexed by the first day of each month.
    """
    months = sessions.to_period("M")
    frac = pd.Series(stressed.astype(float), index=months).groupby(level=0).mean()
    complete = frac.index[frac.index < months[-1]]
    if sessions[-1] == _last_session_of_month(sessions[-1]):
        complete = frac.index
    n = len(complete)
    z = generator(seed, Stream.MACRO_MONTHLY).standard_normal((2, MAX_MONTHS))[:, :n]
    cpi = 169.3 * np.exp(np.cumsum(0.0021 + 0.0022 * z[0]))
    unrate = np.maximum(_ar1(4.0, 0.96, 4.2, 0.12 * z[1] + 0.15 * frac[complete].to_numpy()), 2.5)
    index = complete.to_timestamp()
    return {"CPIAUCSL": pd.Series(np.round(cpi, 3), index=index),
            "UNRATE": pd.Series(np.round(unrate, 1), index=index)}


def _last_session_of_month(day: pd.Timestamp) -> pd.Timestamp:
    """The last NYSE session of `day`'s month."""
    return nyse_sessions(day, day + pd.offsets.MonthEnd(0))[-1]
