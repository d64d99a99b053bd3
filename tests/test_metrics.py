"""metrics against empyrical-reloaded, and PnL by period against the curve itself."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest

from aion_core.bots import performance


@pytest.fixture
def equity() -> pd.Series:
    rng = np.random.default_rng(11)
    days = pd.bdate_range("2024-01-02", periods=300)
    return pd.Series(100_000 * np.cumprod(1 + rng.normal(0.0005, 0.012, 300)), index=days)


def test_ratios_match_empyrical(equity):
    rets = performance.returns(equity)
    assert performance.sharpe(rets) == pytest.approx(empyrical.sharpe_ratio(rets), rel=1e-9)
    assert performance.sortino(rets) == pytest.approx(empyrical.sortino_ratio(rets), rel=1e-9)
    assert performance.max_drawdown(equity) == pytest.approx(empyrical.max_drawdown(rets), rel=1e-9)
    assert performance.max_drawdown(equity) < 0
    assert performance.total_return(equity) == pytest.approx(empyrical.cum_returns_final(rets))
    assert performance.cagr(equity) == pytest.approx(empyrical.annual_return(rets), rel=1e-9)


def test_pnl_by_period_sums_to_the_total_change(equity):
    for period in ("day", "week", "month"):
        pnl = performance.pnl_by(equity, period, initial=100_000.0)
        assert pnl.sum() == pytest.approx(equity.iloc[-1] - 100_000.0)
    monthly = performance.pnl_by(equity, "month")
    assert len(monthly) == equity.index.to_period("M").nunique()


def test_trade_stats_and_performance_keys(equity):
    trades = [{"qty": 10, "price": 100.0, "realized_pnl": 0.0},
              {"qty": 10, "price": 110.0, "realized_pnl": 100.0},
              {"qty": 5, "price": 90.0, "realized_pnl": -50.0},
              {"qty": 5, "price": 80.0, "realized_pnl": 30.0}]
    perf = performance.performance(equity, trades, gross=equity * 0.5, initial=100_000.0)
    assert perf["win_rate"] == pytest.approx(2 / 3)
    assert (perf["avg_win"], perf["avg_loss"]) == (65.0, -50.0)
    assert perf["exposure"] == pytest.approx(0.5)
    notional = 1000 + 1100 + 450 + 400
    assert perf["turnover"] == pytest.approx(notional / equity.mean() / (300 / 252))


def test_benchmark_is_equal_weight_buy_and_hold():
    days = pd.bdate_range("2024-01-02", periods=3)
    closes = pd.DataFrame({"A": [10.0, 11.0, 12.0], "B": [20.0, 18.0, 20.0],
                           "C": [np.nan, 5.0, 6.0]}, index=days)
    curve = performance.buy_and_hold(closes, 1_000.0)
    assert curve.tolist() == pytest.approx([1_000.0, 1_000.0, 1_100.0])
    bench = performance.benchmark(closes, 1_000.0)
    assert bench["total_return"] == pytest.approx(0.1)
    assert bench["win_rate"] == 0.5 and bench["exposure"] == pytest.approx(1.0)


def test_tear_sheet_ratios_match_empyrical(equity):
    rets = performance.returns(equity)
    bench = equity.shift(3).bfill() * 0.5 + equity.iloc[0] * 0.5
    b_rets = performance.returns(bench)
    assert performance.volatility(rets) == pytest.approx(empyrical.annual_volatility(rets),
                                                         rel=1e-9)
    assert performance.calmar(performance.cagr(equity), performance.max_drawdown(equity)) \
        == pytest.approx(empyrical.calmar_ratio(rets), rel=1e-9)
    alpha, beta = performance.alpha_beta(rets, b_rets)
    want_alpha, want_beta = empyrical.alpha_beta(rets, b_rets)
    assert (alpha, beta) == (pytest.approx(want_alpha, rel=1e-9), pytest.approx(want_beta))
    assert performance.alpha_beta(rets, rets) == (pytest.approx(0.0, abs=1e-12), pytest.approx(1.0))
    assert performance.alpha_beta(rets, rets * 0) == (0.0, 0.0)


def test_curves_underwater_rolling_sharpe_and_monthly_returns(equity):
    under = performance.drawdown(equity)
    assert under.max() == 0 and under.min() == pytest.approx(performance.max_drawdown(equity))
    rets = performance.returns(equity)
    roll = performance.rolling_sharpe(rets, 63)
    assert len(roll) == len(rets) - 62
    assert roll.iloc[-1] == pytest.approx(performance.sharpe(rets.iloc[-63:]))
    months = performance.monthly_returns(equity, initial=100_000)
    assert list(months.columns) == list(range(1, 13))
    growth = (1 + months.stack()).prod()
    assert growth == pytest.approx(equity.iloc[-1] / 100_000)
    assert performance.session_returns(equity, 100_000).iloc[0] == pytest.approx(
        equity.iloc[0] / 100_000 - 1)


def _fill(day, symbol, side, qty, price, reason, pnl=0.0, fees=1.0):
    return {"ts": f"{day}T13:30:00+00:00", "session": day, "bot": "swing_1w", "symbol": symbol,
            "side": side, "qty": qty, "price": price, "fees": fees, "reason": reason,
            "order_id": f"{day}-{symbol}-{side}", "realized_pnl": pnl}


def test_round_trips_flat_to_flat_and_profit_factor():
    trades = [_fill("2024-01-02", "AAA", "buy", 10, 100.0, "entry"),
              _fill("2024-01-03", "AAA", "buy", 10, 110.0, "entry"),
              _fill("2024-01-09", "AAA", "sell", 20, 120.0, "take_profit", pnl=297.0),
              _fill("2024-01-04", "BBB", "buy", 5, 50.0, "entry"),
              _fill("2024-01-05", "BBB", "sell", 5, 40.0, "stop_loss", pnl=-52.0),
              _fill("2024-01-08", "CCC", "buy", 1, 10.0, "entry")]
    trips = performance.round_trips(trades)
    assert list(trips["symbol"]) == ["BBB", "AAA"], "ordered by exit; CCC is still open"
    aaa = trips.set_index("symbol").loc["AAA"]
    assert aaa["days_held"] == 7 and aaa["exit_reason"] == "take_profit"
    assert aaa["cost"] == pytest.approx(2102.0) and aaa["return"] == pytest.approx(297 / 2102)
    assert performance.profit_factor([297.0, -52.0]) == pytest.approx(297 / 52)
    assert performance.profit_factor([297.0]) is None
    assert performance.round_trips([]).empty


def test_tear_sheet_adds_to_performance(equity):
    trades = [_fill("2024-01-02", "AAA", "buy", 10, 100.0, "entry"),
              _fill("2024-01-09", "AAA", "sell", 10, 120.0, "horizon", pnl=198.0)]
    sheet = performance.tear_sheet(equity, trades, equity * 0.5, 100_000, bench=equity)
    assert set(performance.performance(equity, trades, equity * 0.5, 100_000)) < set(sheet)
    assert sheet["beta"] == pytest.approx(1.0) and sheet["alpha"] == pytest.approx(0, abs=1e-9)
    assert sheet["avg_holding_days"] == 7 and sheet["profit_factor"] is None
    assert sheet["exposure"] == pytest.approx(0.5)


def test_active_risk_is_the_annualised_std_of_the_active_return(equity):
    rng = np.random.default_rng(3)
    rets = performance.returns(equity)
    bench = pd.Series(rng.normal(0.0003, 0.01, len(rets) + 5),
                      index=pd.bdate_range(rets.index[0] - pd.Timedelta(days=7), periods=len(
                          rets) + 5))
    common = rets.index.intersection(bench.index)
    active = rets[common].to_numpy() - bench[common].to_numpy()
    want = np.sqrt(np.sum((active - active.mean()) ** 2) / (len(active) - 1)) * np.sqrt(252)
    assert performance.active_risk(rets, bench) == pytest.approx(want, rel=1e-12)
    assert performance.active_risk(rets, rets) == pytest.approx(0.0, abs=1e-15)
    assert performance.active_risk(rets.iloc[:1], bench) is None
    sheet = performance.tear_sheet(equity, [], None, 100_000, bench=equity * 1.0)
    assert sheet["active_risk"] == pytest.approx(0.0, abs=1e-12)
    assert performance.tear_sheet(equity, [], None, 100_000)["active_risk"] is None


def test_the_equal_weight_universe_return_is_the_mean_of_the_names_returns():
    days = pd.bdate_range("2024-01-02", periods=4)
    closes = pd.DataFrame({"A": [10.0, 11.0, 12.1, 12.1], "B": [20.0, 18.0, np.nan, 19.8],
                           "C": [np.nan, 5.0, 6.0, 3.0]}, index=days)
    got = performance.universe_returns(closes)
    # by hand: a name counts on a session with a close that day and the day before
    want = [np.mean([0.1, -0.1]), np.mean([0.1, 0.2]), np.mean([0.0, -0.5])]
    assert list(got.index) == list(days[1:]) and got.to_numpy() == pytest.approx(want)


def test_psr_and_dsr_give_the_papers_worked_numbers():
    """Bailey & Lopez de Prado (2014), "The Deflated Sharpe Ratio", the numerical example:
    100 trials whose annualised Sharpe ratios vary by 1/2, the best at 2.5 annualised over
    1,250 daily returns with skewness -3 and kurtosis 10: SR0 = 0.1132 per day, DSR = 0.9004."""
    daily = 250
    sr0 = performance.expected_max_sharpe(100, 0.5 / daily)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = performance.deflated_sharpe(2.5 / np.sqrt(daily), 1250, -3.0, 10.0, 100, 0.5 / daily)
    assert dsr == pytest.approx(0.9004, abs=5e-4)
    # one trial deflates nothing: the DSR is the PSR against zero
    assert performance.deflated_sharpe(0.1, 500, 0.0, 3.0, 1, 0.0) == pytest.approx(
        performance.probabilistic_sharpe(0.1, 500, 0.0, 3.0))


def test_psr_and_the_moments_recomputed_by_plain_code():
    from math import erf, sqrt

    rng = np.random.default_rng(5)
    rets = pd.Series(rng.standard_t(5, 750) * 0.01 + 0.0006)
    m = performance.sharpe_moments(rets)
    x = rets.to_numpy()
    sr = x.mean() / x.std(ddof=1)
    d = x - x.mean()
    skew, kurt = np.mean(d ** 3) / np.mean(d ** 2) ** 1.5, np.mean(d ** 4) / np.mean(d ** 2) ** 2
    assert (m["sharpe"], m["skew"], m["kurtosis"], m["n"]) == (
        pytest.approx(sr), pytest.approx(skew), pytest.approx(kurt), 750)
    z = sr * sqrt(749) / sqrt(1 - skew * sr + (kurt - 1) / 4 * sr ** 2)
    assert performance.probabilistic_sharpe(sr, 750, skew, kurt) == pytest.approx(
        0.5 * (1 + erf(z / sqrt(2))))
