"""The Bots page's read models (aion_core.app.bots_view), on states a swing session wrote."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from aion_core.app.bots_view import (
    IDLE_WARN_SESSIONS,
    SCREEN_RULES,
    book_risk,
    idle_warning,
    position_levels,
    trade_markers,
    why_no_trade,
)
from aion_core.app.calc import bot_card, positions_frame, trades_frame
from aion_core.bots.ledger import Book
from aion_core.bots.registry import swing_bot
from aion_core.bots.swing import SessionPrices, SwingPlanner, SwingSession, fresh_state
from aion_core.knobs.schema import effective_knobs

BOT = swing_bot("1w")
KNOBS = effective_knobs({}, "swing", "1w")


def _session_state(knobs, preds: pd.DataFrame, prices: pd.Series) -> dict:
    """The state after one session of the real planner (plan, no fills, close)."""
    planner = SwingPlanner(BOT, knobs)
    run = SwingSession(pd.Timestamp("2024-03-04"), preds,
                       SessionPrices(prices, prices, prices, ""), "t",
                       source="the nightly's rolling brain as of 2024-03-01")
    state = fresh_state(BOT.name, 100_000)
    plan = planner.plan(run, Book.from_state(state), state)
    return planner.close(run, state, Book.from_state(state), plan, 0, [])


def test_every_candidate_is_removed_by_one_rule_or_entered():
    names = [f"S{i:02d}" for i in range(12)]
    preds = pd.DataFrame({"expected_return": [0.02 - 0.002 * i for i in range(12)],
                          "confidence": [0.3 if i == 1 else 0.8 for i in range(12)]},
                         index=names)
    prices = pd.Series(50.0, index=names).drop("S11")
    knobs = replace(KNOBS, max_positions=3, min_confidence=0.5)
    why = why_no_trade(_session_state(knobs, preds, prices))
    assert why.note is None and why.session == "2024-03-04"
    assert why.source == "the nightly's rolling brain as of 2024-03-01"  # said on the page
    steps = why.funnel.set_index("step")["names"]
    assert why.candidates == steps["candidates"] == 12
    assert steps[[label for _, label in SCREEN_RULES]].sum() + steps["entered"] == 12
    assert steps["no price"] == 1 and steps["low confidence"] == 1
    assert why.entered == steps["entered"]
    # the bar is the knobs' round trips of slippage and fees, in bp
    assert why.bar_bp == pytest.approx(
        KNOBS.entry_cost_multiple * 2 * (KNOBS.slippage_bps + KNOBS.fee_bps))


def test_the_nearest_names_in_bp_best_rank_first_with_why():
    state = {"last_run": {"session": "2024-03-04", "screen": {"candidates": 3, "bar": 0.0012}},
             "pending_signals": [
                 {"symbol": "BBB", "side": "buy", "rank": 5, "excess": 0.0004,
                  "confidence": 0.6, "why": "excess below the cost bar"},
                 {"symbol": "AAA", "side": "buy", "rank": 2, "excess": 0.0021,
                  "confidence": 0.7, "why": "no free slot: the kept names fill the book"}]}
    why = why_no_trade(state)
    assert why.bar_bp == pytest.approx(12.0)
    assert list(why.nearest["symbol"]) == ["AAA", "BBB"]
    assert list(why.nearest["excess_bp"].round(6)) == [21.0, 4.0]
    assert list(why.nearest.columns) == ["rank", "symbol", "side", "excess_bp", "confidence",
                                         "why"]


def test_a_state_without_a_screen_gets_one_line():
    old = {"last_run": {"session": "2024-03-04", "status": "ok"},
           "pending_signals": [{"symbol": "A", "side": "buy", "expected_return": 0.02,
                                "confidence": 0.7}]}
    why = why_no_trade(old)
    assert "predates" in why.note and why.nearest.empty
    halted = why_no_trade({"last_run": {"status": "halted: kill switch is on", "screen": None}})
    assert "kill switch" in halted.note
    assert "predates" in why_no_trade({"last_run": None}).note


def test_an_ok_bot_idle_for_the_threshold_warns_instead():
    assert idle_warning("ok", IDLE_WARN_SESSIONS - 1) is None
    assert idle_warning("ok", IDLE_WARN_SESSIONS) == (
        f"idle {IDLE_WARN_SESSIONS} sessions: see why no trade")
    assert idle_warning("ok; state rebuilt from the trade log", 9).startswith("idle 9")
    # a status that already says why nothing happens keeps its badge; no count, no warning
    assert idle_warning("halted: kill switch is on (admin settings)", 30) is None
    assert idle_warning("ok", None) is None


def test_the_card_carries_the_warning_of_the_state():
    state = {"initial_cash": 100.0, "cash": 100.0, "positions": {}, "equity_history": [],
             "last_run": {"status": "ok"}, "idle_sessions": IDLE_WARN_SESSIONS + 2}
    assert bot_card("swing_1w", state, trades_frame([])).warning.startswith(
        f"idle {IDLE_WARN_SESSIONS + 2} sessions")
    assert bot_card("swing_1w", {**state, "idle_sessions": 0}, trades_frame([])).warning is None


def test_stops_and_targets_sit_where_the_bots_exit_rule_fires():
    from aion_core.bots.risk import exit_reason

    pos = positions_frame({"positions": {
        "AAA": {"qty": 10, "avg_price": 100.0, "last_price": 101.0, "entry_date": "d"},
        "BBB": {"qty": -5, "avg_price": 50.0, "last_price": 49.0, "entry_date": "d"}}})
    knobs = replace(KNOBS, stop_loss=0.1, take_profit=0.25)
    levels = position_levels(pos, knobs.stop_loss, knobs.take_profit).set_index("symbol")
    assert levels.loc["AAA", "stop"] == pytest.approx(90.0)
    assert levels.loc["BBB", "stop"] == pytest.approx(55.0)
    assert levels.loc["AAA", "target"] == pytest.approx(125.0)
    assert levels.loc["BBB", "target"] == pytest.approx(37.5)
    for sym, row in levels.iterrows():  # a hair beyond each level the rule fires, inside not
        held, away = {"qty": row["qty"], "avg_price": row["avg_price"]}, np.sign(row["qty"])
        assert exit_reason(held, row["stop"] * (1 - away * 1e-9), knobs) == "stop_loss", sym
        assert exit_reason(held, row["stop"] * (1 + away * 1e-6), knobs) is None, sym
        assert exit_reason(held, row["target"] * (1 + away * 1e-9), knobs) == "take_profit"
        assert exit_reason(held, row["target"] * (1 - away * 1e-6), knobs) is None, sym
    off = position_levels(pos, 0.1, 0.0)
    assert "target" not in off and list(off["stop"].round(6)) == [90.0, 55.0]
    assert position_levels(positions_frame({}), 0.1, 0.0).empty


def test_the_books_beta_and_active_risk_against_the_equal_weight_universe():
    rng = np.random.default_rng(5)
    days = pd.bdate_range("2026-01-05", periods=60)
    closes = pd.DataFrame(50 * np.exp(np.cumsum(rng.normal(0, 0.02, (60, 4)), axis=0)),
                          index=days, columns=list("ABCD"))
    equity = pd.Series(1e5 * np.exp(np.cumsum(rng.normal(0, 0.01, 40))), index=days[20:])
    risk = book_risk(equity, 1e5, closes)
    # plain numpy: the universe's daily return is the mean of the names' returns
    c = closes.to_numpy()
    uni = (c[1:] / c[:-1] - 1).mean(axis=1)[19:]  # the sessions of days[20:]
    e = np.concatenate([[1e5], equity.to_numpy()])
    book = e[1:] / e[:-1] - 1
    beta = np.cov(book, uni, ddof=1)[0, 1] / np.var(uni, ddof=1)
    assert risk["sessions"] == 40
    assert risk["beta"] == pytest.approx(beta, rel=1e-9)
    assert risk["active_risk"] == pytest.approx(np.std(book - uni, ddof=1) * np.sqrt(252))
    assert book_risk(equity, 1e5, None) == {"beta": None, "active_risk": None, "sessions": 0}
    assert book_risk(equity.iloc[:1], 1e5, closes)["beta"] is None


def test_fills_are_marked_on_their_new_york_session_within_the_chart():
    one = trades_frame([
        {"ts": "2026-01-06T14:30:00+00:00", "bot": "swing_1w", "symbol": "AAA", "side": "buy",
         "qty": 10, "price": 50.0, "reason": "entry"},
        {"ts": "2026-01-09T01:30:00+00:00", "bot": "swing_1w", "symbol": "AAA", "side": "sell",
         "qty": 10, "price": 52.0, "reason": "manual"},  # 20:30 on the 8th in New York
        {"ts": "2026-01-07T14:30:00+00:00", "bot": "swing_1w", "symbol": "BBB", "side": "buy",
         "qty": 5, "price": 9.0, "reason": "entry"},
        {"ts": "2025-12-01T14:30:00+00:00", "bot": "swing_1w", "symbol": "AAA", "side": "buy",
         "qty": 1, "price": 40.0, "reason": "entry"}])  # before the chart
    dt = trades_frame([{"ts": "2026-01-07T15:45:00+00:00", "bot": "dt", "symbol": "AAA",
                        "side": "sell", "qty": 3, "price": 51.0, "reason": "stop_loss"}])
    marks = trade_markers([one, dt, trades_frame([])], "AAA", pd.Timestamp("2026-01-02"),
                          pd.Timestamp("2026-01-09"), {"dt": "intraday"})
    assert marks.to_dict("records") == [
        {"date": pd.Timestamp("2026-01-06"), "bot": "swing_1w", "side": "buy", "qty": 10,
         "price": 50.0, "reason": "entry"},
        {"date": pd.Timestamp("2026-01-07"), "bot": "intraday", "side": "sell", "qty": 3,
         "price": 51.0, "reason": "stop_loss"},
        {"date": pd.Timestamp("2026-01-08"), "bot": "swing_1w", "side": "sell", "qty": 10,
         "price": 52.0, "reason": "manual"}]
    assert trade_markers([], "AAA", pd.Timestamp("2026-01-02"), pd.Timestamp("2026-01-09")).empty
