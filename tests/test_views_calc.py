"""Read models: each figure recomputed from the documents by hand or through metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aion_core.app.calc import (
    bot_card,
    chart_frame,
    cumulative_returns,
    drawdown_series,
    equity_series,
    importance_frame,
    knob_table,
    log_frame,
    pnl_table,
    positions_frame,
    predictions_table,
    regime_view,
    summary_steps,
    trades_frame,
    validation_row,
)
from aion_core.bots import performance
from aion_core.bots.registry import BOTS

BRAIN = {"as_of": "2026-11-20", "symbols": {
    "AAA": {"last_close": 10.0, "predictions": {
        "1w": {"expected_return": 0.01, "confidence": 0.6, "score": 0.5, "rank": 2},
        "2w": {"expected_return": 0.03, "confidence": 0.7, "score": 1.5, "rank": 1}}},
    "BBB": {"last_close": 20.0, "predictions": {
        "1w": {"expected_return": 0.02, "confidence": 0.8, "score": 1.0, "rank": 1}}}}}


def _state(equities: list[float], initial: float = 100.0) -> dict:
    days = pd.bdate_range("2026-01-05", periods=len(equities))
    return {"initial_cash": initial, "cash": 10.0, "as_of": f"{days[-1]:%Y-%m-%d}",
            "positions": {"AAA": {"qty": 2, "avg_price": 10.0, "last_price": 12.0,
                                  "entry_date": "2026-01-05"},
                          "BBB": {"qty": -1, "avg_price": 20.0, "last_price": 22.0,
                                  "entry_date": "2026-01-06"}},
            "equity_history": [{"date": f"{d:%Y-%m-%d}", "equity": e}
                               for d, e in zip(days, equities, strict=True)],
            "last_run": {"status": "ok"}}


def test_predictions_table_rows_and_order():
    t = predictions_table(BRAIN)
    assert len(t) == 3 and list(t["score"]) == sorted(t["score"], reverse=True)
    assert t.iloc[0][["symbol", "horizon"]].tolist() == ["AAA", "2w"]
    assert predictions_table(None).empty


def test_bot_card_figures():
    trades = trades_frame([{"ts": "2026-01-06T15:00:00Z", "realized_pnl": 5.0},
                           {"ts": "2026-01-07T15:00:00Z", "realized_pnl": -2.0},
                           {"ts": "2026-01-07T15:00:00Z", "realized_pnl": 0.0},
                           {"ts": "2026-01-08T15:00:00Z", "realized_pnl": 1.0}])
    card = bot_card("swing_1w", _state([100.0, 104.0, 103.0]), trades)
    assert card.equity == 103.0 and card.day_pnl == -1.0 and card.total_pnl == 3.0
    assert card.total_return == pytest.approx(0.03)
    assert card.open_positions == 2 and card.win_rate == pytest.approx(2 / 3)
    empty = bot_card("x", {"initial_cash": 50.0, "cash": 50.0}, trades_frame([]))
    assert empty.win_rate is None and empty.equity == 50.0 and empty.status == "never run"


def test_positions_unrealised_signed_for_shorts():
    pos = positions_frame(_state([100.0])).set_index("symbol")
    assert pos.loc["AAA", "unrealised_pnl"] == 4.0
    assert pos.loc["BBB", "unrealised_pnl"] == -2.0
    assert pos.loc["BBB", "unrealised_pct"] == pytest.approx(-0.1)


def test_drawdown_and_pnl_use_the_equity_curve():
    eq = equity_series(_state([100.0, 110.0, 99.0, 104.5]))
    dd = drawdown_series(eq)
    assert dd.min() == pytest.approx(performance.max_drawdown(eq)) == pytest.approx(-0.1)
    pnl = pnl_table({"b": eq}, {"b": 100.0}, "day")
    assert pnl["b"].sum() == pytest.approx(4.5)
    assert list(pnl["b"].round(6)) == [0.0, 10.0, -11.0, 5.5]


def test_cumulative_returns_with_benchmark():
    eq = equity_series(_state([100.0, 102.0, 101.0]))
    closes = pd.DataFrame({"A": [9.0, 10.0, 11.0, 12.0], "B": [19.0, 20.0, 20.0, 18.0]},
                          index=pd.bdate_range("2026-01-02", periods=4))
    cum = cumulative_returns({"b": eq}, {"b": 100.0}, closes)
    assert cum["b"].tolist() == pytest.approx([0.0, 0.02, 0.01])
    # bought on the bots' first session (Jan 5): A 10 -> 12, B 20 -> 18
    assert cum["benchmark"].iloc[-1] == pytest.approx((1.2 + 0.9) / 2 - 1)


def test_regime_and_knobs_and_steps():
    label, probs, hist = regime_view({"regime": {"label": "bull", "probabilities": {"bull": 0.9},
                                                 "history": [{"date": "2026-01-02",
                                                              "label": "bear"}]}})
    assert label == "bull" and probs == {"bull": 0.9} and len(hist) == 1
    assert regime_view(None)[0] is None
    table = knob_table({"swing": {"1w": {"max_positions": 3}}}, BOTS["1w"]).set_index("knob")
    assert table.loc["max_positions", "value"] == 3 and table.loc["max_positions", "changed"]
    assert not table.loc["aggression", "changed"]
    steps = summary_steps({"steps": [{"name": "collect", "status": "ok", "seconds": 1.0}]})
    assert list(steps.columns) == ["name", "status", "seconds", "detail"]


def test_log_levels():
    frame = log_frame(["x INFO a", "y WARNING b", "z ERROR c", "Traceback (most recent)", "plain"])
    assert frame["level"].tolist() == ["INFO", "WARNING", "ERROR", "ERROR", "INFO"]


def test_importance_shapes():
    assert importance_frame({"feature_importance": {"a": 1.0, "b": 3.0}})["feature"].tolist() \
        == ["b", "a"]
    recs = [{"feature": "a", "importance": 2.0}, {"feature": "b", "importance": 1.0}]
    assert importance_frame({"feature_importance": recs})["feature"].tolist() == ["a", "b"]
    assert importance_frame(None).empty


def test_chart_frame_indicators():
    rng = np.random.default_rng(3)
    close = 50 + np.cumsum(rng.normal(0, 1, 300))
    bars = pd.DataFrame({"date": pd.bdate_range("2025-01-01", periods=300), "open": close,
                         "high": close + 1, "low": close - 1, "close": close, "volume": 1.0})
    f = chart_frame(bars, sessions=100)
    assert len(f) == 100 and f["sma_50"].notna().all()
    assert f["sma_20"].iloc[-1] == pytest.approx(close[-20:].mean())
    assert f["rsi_14"].between(0, 100).all()


def test_validation_row_summarises_folds():
    meta = {"trained_through": "2026-11-16", "validation": {"folds": [
        {"ic": 0.06, "rank_ic": 0.04, "rounds": 10}, {"ic": 0.02, "rank_ic": 0.0, "rounds": 10}]}}
    row = validation_row(meta)
    assert row == {"trained_through": "2026-11-16", "ic": 0.04, "rank_ic": 0.02, "folds": 2}
    assert validation_row({"validation": {"ic": 0.05}})["ic"] == 0.05


def test_import_reports_become_a_run_list_and_a_findings_table(tmp_path):
    from aion_core.app.calc import import_findings, import_runs
    from aion_core.store import Store
    from jobs.imports import import_bars

    store = Store(tmp_path / "root")
    from aion_core import market_hours

    days = market_hours.sessions("2016-01-04", "2016-03-31")[:30]
    good = pd.DataFrame({"symbol": "AAA", "date": days, "open": 10.0, "high": 11.0,
                         "low": 9.0, "close": 10.0, "volume": 100.0})
    bad = good.assign(symbol="BBB", close=-1.0)
    pd.concat([good, bad]).to_csv(tmp_path / "bars.csv", index=False)
    (tmp_path / "notes.xlsx").write_bytes(b"x")
    report = import_bars(store, [tmp_path / "bars.csv", tmp_path / "notes.xlsx"]).to_record()

    runs = import_runs([report])
    assert runs.loc[0, "status"] == "partial" and runs.loc[0, "imported"] == 1
    found = import_findings(report)
    refused = found[found["action"] == "refused"]
    assert sorted(refused["item"]) == sorted(["BBB", str(tmp_path / "notes.xlsx")])
    assert (found["item"] == "BBB").sum() == 1  # the refusal is told once


def test_bot_card_risk_figures_are_the_metrics_of_the_same_curve():
    values = [100.0, 104.0, 99.0, 103.0] * 5  # 20 sessions: enough for a Sharpe
    state = _state(values)
    grosses = [50.0, 52.0, 0.0, 51.5] * 5
    for entry, gross in zip(state["equity_history"], grosses, strict=True):
        entry["gross"] = gross
    card = bot_card("swing_1w", state, trades_frame([]))
    equity = equity_series(state)
    perf = performance.performance(equity, gross=pd.Series(grosses, index=equity.index),
                                   initial=100.0)
    assert card.sharpe == pytest.approx(perf["sharpe"]) and card.days == 20
    assert card.max_drawdown == pytest.approx(99.0 / 104.0 - 1.0)
    assert card.exposure == pytest.approx(51.5 / 103.0)  # the book now, not the mean
    assert perf["exposure"] != pytest.approx(card.exposure)
    short = bot_card("intraday", _state([100.0, 101.0, 99.0, 102.0, 103.0]), trades_frame([]))
    assert short.exposure is None and short.sharpe is None and short.days == 5  # 5 sessions
    assert bot_card("x", {"initial_cash": 50.0, "cash": 50.0}, trades_frame([])).sharpe is None
