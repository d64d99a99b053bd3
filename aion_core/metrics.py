"""Performance of a bot (or a benchmark) from its equity curve and its trades.

One implementation, used by the backtest report and the app. Conventions (CONTRACT.md):
returns are fractions; Sharpe and Sortino are annualised over 252 sessions with a zero
risk-free rate (empyrical's definitions: sample std for Sharpe, root-mean-square of the
negative returns for Sortino's downside deviation); `max_drawdown` is negative.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = 252
PNL_FREQ = {"day": "D", "week": "W-FRI", "month": "ME"}


def returns(equity: pd.Series) -> pd.Series:
    """Session returns of an equity curve (index: session dates, values: USD)."""
    return equity.astype(float).pct_change().dropna()


def pnl_by(equity: pd.Series, period: str, initial: float | None = None) -> pd.Series:
    """PnL (USD) per calendar `period` ("day", "week", "month"): change in closing equity.

    The first period's PnL is measured from `initial` (the starting cash) when given.
    """
    closing = equity.astype(float).resample(PNL_FREQ[period]).last().dropna()
    start = equity.iloc[0] if initial is None else initial
    return closing.diff().fillna(closing.iloc[0] - start) if len(closing) else closing


def total_return(equity: pd.Series, initial: float | None = None) -> float:
    start = float(equity.iloc[0] if initial is None else initial)
    return float(equity.iloc[-1]) / start - 1.0 if len(equity) and start else 0.0


def cagr(equity: pd.Series, initial: float | None = None) -> float:
    """Compound annual growth over the sessions of the curve (252 a year)."""
    n = len(equity) - (1 if initial is None else 0)
    growth = 1.0 + total_return(equity, initial)
    if n <= 0 or growth <= 0:
        return 0.0 if n <= 0 else -1.0
    return growth ** (PERIODS_PER_YEAR / n) - 1.0


def sharpe(rets: pd.Series) -> float:
    sd = rets.std(ddof=1)
    return float(rets.mean() / sd * math.sqrt(PERIODS_PER_YEAR)) if len(rets) > 1 and sd > 0 \
        else 0.0


def sortino(rets: pd.Series) -> float:
    downside = math.sqrt(float(np.mean(np.minimum(rets.to_numpy(), 0.0) ** 2))) \
        if len(rets) else 0.0
    return float(rets.mean() / downside * math.sqrt(PERIODS_PER_YEAR)) if downside > 0 else 0.0


def max_drawdown(equity: pd.Series) -> float:
    """Worst fall from a running peak, as a negative fraction (0.0 if it never fell)."""
    values = equity.astype(float).to_numpy()
    if len(values) == 0:
        return 0.0
    peak = np.maximum.accumulate(values)
    return float(np.min(values / peak - 1.0))


def trade_stats(realized: Iterable[float]) -> dict[str, float]:
    """Win rate, average win and average loss (USD) of closing trades' realized PnL."""
    pnl = np.array([p for p in realized], dtype=float)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    return {"trades": int(len(pnl)),
            "win_rate": float(len(wins) / len(pnl)) if len(pnl) else 0.0,
            "avg_win": float(wins.mean()) if len(wins) else 0.0,
            "avg_loss": float(losses.mean()) if len(losses) else 0.0}


def performance(equity: pd.Series, trades: list[Mapping[str, Any]] | None = None,
                gross: pd.Series | None = None, initial: float | None = None) -> dict[str, Any]:
    """The report's figures for one curve.

    equity: index session dates, values equity in USD after each session's close.
    trades: trade log records (CONTRACT.md); closing trades are those with realized PnL.
    gross: same index, sum of |position value| (USD); exposure = its mean share of equity.
    turnover: traded notional over average equity, per year.
    """
    trades = trades or []
    rets = returns(pd.concat([pd.Series([initial]), equity.reset_index(drop=True)])
                   if initial is not None else equity)
    notional = sum(float(t["qty"]) * float(t["price"]) for t in trades)
    years = max(len(equity), 1) / PERIODS_PER_YEAR
    closing = [t["realized_pnl"] for t in trades if t.get("realized_pnl")]
    out = {"total_return": total_return(equity, initial), "cagr": cagr(equity, initial),
           "sharpe": sharpe(rets), "sortino": sortino(rets), "max_drawdown": max_drawdown(
               equity if initial is None else pd.concat([pd.Series([initial]), equity])),
           "turnover": notional / float(equity.mean()) / years if len(equity) else 0.0,
           "exposure": float((gross / equity).mean()) if gross is not None and len(equity)
           else 0.0}
    out.update(trade_stats(closing))
    return out


def buy_and_hold(closes: pd.DataFrame, initial: float) -> pd.Series:
    """Equal-weight buy-and-hold of the universe: `initial` split evenly on the first session.

    closes: index session dates, one column per symbol (USD); names without a first close
    are left out (they could not have been bought). Returns the equity curve (USD).
    """
    first = closes.iloc[0]
    held = closes.loc[:, first.notna() & (first > 0)].ffill()
    if held.shape[1] == 0:
        return pd.Series(initial, index=closes.index, dtype=float)
    return (held / held.iloc[0]).mean(axis=1) * initial


def benchmark(closes: pd.DataFrame, initial: float) -> dict[str, Any]:
    """`performance` of the equal-weight buy-and-hold; its "trades" are the names held,
    closed at the end, so its win rate is the share of names that went up."""
    curve = buy_and_hold(closes, initial)
    held = closes.loc[:, closes.iloc[0].notna()].ffill()
    per_name = (held.iloc[-1] / held.iloc[0] - 1.0) * initial / max(held.shape[1], 1)
    out = performance(curve, gross=curve, initial=initial)
    out.update(trade_stats(per_name.dropna()))
    return out
