"""Intraday features from 1-minute bars, at any checkpoint of a session (pure, no I/O).

One definition serves the live cycle (one checkpoint: "now") and the nightly training (every
15-minute checkpoint of past sessions), so the model is trained on exactly what it later sees.

A checkpoint `k` is a count of completed minutes since the open: the features at `k` read
bars 0 .. k-1 only (a bar is complete once its minute has ended), never bar k or later. The
price "at k", `P[k]`, is the close of bar k-1 (`P[0]` is the first bar's open).

Features (per symbol, at checkpoint k):
- ret_5, ret_15, ret_30: log return of the price over the last 5/15/30 minutes (from the open
  when fewer minutes have passed);
- vwap_dist: log of the price over the session's volume-weighted average price so far;
- vol_surge: log of the last 15 minutes' volume over what the time-of-day profile expects for
  those minutes (0 without a profile: no past sessions to learn it from);
- or_pos: position of the price in the opening range (the first 30 minutes' high-low range,
  or the range so far before 10:00), centred on 0 (-0.5 = at the low, 0.5 = at the high);
- daily_er: the daily model's 1-week expected return for the name, made before the session;
- minute_frac: k / 390, the time of day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = ["ret_5", "ret_15", "ret_30", "vwap_dist", "vol_surge", "or_pos", "daily_er",
            "minute_frac"]
FULL_SESSION_MINUTES = 390
OPENING_RANGE_MINUTES = 30
SURGE_WINDOW = 15
OR_CLIP = 2.0  # or_pos is clipped: far outside a narrow range the ratio says little more


@dataclass(frozen=True)
class MinutePanel:
    """One session's bars as (minute, symbol) arrays: row i is the bar starting at open + i min.

    Missing bars are filled: the price carries the last close forward, volume is 0. Prices in
    USD per share, volume in shares.
    """

    symbols: pd.Index
    price: np.ndarray  # (minutes + 1, symbols): P[k] as in the module docstring
    high: np.ndarray  # (minutes, symbols)
    low: np.ndarray
    volume: np.ndarray
    turnover: np.ndarray  # typical price x volume, for the VWAP

    @property
    def minutes(self) -> int:
        return self.volume.shape[0]


def minute_panel(bars: pd.DataFrame, open_utc: pd.Timestamp, minutes: int) -> MinutePanel:
    """Pivot one session's bars to a MinutePanel of `minutes` rows.

    bars: INTRADAY_COLUMNS (`symbol, ts` UTC bar start, `open, high, low, close, volume`);
    bars outside [open, open + minutes) are ignored. Symbols come out sorted.
    """
    idx = ((bars["ts"] - open_utc) // pd.Timedelta(minutes=1)).to_numpy()
    keep = (idx >= 0) & (idx < minutes)
    frame = bars.loc[keep].assign(i=idx[keep])
    symbols = pd.Index(sorted(frame["symbol"].unique()), name="symbol")

    def wide(col: str) -> pd.DataFrame:
        return frame.pivot_table(index="i", columns="symbol", values=col, aggfunc="last",
                                 sort=True).reindex(index=range(minutes), columns=symbols)

    close = wide("close").ffill()
    first_open = wide("open").bfill().iloc[0] if len(frame) else close.iloc[0]
    close = close.fillna(first_open)  # before a name's first bar: its first open
    volume = wide("volume").fillna(0.0).to_numpy(float)
    high = wide("high").fillna(close).to_numpy(float)
    low = wide("low").fillna(close).to_numpy(float)
    price = np.vstack([first_open.to_numpy(float)[None, :], close.to_numpy(float)])
    typical = (high + low + close.to_numpy(float)) / 3.0
    return MinutePanel(symbols, price, high, low, volume, typical * volume)


@dataclass(frozen=True)
class VolumeProfile:
    """Expected volume by time of day: `shape[i]` is minute i's share of a full session's
    volume (summing to 1 over 390 minutes); `avg_volume` a symbol's mean session volume."""

    shape: np.ndarray
    avg_volume: pd.Series

    def to_dict(self) -> dict:
        return {"shape": [round(float(x), 8) for x in self.shape],
                "avg_volume": {s: round(float(v), 2) for s, v in self.avg_volume.items()}}

    @classmethod
    def from_dict(cls, doc: dict) -> VolumeProfile:
        return cls(np.asarray(doc["shape"], float), pd.Series(doc["avg_volume"], dtype=float))


def volume_profile(panels: Sequence[MinutePanel]) -> VolumeProfile | None:
    """The profile learned from past full sessions (early closes are left out of the shape)."""
    full = [p for p in panels if p.minutes == FULL_SESSION_MINUTES]
    if not full:
        return None
    shapes = [p.volume.sum(axis=1) / max(p.volume.sum(), 1.0) for p in full]
    totals = pd.concat([pd.Series(p.volume.sum(axis=0), index=p.symbols) for p in full], axis=1)
    return VolumeProfile(np.mean(shapes, axis=0), totals.mean(axis=1))


def features_at(panel: MinutePanel, ks: Sequence[int], profile: VolumeProfile | None,
                daily_er: pd.Series | None) -> pd.DataFrame:
    """Features at checkpoints `ks` (1 <= k <= minutes): columns `k, symbol` + FEATURES,
    one row per (k, symbol), k-major. Reads bars 0 .. k-1 only."""
    ks_arr = np.asarray(ks, dtype=int)
    if ks_arr.size and (ks_arr.min() < 1 or ks_arr.max() > panel.minutes):
        raise ValueError(f"checkpoints must lie in 1..{panel.minutes}, got {list(ks)}")
    log_p = np.log(panel.price)
    now = log_p[ks_arr]
    cols: dict[str, np.ndarray] = {
        f"ret_{n}": now - log_p[np.maximum(ks_arr - n, 0)] for n in (5, 15, 30)}
    cum_turn = np.cumsum(panel.turnover, axis=0)[ks_arr - 1]
    cum_vol = np.cumsum(panel.volume, axis=0)[ks_arr - 1]
    vwap = np.where(cum_vol > 0, cum_turn / np.maximum(cum_vol, 1e-12), np.exp(now))
    cols["vwap_dist"] = now - np.log(vwap)
    cols["vol_surge"] = _surge(panel, ks_arr, profile)
    cols["or_pos"] = _or_position(panel, ks_arr)
    er = (daily_er.reindex(panel.symbols).fillna(0.0).to_numpy(float) if daily_er is not None
          else np.zeros(len(panel.symbols)))
    cols["daily_er"] = np.broadcast_to(er, now.shape)
    cols["minute_frac"] = np.broadcast_to((ks_arr / FULL_SESSION_MINUTES)[:, None], now.shape)
    n_sym = len(panel.symbols)
    out = {"k": np.repeat(ks_arr, n_sym), "symbol": np.tile(panel.symbols.to_numpy(), len(ks_arr))}
    out.update({name: np.asarray(cols[name], float).ravel() for name in FEATURES})
    return pd.DataFrame(out)


def _surge(panel: MinutePanel, ks: np.ndarray, profile: VolumeProfile | None) -> np.ndarray:
    if profile is None:
        return np.zeros((len(ks), len(panel.symbols)))
    cum = np.vstack([np.zeros((1, len(panel.symbols))), np.cumsum(panel.volume, axis=0)])
    lo = np.maximum(ks - SURGE_WINDOW, 0)
    recent = cum[ks] - cum[lo]
    shape_cum = np.concatenate([[0.0], np.cumsum(profile.shape)])
    expected_share = shape_cum[np.minimum(ks, len(profile.shape))] - shape_cum[
        np.minimum(lo, len(profile.shape))]
    avg = profile.avg_volume.reindex(panel.symbols).to_numpy(float)
    expected = expected_share[:, None] * np.nan_to_num(avg, nan=0.0)[None, :]
    # +1 share on both sides keeps a silent name at 0 instead of -inf.
    return np.log((recent + 1.0) / (expected + 1.0))


def _or_position(panel: MinutePanel, ks: np.ndarray) -> np.ndarray:
    m = np.minimum(ks, OPENING_RANGE_MINUTES) - 1
    hi = np.maximum.accumulate(panel.high, axis=0)[m]
    lo = np.minimum.accumulate(panel.low, axis=0)[m]
    span = hi - lo
    pos = np.where(span > 0, (panel.price[ks] - lo) / np.where(span > 0, span, 1.0) - 0.5, 0.0)
    return np.clip(pos, -OR_CLIP, OR_CLIP)


def forward_returns(panel: MinutePanel, ks: Sequence[int], horizon: int) -> np.ndarray:
    """Labels: log return from P[k] to P[min(k + horizon, minutes)], shape (len(ks), symbols).

    The label of checkpoint k reads the future by design; it is only ever paired with the
    features at k when training on sessions that are over.
    """
    ks_arr = np.asarray(ks, dtype=int)
    end = np.minimum(ks_arr + horizon, panel.minutes)
    log_p = np.log(panel.price)
    return log_p[end] - log_p[ks_arr]
