"""Macro features on the session grid, each value joined as of the day it was PUBLISHED.

Observation dates are not publication dates: CPI for January (dated January 1st) is only
known in mid-February. Joining by observation date would hand the model numbers nobody had
yet. Every series here carries a release lag; an observation dated d is used from the first
session on or after d + lag. Series outside RELEASE_LAGS are ignored.

FRED serves the latest vintage (revised values), not what was first printed: even with the
lags, a backtest on revised CPI or unemployment is slightly optimistic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

# LEAKAGE-SENSITIVE: shortening any of these lets features see values before publication.
#: Daily market series (Treasury yields, the spread, the VIX) are used from the session after
#: their observation date: FRED posts them the next business day.
DAILY_LAG = pd.DateOffset(days=1)
#: CPI for month M (dated M-01) is released between the 10th and 15th of M+1: used from the 16th.
CPI_LAG = pd.DateOffset(months=1, days=15)
#: Unemployment for month M comes with the jobs report, the first Friday of M+1 (at the latest
#: the 7th, rescheduled up to the 10th): used from the 10th.
UNRATE_LAG = pd.DateOffset(months=1, days=9)
RELEASE_LAGS: dict[str, pd.DateOffset] = {
    "DGS10": DAILY_LAG, "T10Y2Y": DAILY_LAG, "VIXCLS": DAILY_LAG,
    "CPIAUCSL": CPI_LAG, "UNRATE": UNRATE_LAG,
}
CHANGE_SESSIONS = 20
VIX_Z_SESSIONS = 252


def _observations(macro: pd.DataFrame, series: str) -> pd.Series:
    """One series' valid observations, indexed by observation date, ascending."""
    rows = macro[macro["series"] == series]
    obs = pd.Series(rows["value"].to_numpy(np.float64),
                    index=pd.DatetimeIndex(rows["date"]).as_unit("ns"))
    obs = obs[~obs.index.duplicated(keep="last")].dropna()
    return obs.sort_index()


def as_of_publication(obs: pd.Series, lag: pd.DateOffset, sessions: pd.DatetimeIndex
                      ) -> np.ndarray:
    """For each session, the latest observation published on or before it (NaN if none)."""
    published = (obs.index + lag).as_unit("ns").asi8
    idx = np.searchsorted(published, sessions.as_unit("ns").asi8, side="right") - 1
    values = obs.to_numpy()
    return np.where(idx >= 0, values[np.maximum(idx, 0)], np.nan) if len(values) else \
        np.full(len(sessions), np.nan)


def _months_back(obs: pd.Series, months: int) -> np.ndarray:
    """The observation `months` months before each one (NaN where missing)."""
    return obs.reindex(obs.index - pd.DateOffset(months=months)).to_numpy()


def _change(level: np.ndarray, lag: int) -> np.ndarray:
    out = np.full_like(level, np.nan)
    out[lag:] = level[lag:] - level[:-lag]
    return out


def _zscore(level: np.ndarray, window: int) -> np.ndarray:
    roll = pd.Series(level).rolling(window)
    std = roll.std().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(std > 0, (level - roll.mean().to_numpy()) / std, np.nan)


def _rates(name: str) -> Callable[[pd.Series, pd.DatetimeIndex], dict[str, np.ndarray]]:
    """Level (percent) and its change in percentage points over CHANGE_SESSIONS sessions."""
    def build(obs: pd.Series, sessions: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        level = as_of_publication(obs, DAILY_LAG, sessions)
        return {f"macro_{name}": level,
                f"macro_{name}_chg_{CHANGE_SESSIONS}d": _change(level, CHANGE_SESSIONS)}
    return build


def _vix(obs: pd.Series, sessions: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    level = as_of_publication(obs, DAILY_LAG, sessions)
    return {"macro_vix": level, f"macro_vix_z_{VIX_Z_SESSIONS}": _zscore(level, VIX_Z_SESSIONS)}


def _cpi(obs: pd.Series, sessions: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Year-on-year inflation (fraction), computed per observation month, then published."""
    yoy = pd.Series(obs.to_numpy() / _months_back(obs, 12) - 1.0, index=obs.index).dropna()
    return {"macro_cpi_yoy": as_of_publication(yoy, CPI_LAG, sessions)}


def _unrate(obs: pd.Series, sessions: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Unemployment rate (percent) and its change over three monthly observations."""
    chg = pd.Series(obs.to_numpy() - _months_back(obs, 3), index=obs.index).dropna()
    return {"macro_unrate": as_of_publication(obs, UNRATE_LAG, sessions),
            "macro_unrate_chg_3m": as_of_publication(chg, UNRATE_LAG, sessions)}


_BUILDERS = {"DGS10": _rates("dgs10"), "T10Y2Y": _rates("t10y2y"), "VIXCLS": _vix,
             "CPIAUCSL": _cpi, "UNRATE": _unrate}


def macro_features(macro: pd.DataFrame | None, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Macro features for each session.

    macro: long `series, date, value` (observation dates, the series' own units) or None;
    series named as in RELEASE_LAGS, any subset, others ignored.
    sessions: ascending tz-naive session dates (the panel's dates).
    Returns `date` (= sessions, RangeIndex) plus, for each series present, its `macro_*`
    columns as float32: macro_dgs10, macro_dgs10_chg_20d, macro_t10y2y, macro_t10y2y_chg_20d,
    macro_vix, macro_vix_z_252, macro_cpi_yoy, macro_unrate, macro_unrate_chg_3m.
    """
    sessions = pd.DatetimeIndex(sessions)
    out: dict[str, np.ndarray] = {}
    present = set() if macro is None or macro.empty else set(macro["series"].unique())
    for series, build in _BUILDERS.items():
        if series in present:
            obs = _observations(macro, series)
            out.update({k: v.astype(np.float32) for k, v in build(obs, sessions).items()})
    return pd.DataFrame({"date": sessions.to_numpy(), **out})
