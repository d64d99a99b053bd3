"""1-minute bars of the synthetic market for one session, drawn to fit that session's daily bar.

The price path is a Brownian bridge from the daily open to the daily close whose excursions
above and below the open-close line are scaled so they reach exactly the daily high and low:
every minute stays inside the day's range, the first bar opens at the daily open and the last
closes at the daily close. Volume follows a U shape (busy open and close, quiet lunch) and sums
to about the daily volume. Draws depend only on (seed, session index), so any past session can
be replayed bar for bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aion_core.providers.base import INTRADAY_COLUMNS
from aion_core.providers.synthetic_random import Stream, generator

U_SHAPE = 3.0
"""Volume at the open and close relative to midday, before noise."""


def minute_bars(seed: int, k: int, open_utc: pd.Timestamp, minutes: int,
                daily: dict[str, np.ndarray], symbols: list[str], columns: np.ndarray
                ) -> pd.DataFrame:
    """INTRADAY_COLUMNS frame of session k (ts = bar start, UTC), sorted by (symbol, ts).

    daily: open/high/low/close/volume arrays over all the market's symbols for session k;
    columns: indices of the symbols wanted; minutes: bars in the session (390, or fewer on an
    early close).
    """
    n = len(daily["close"])
    z = generator(seed, Stream.INTRADAY, k).standard_normal((n, 3, minutes))[columns]
    lo, hi = np.log(daily["low"][columns]), np.log(daily["high"][columns])
    path = _fitted_bridge(z[:, 0], np.log(daily["open"][columns]),
                          np.log(daily["close"][columns]), lo, hi)
    o, c = path[:, :-1], path[:, 1:]
    wiggle = 0.1 * np.abs(np.diff(path, axis=1)).mean(axis=1, keepdims=True)
    h = np.minimum(np.maximum(o, c) + wiggle * np.abs(z[:, 1]), hi[:, None])
    low = np.maximum(np.minimum(o, c) - wiggle * np.abs(z[:, 2]), lo[:, None])
    volume = _u_shaped_volume(daily["volume"][columns], z[:, 1] * z[:, 2], minutes)
    ts = open_utc + pd.to_timedelta(np.arange(minutes), unit="min")
    m = len(columns)
    return pd.DataFrame({
        "symbol": np.repeat(np.asarray(symbols, dtype=object)[columns], minutes),
        "ts": ts[np.tile(np.arange(minutes), m)].as_unit("ns"),
        **{key: _clip_round(np.exp(a), daily["low"][columns], daily["high"][columns])
           for key, a in (("open", o), ("high", h), ("low", low), ("close", c))},
        "volume": volume.ravel(),
    }, columns=INTRADAY_COLUMNS)


def _fitted_bridge(z: np.ndarray, log_open: np.ndarray, log_close: np.ndarray,
                   lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(m, minutes + 1) log-price path from open to close touching the high and the low."""
    m, steps = z.shape
    walk = np.concatenate([np.zeros((m, 1)), np.cumsum(z, axis=1)], axis=1)
    frac = np.linspace(0.0, 1.0, steps + 1)
    bridge = walk - frac * walk[:, -1:]
    line = log_open[:, None] + frac * (log_close - log_open)[:, None]
    room_up, room_down = hi[:, None] - line, line - lo[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(bridge > 0, room_up / bridge, np.inf).min(axis=1, keepdims=True)
        down = np.where(bridge < 0, room_down / -bridge, np.inf).min(axis=1, keepdims=True)
    up, down = np.where(np.isfinite(up), up, 0.0), np.where(np.isfinite(down), down, 0.0)
    path = line + np.where(bridge > 0, bridge * up, bridge * down)
    return np.clip(path, lo[:, None], hi[:, None])


def _u_shaped_volume(total: np.ndarray, noise: np.ndarray, minutes: int) -> np.ndarray:
    """(m, minutes) int volumes, U-shaped over the day, each row summing to about `total`."""
    x = np.linspace(-1.0, 1.0, minutes)
    weight = (1.0 + (U_SHAPE - 1.0) * x ** 2) * np.exp(0.2 * np.clip(noise, -3.0, 3.0))
    weight /= weight.sum(axis=1, keepdims=True)
    return np.round(weight * total[:, None]).astype(np.int64)


def _clip_round(prices: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Round to the daily bars' 4 decimals and keep inside [low, high] (already rounded)."""
    return np.clip(np.round(prices, 4), low[:, None], high[:, None]).ravel()
