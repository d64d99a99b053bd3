"""metrics against empyrical-reloaded, and PnL by period against the curve itself."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest

from aion_core import metrics


@pytest.fixture
def equity() -> pd.Series:
    rng = np.random.default_rng(11)
    days = pd.bdate_range("2024-01-02", periods=300)
    return pd.Series(100_000 * np.cumprod(1 + rng.normal(0.0005, 0.012, 300)), index=days)


def test_ratios_match_empyrical(equity):
    rets = metrics.returns(equity)
    assert metrics.sharpe(rets) == pytest.approx(empyrical.sharpe_ratio(rets), rel=1e-9)
    assert metrics.sortino(rets) == pytest.approx(empyrical.sortino_ratio(rets), rel=1e-9)
    assert metrics.max_drawdown(equity) == pytest.approx(empyrical.max_drawdown(rets), rel=1e-9)
    assert metrics.max_drawdown(equity) < 0
    assert metrics.total_return(equity) == pytest.approx(empyrical.cum_returns_final(rets))
    assert metrics.cagr(equity) == pytest.approx(empyrical.annual_return(rets), rel=1e-9)


def test_pnl_by_period_sums_to_the_total_change(equity):
    for period in ("day", "week", "month"):
        pnl = metrics.pnl_by(equity, period, initial=100_000.0)
        assert pnl.sum() == pytest.approx(equity.iloc[-1] - 100_000.0)
    monthly = metrics.pnl_by(equity, "month")
    assert len(monthly) == equity.index.to_period("M").nunique()


def test_trade_stats_and_performance_keys(equity):
    trades = [{"qty": 10, "price": 100.0, "realized_pnl": 0.0},
              {"qty": 10, "price": 110.0, "realized_pnl": 100.0},
              {"qty": 5, "price": 90.0, "realized_pnl": -50.0},
              {"qty": 5, "price": 80.0, "realized_pnl": 30.0}]
    perf = metrics.performance(equity, trades, gross=equity * 0.5, initial=100_000.0)
    assert perf["win_rate"] == pytest.approx(2 / 3)
    assert (perf["avg_win"], perf["avg_loss"]) == (65.0, -50.0)
    assert perf["exposure"] == pytest.approx(0.5)
    notional = 1000 + 1100 + 450 + 400
    assert perf["turnover"] == pytest.approx(notional / equity.mean() / (300 / 252))


def test_benchmark_is_equal_weight_buy_and_hold():
    days = pd.bdate_range("2024-01-02", periods=3)
    closes = pd.DataFrame({"A": [10.0, 11.0, 12.0], "B": [20.0, 18.0, 20.0],
                           "C": [np.nan, 5.0, 6.0]}, index=days)
    curve = metrics.buy_and_hold(closes, 1_000.0)
    assert curve.tolist() == pytest.approx([1_000.0, 1_000.0, 1_100.0])
    bench = metrics.benchmark(closes, 1_000.0)
    assert bench["total_return"] == pytest.approx(0.1)
    assert bench["win_rate"] == 0.5 and bench["exposure"] == pytest.approx(1.0)
