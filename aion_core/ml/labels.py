"""Labels: forward returns over each swing horizon, counted in the symbol's own sessions.

`fwd_<h>` at (symbol, t) = close_{t+n} / close_t - 1, where t+n is that symbol's n-th bar
after t (n = HORIZONS[h]); NaN where t+n is not in the data yet. These are the only columns
of the dataset that look forward: a model may train on a row only once its label is known,
i.e. when t+n <= as_of (the purge in aion_core.ml.model relies on it).

`open_fwd_<h>` at (symbol, t) = open_{t+1+n} / open_{t+1} - 1: the tradeable label, what a bot
that decides at t's close earns by filling at the next open and leaving at the open n
sessions later (`open_forward_returns`). Research judges forecasts on it (aion evaluate); on
the S&P 500 dev years 30-40 % of the 1w rank IC on close-to-close lay between close t and open
t+1, which no bot earns. Training stays on the residual close-to-close target below.

`resid_fwd_<h>` is the training target: the sum of the symbol's residual returns
(aion_core.ml.residual: the statistical factors' part taken out) over the dates t+1 .. t+n
of the panel, NaN where one of them is unknown. A model that learns the raw or the
market-relative return spends its splits on factor bets whose payoff flips from year to year.
On the S&P 500 dev years (1w rank IC 2015 / 2016), the residual features trained on the
market-relative target gave +0.0072 / -0.0056 (with the price-volume columns), their ranks on
this target +0.0076 / +0.0256.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from aion_core.config import HORIZONS
from aion_core.ml.features import PanelArrays, PanelLayout, panel_arrays
from aion_core.ml.residual import daily_residuals
from aion_core.ml.universe import member_rows


def label_columns(horizons: Mapping[str, int] = HORIZONS) -> list[str]:
    return [f"fwd_{h}" for h in horizons]


def target_columns(horizons: Mapping[str, int] = HORIZONS) -> list[str]:
    return [f"resid_fwd_{h}" for h in horizons]


def symbol_forward_returns(p: PanelArrays,
                           horizons: Mapping[str, int] = HORIZONS) -> dict[str, np.ndarray]:
    """`fwd_<h>` over `p`'s rows: each from its own symbol's closes (any bucket of whole
    symbols gives the same values)."""
    n = len(p.close)
    last_row = np.repeat(p.bounds[1:] - 1, np.diff(p.bounds))  # each row's symbol's last row
    rows = np.arange(n)
    out = {}
    for name, steps in horizons.items():
        ahead = rows + steps
        known = ahead <= last_row
        fwd = np.full(n, np.nan)
        fwd[known] = p.close[ahead[known]] / p.close[known] - 1.0
        out[f"fwd_{name}"] = fwd
    return out


def residual_forward_returns(close: np.ndarray, lay: PanelLayout,
                             horizons: Mapping[str, int] = HORIZONS,
                             member: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """`resid_fwd_<h>` over the rows of `lay`; `close` is every symbol's (the residuals' factors
    span the whole panel: its members on each refit date when `member`, bool over the rows,
    says who they are; features.cross_section_columns)."""
    grid = None if member is None else lay.flags_by_day(member)
    resid = daily_residuals(lay.by_day(close), lay.days, member=grid)
    out = {}
    for name, steps in horizons.items():
        ahead = np.full_like(resid, np.nan)  # row t: residuals of rows t+1 .. t+steps summed
        if len(resid) > steps:
            summed = np.cumsum(np.nan_to_num(resid), axis=0)
            missing = np.cumsum(np.isnan(resid), axis=0)
            ahead[:-steps] = summed[steps:] - summed[:-steps]
            ahead[:-steps][missing[steps:] - missing[:-steps] > 0] = np.nan
        out[f"resid_fwd_{name}"] = ahead[lay.day, lay.sym]
    return out


def forward_returns(bars: pd.DataFrame, horizons: Mapping[str, int] = HORIZONS) -> pd.DataFrame:
    """Forward close-to-close returns of every bar.

    bars: long `symbol, date, open, high, low, close, volume`, sorted by (symbol, date).
    Returns a frame with a fresh RangeIndex, one row per input row in the same order:
    `symbol, date, fwd_<h>` for each horizon (float64 fractions, e.g. 0.012 = +1.2%), then
    `resid_fwd_<h>` for each.
    """
    p = panel_arrays(bars)  # checks the columns and the (symbol, date) order
    lay = PanelLayout.of(p, bars["date"].to_numpy())
    out = {"symbol": bars["symbol"].to_numpy(), "date": bars["date"].to_numpy()}
    out |= symbol_forward_returns(p, horizons)
    out |= residual_forward_returns(p.close, lay, horizons, member_rows(bars))
    return pd.DataFrame(out)


def open_label_columns(horizons: Mapping[str, int] = HORIZONS) -> list[str]:
    return [f"open_fwd_{h}" for h in horizons]


def open_forward_returns(bars: pd.DataFrame,
                         horizons: Mapping[str, int] = HORIZONS) -> pd.DataFrame:
    """The tradeable labels of every bar: `symbol, date, open_fwd_<h>` = open_{t+1+n} /
    open_{t+1} - 1 in the symbol's own sessions, NaN where either open is unknown, missing or
    not positive. bars: long, sorted by (symbol, date); one output row per input row."""
    p = panel_arrays(bars)
    opened = np.where(p.open > 0, p.open, np.nan)
    n = len(opened)
    last_row = np.repeat(p.bounds[1:] - 1, np.diff(p.bounds))
    rows = np.arange(n)
    out = {"symbol": bars["symbol"].to_numpy(), "date": bars["date"].to_numpy()}
    for name, steps in horizons.items():
        entry, leave = rows + 1, rows + 1 + steps
        known = leave <= last_row
        fwd = np.full(n, np.nan)
        fwd[known] = opened[leave[known]] / opened[entry[known]] - 1.0
        out[f"open_fwd_{name}"] = fwd
    return pd.DataFrame(out)
