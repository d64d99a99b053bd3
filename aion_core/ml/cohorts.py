"""What a signal earns as a portfolio, net of costs: overlapping cohorts, as a bot trades.

A rank IC of 0.01 reads like a product until it is traded: this turns a signal into the two
books an analyst asks about, with the bots' own fees and slippage:
- `top_n`: long only, the N names it ranks highest, equal weight (N = the bot's
  max_positions), judged against the equal-weight universe;
- `long_short`: the top decile long and the bottom decile short, equal weight, dollar neutral.

Timing as the bots trade: a cohort is formed at session t's close and held from the open of
t+1 to the open of t+1+h. Each session 1/h of the book is renewed (h overlapping cohorts),
so no figure hangs on the day the walk started. Daily book weights are the mean of the live
cohorts' weights (rebalanced to them each session: drift between sessions is ignored, as in
alphalens); turnover is the sum of the absolute weight changes, and every unit traded pays
slippage + fees. Pure: wide frames in, figures out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = 252
DECILE = 0.1


def cohort_weights(signal: pd.DataFrame, kind: str, n_top: int) -> pd.DataFrame:
    """Each date's cohort (date x symbol, rows summing to 1 long, and to 0 for long-short).
    signal: date x symbol, NaN where a name has no forecast that date."""
    ranks = signal.rank(axis=1, ascending=False, method="first")
    names = signal.notna().sum(axis=1)
    if kind == "top_n":
        held = ranks <= np.minimum(n_top, names).to_numpy()[:, None]
        return held.div(held.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    k = np.floor(names * DECILE).to_numpy()[:, None]
    top = ranks <= k
    bottom = ranks > (names.to_numpy()[:, None] - k)
    longs = top.div(top.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    shorts = bottom.div(bottom.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    return longs - shorts


def book(signal: pd.DataFrame, returns: pd.DataFrame, horizon: int, kind: str, n_top: int,
         cost_bps: float) -> pd.DataFrame:
    """The daily book of overlapping cohorts: `gross`, `cost` and `net` return and
    `turnover`, indexed by the decision date u (the interval from the open of u+1 to the open
    of u+2). returns: date x symbol, that interval's return of each name (NaN: not traded,
    counted as 0)."""
    weights = cohort_weights(signal, kind, n_top).reindex_like(returns).fillna(0.0)
    live = weights.rolling(horizon, min_periods=1).sum() / horizon
    gross = (live * returns.fillna(0.0)).sum(axis=1)
    turnover = live.diff().abs().sum(axis=1)
    turnover.iloc[0] = live.iloc[0].abs().sum()
    cost = turnover * cost_bps / 1e4
    return pd.DataFrame({"gross": gross, "cost": cost, "net": gross - cost,
                         "turnover": turnover})


def _annual(daily: pd.Series) -> dict[str, float]:
    x = daily.to_numpy(dtype=float)
    sd = x.std(ddof=1) if len(x) > 1 else float("nan")
    growth = np.cumprod(1.0 + x)
    drawdown = growth / np.maximum.accumulate(growth) - 1.0
    return {"annual_return": float(x.mean() * PERIODS_PER_YEAR),
            "volatility": float(sd * np.sqrt(PERIODS_PER_YEAR)),
            "sharpe": float(x.mean() / sd * np.sqrt(PERIODS_PER_YEAR)) if sd > 0 else float("nan"),
            "max_drawdown": float(drawdown.min()) if len(x) else float("nan")}


def portfolio_figures(signal: pd.DataFrame, returns: pd.DataFrame, horizon: int, n_top: int,
                      cost_bps: float) -> dict[str, Any]:
    """Both books' figures: gross and net (annualised return, volatility, Sharpe, max
    drawdown), turnover and cost drag per year, and for the long-only book its excess over
    the equal-weight universe (net)."""
    universe = returns.mean(axis=1).fillna(0.0)
    out: dict[str, Any] = {"cost_bps_per_unit_traded": cost_bps, "n_top": n_top,
                           "sessions": int(len(returns))}
    for kind in ("top_n", "long_short"):
        daily = book(signal, returns, horizon, kind, n_top, cost_bps)
        fig = {"gross": _annual(daily["gross"]), "net": _annual(daily["net"]),
               "turnover_per_year": float(daily["turnover"].mean() * PERIODS_PER_YEAR),
               "cost_drag_per_year": float(daily["cost"].mean() * PERIODS_PER_YEAR)}
        if kind == "top_n":
            fig["net_excess_over_universe"] = _annual(daily["net"] - universe)
        out[kind] = fig
    return out
