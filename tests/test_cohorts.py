"""aion_core.ml.cohorts: overlapping cohorts net of costs, recomputed by plain loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aion_core.ml import cohorts


def _market(seed: int = 3, days: int = 40, names: int = 20):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2016-01-04", periods=days)
    cols = [f"S{i:02d}" for i in range(names)]
    signal = pd.DataFrame(rng.normal(size=(days, names)), dates, cols)
    signal.iloc[5, 3] = np.nan  # a name without a forecast one day
    returns = pd.DataFrame(0.01 * rng.normal(size=(days, names)), dates, cols)
    return signal, returns


def _plain_book(signal, returns, h, kind, n_top, cost_bps):
    """Loops: each date's cohort, the live book as the mean of the last h, its return and
    turnover, costs on every unit traded."""
    dates, cols = list(signal.index), list(signal.columns)
    cohorts_by_date = []
    for d in dates:
        row = signal.loc[d].dropna().sort_values(ascending=False, kind="stable")
        w = dict.fromkeys(cols, 0.0)
        if kind == "top_n":
            for name in row.index[:n_top]:
                w[name] = 1.0 / min(n_top, len(row))
        else:
            k = int(np.floor(len(row) * 0.1))
            for name in row.index[:k]:
                w[name] += 1.0 / k
            for name in row.index[len(row) - k:]:
                w[name] -= 1.0 / k
        cohorts_by_date.append(w)
    out, before = [], dict.fromkeys(cols, 0.0)
    for i, d in enumerate(dates):
        live = {c: sum(cohorts_by_date[j][c] for j in range(max(0, i - h + 1), i + 1)) / h
                for c in cols}
        gross = sum(live[c] * returns.loc[d, c] for c in cols)
        turnover = sum(abs(live[c] - before[c]) for c in cols)
        out.append((gross, turnover, gross - turnover * cost_bps / 1e4))
        before = live
    return pd.DataFrame(out, index=dates, columns=["gross", "turnover", "net"])


@pytest.mark.parametrize("kind", ["top_n", "long_short"])
def test_the_book_is_the_mean_of_the_live_cohorts_and_pays_for_what_it_trades(kind):
    signal, returns = _market()
    got = cohorts.book(signal, returns, 3, kind, 4, 12.0)
    want = _plain_book(signal, returns, 3, kind, 4, 12.0)
    for col in ("gross", "turnover", "net"):
        np.testing.assert_allclose(got[col].to_numpy(), want[col].to_numpy(), atol=1e-12)


def test_the_figures_follow_from_the_daily_book():
    signal, returns = _market()
    fig = cohorts.portfolio_figures(signal, returns, 3, 4, 12.0)
    net = _plain_book(signal, returns, 3, "top_n", 4, 12.0)["net"].to_numpy()
    assert fig["top_n"]["net"]["annual_return"] == pytest.approx(net.mean() * 252)
    assert fig["top_n"]["net"]["sharpe"] == pytest.approx(
        net.mean() / net.std(ddof=1) * np.sqrt(252))
    growth = np.cumprod(1 + net)
    assert fig["top_n"]["net"]["max_drawdown"] == pytest.approx(
        (growth / np.maximum.accumulate(growth) - 1).min())
    universe = returns.mean(axis=1).to_numpy()
    assert fig["top_n"]["net_excess_over_universe"]["annual_return"] == pytest.approx(
        (net - universe).mean() * 252)
    # every unit traded costs 12 bp: the drag is the turnover times that
    assert fig["long_short"]["cost_drag_per_year"] == pytest.approx(
        fig["long_short"]["turnover_per_year"] * 12e-4)
