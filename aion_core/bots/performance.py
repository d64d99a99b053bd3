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


def session_returns(equity: pd.Series, initial: float | None = None) -> pd.Series:
    """Session returns indexed by session date; with `initial` (the starting cash) the first
    session's return is measured from it, so a bot's first day of trading counts."""
    rets = returns(equity)
    if initial is None or not len(equity):
        return rets
    first = pd.Series([float(equity.iloc[0]) / float(initial) - 1.0], index=equity.index[:1])
    return pd.concat([first, rets])


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


def volatility(rets: pd.Series) -> float:
    """Annualised sample standard deviation of session returns (252 a year), a fraction."""
    return float(rets.std(ddof=1) * math.sqrt(PERIODS_PER_YEAR)) if len(rets) > 1 else 0.0


def drawdown(equity: pd.Series) -> pd.Series:
    """The underwater curve: each session's equity against its running peak, as a fraction
    (0 at a new high, negative below it); same index as `equity`."""
    values = equity.astype(float)
    return values / values.cummax() - 1.0


def max_drawdown(equity: pd.Series) -> float:
    """Worst fall from a running peak, as a negative fraction (0.0 if it never fell)."""
    return float(drawdown(equity).min()) if len(equity) else 0.0


def calmar(growth: float, worst: float) -> float:
    """CAGR over the depth of the worst drawdown (0.0 when the curve never fell)."""
    return growth / -worst if worst < 0 else 0.0


def alpha_beta(rets: pd.Series, bench: pd.Series) -> tuple[float, float]:
    """CAPM against a benchmark, zero risk-free rate, on the sessions both have returns for:
    beta = cov(r, b) / var(b); alpha = the daily intercept compounded over 252 sessions (a
    fraction a year, empyrical's). (0.0, 0.0) with under two common sessions or a flat
    benchmark."""
    both = pd.concat([rets.rename("r"), bench.rename("b")], axis=1, join="inner").dropna()
    var = both["b"].var(ddof=1) if len(both) > 1 else 0.0
    if not var > 0:
        return 0.0, 0.0
    beta = float(both["r"].cov(both["b"]) / var)
    daily = both["r"].mean() - beta * both["b"].mean()
    return float((1.0 + daily) ** PERIODS_PER_YEAR - 1.0), beta


def active_risk(rets: pd.Series, bench: pd.Series) -> float | None:
    """Annualised tracking error against a benchmark: the sample standard deviation of the
    daily active return (r - b) on the sessions both have returns for, times sqrt(252); a
    fraction a year. How far a book strays from the benchmark, whichever way; None with
    under two common sessions, where it is undefined."""
    both = pd.concat([rets.rename("r"), bench.rename("b")], axis=1, join="inner").dropna()
    if len(both) < 2:
        return None
    return float((both["r"] - both["b"]).std(ddof=1) * math.sqrt(PERIODS_PER_YEAR))


def universe_returns(closes: pd.DataFrame) -> pd.Series:
    """The equal-weight universe's session returns, rebalanced daily: each session the mean
    of the close-to-close returns of the names with a close that session and the one before.

    closes: index session dates, one column per symbol (USD). Returns fractions indexed by
    session date, from the second session on (NaN-free: a session no name can say is left
    out)."""
    return closes.astype(float).pct_change(fill_method=None).iloc[1:].mean(axis=1).dropna()


def rolling_sharpe(rets: pd.Series, window: int = 63) -> pd.Series:
    """Sharpe over the trailing `window` sessions (annualised like `sharpe`), from the first
    full window on; the index is the window's last session."""
    roll = rets.rolling(window)
    out = roll.mean() / roll.std(ddof=1) * math.sqrt(PERIODS_PER_YEAR)
    return out.replace([np.inf, -np.inf], np.nan).dropna()


def monthly_returns(equity: pd.Series, initial: float | None = None) -> pd.DataFrame:
    """Calendar-month returns (fractions): index year, columns month 1-12 (NaN where the
    curve has no session). The first month is measured from `initial` when given."""
    closing = equity.astype(float).resample("ME").last().dropna()
    if closing.empty:
        return pd.DataFrame(columns=range(1, 13), dtype=float)
    start = float(equity.iloc[0] if initial is None else initial)
    rets = closing / closing.shift(1).fillna(start) - 1.0
    frame = pd.DataFrame({"year": rets.index.year, "month": rets.index.month, "r": rets.values})
    return frame.pivot(index="year", columns="month", values="r").reindex(columns=range(1, 13))


def profit_factor(realized: Iterable[float]) -> float | None:
    """Gross profit over gross loss of closing trades (USD / USD); None without a losing
    trade, where it is undefined (JSON has no infinity)."""
    pnl = np.array(list(realized), dtype=float)
    loss = -pnl[pnl < 0].sum()
    return float(pnl[pnl > 0].sum() / loss) if loss > 0 else None


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
    rets = session_returns(equity, initial)
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


ROUND_TRIP_COLUMNS = ["bot", "symbol", "entry", "exit", "days_held", "cost", "pnl", "return",
                      "exit_reason"]


def round_trips(trades: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Closed round trips: each (bot, symbol) from flat to flat, fills in time order.

    trades: trade log records (CONTRACT.md). Returns one row per trip, ROUND_TRIP_COLUMNS:
    `entry`/`exit` the first and the closing fill's session (Timestamps), `days_held`
    calendar days between them, `cost` what the buys cost with their fees (USD), `pnl` the
    closing fills' realized PnL (USD, net of all fees, as the books count it), `return`
    pnl / cost, `exit_reason` the closing fill's reason. A position still open is no trip.
    """
    rows, open_trips = [], {}
    for t in sorted(trades, key=lambda t: str(t["ts"])):
        key = (t["bot"], t["symbol"])
        day = pd.Timestamp(str(t.get("session") or t["ts"])[:10])
        trip = open_trips.setdefault(key, {"entry": day, "qty": 0.0, "cost": 0.0, "pnl": 0.0})
        qty = float(t["qty"])
        if t["side"] == "buy":
            trip["qty"] += qty
            trip["cost"] += qty * float(t["price"]) + float(t["fees"])
        else:
            trip["qty"] -= qty
            trip["pnl"] += float(t.get("realized_pnl") or 0.0)
        if abs(trip["qty"]) < 1e-9:
            del open_trips[key]
            rows.append({"bot": key[0], "symbol": key[1], "entry": trip["entry"], "exit": day,
                         "days_held": (day - trip["entry"]).days, "cost": trip["cost"],
                         "pnl": trip["pnl"], "return": trip["pnl"] / trip["cost"]
                         if trip["cost"] else 0.0, "exit_reason": t.get("reason", "")})
    return pd.DataFrame(rows, columns=ROUND_TRIP_COLUMNS)


def tear_sheet(equity: pd.Series, trades: list[Mapping[str, Any]], gross: pd.Series | None,
               initial: float, bench: pd.Series | None = None) -> dict[str, Any]:
    """`performance` plus the tear sheet's other figures: volatility, Calmar, alpha, beta and
    active risk against `bench` (the benchmark's equity curve, USD, same kind of index; zeros
    and None without one), profit factor and the closed round trips' average holding days."""
    out = performance(equity, trades, gross, initial)
    rets = session_returns(equity, initial)
    has_bench = bench is not None and len(bench) > 0
    bench_rets = session_returns(bench, initial) if has_bench else pd.Series(dtype=float)
    alpha, beta = alpha_beta(rets, bench_rets) if has_bench else (0.0, 0.0)
    trips = round_trips(trades)
    out.update(volatility=volatility(rets), calmar=calmar(out["cagr"], out["max_drawdown"]),
               alpha=alpha, beta=beta, active_risk=active_risk(rets, bench_rets),
               profit_factor=profit_factor(t["realized_pnl"] for t in trades
                                           if t.get("realized_pnl")),
               avg_holding_days=float(trips["days_held"].mean()) if len(trips) else 0.0)
    return out


# --------------------------------------------------------------------------- deflated Sharpe

#: The Euler-Mascheroni constant, in the expected maximum of N Sharpe ratios.
EULER_GAMMA = 0.5772156649015329


def sharpe_moments(rets: pd.Series) -> dict[str, float]:
    """What the probabilistic and deflated Sharpe ratios need of a return series: its Sharpe
    per period (not annualised), skewness, kurtosis (3 for a normal) and length."""
    x = pd.Series(rets, dtype=float).dropna().to_numpy()
    n = len(x)
    sd = x.std(ddof=1) if n > 1 else 0.0
    if n < 3 or sd == 0:
        return {"sharpe": float("nan"), "skew": float("nan"), "kurtosis": float("nan"),
                "n": n}
    z = (x - x.mean()) / x.std(ddof=0)
    return {"sharpe": float(x.mean() / sd), "skew": float(np.mean(z ** 3)),
            "kurtosis": float(np.mean(z ** 4)), "n": n}


def probabilistic_sharpe(sharpe: float, n: int, skew: float, kurtosis: float,
                         benchmark: float = 0.0) -> float:
    """PSR (Bailey & Lopez de Prado, 2012): the probability that the true Sharpe ratio
    exceeds `benchmark`, given an observed per-period `sharpe` over `n` returns with their
    skewness and kurtosis (non-normal returns widen the estimate's error)."""
    from scipy.stats import norm

    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe ** 2
    if n < 2 or not np.isfinite(sharpe) or not spread > 0:
        return float("nan")
    return float(norm.cdf((sharpe - benchmark) * math.sqrt(n - 1) / math.sqrt(spread)))


def expected_max_sharpe(trials: int, sharpe_variance: float) -> float:
    """The Sharpe ratio the best of `trials` skill-less trials shows on average, given the
    variance of the trials' Sharpe ratios (per period): the deflated Sharpe's benchmark; 0
    for a single trial."""
    from scipy.stats import norm

    if trials < 2 or not np.isfinite(sharpe_variance):
        return 0.0
    z = ((1.0 - EULER_GAMMA) * norm.ppf(1.0 - 1.0 / trials)
         + EULER_GAMMA * norm.ppf(1.0 - 1.0 / (trials * math.e)))
    return float(math.sqrt(max(sharpe_variance, 0.0)) * z)


def deflated_sharpe(sharpe: float, n: int, skew: float, kurtosis: float, trials: int,
                    sharpe_variance: float) -> float:
    """DSR (Bailey & Lopez de Prado, 2014): the PSR against the expected maximum Sharpe of
    `trials` trials, i.e. the probability that the observed Sharpe beats what selection among
    that many tries would have shown by luck."""
    return probabilistic_sharpe(sharpe, n, skew, kurtosis,
                                expected_max_sharpe(trials, sharpe_variance))
