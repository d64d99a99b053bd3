"""SwingPlanner.plan / close: order ids, why nothing was ordered, equity history."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from aion_core.bots.desk import Plan
from aion_core.bots.ledger import Book, order_id
from aion_core.bots.registry import swing_bot
from aion_core.bots.swing import SessionPrices, SwingPlanner, SwingSession, fresh_state
from aion_core.knobs.schema import effective_knobs

BOT = swing_bot("2w")
KNOBS = effective_knobs({}, "swing", "2w")
PREDS = pd.DataFrame({"expected_return": [0.03, 0.02, -0.01], "confidence": [0.9, 0.8, 0.9]},
                     index=["AAA", "BBB", "CCC"])
PRICES = pd.Series({"AAA": 10.0, "BBB": 20.0, "CCC": 30.0})


def session(day: str, marks: pd.Series = PRICES, at: str = "t") -> SwingSession:
    return SwingSession(pd.Timestamp(day), PREDS, SessionPrices(PRICES, PRICES, marks, ""), at)


def plan_session(state, knobs, day, kill_switch=False) -> Plan:
    return SwingPlanner(BOT, knobs, kill_switch).plan(session(day), Book.from_state(state),
                                                      state)


def close_session(state, book, day, plan, filled, marks, at):
    return SwingPlanner(BOT, KNOBS).close(session(day, pd.Series(marks), at), state, book, plan,
                                          filled, [])


def test_orders_get_deterministic_ids_and_pending_lists_the_rest():
    state = fresh_state("swing_2w", 100_000)
    plan = plan_session(state, replace(KNOBS, max_positions=1), "2024-03-04")
    assert [o.order_id for o in plan.orders] == [order_id("swing_2w", "20240304", "AAA", "buy")]
    # the names nearest to entry, best first, each with why it was not bought
    assert [(p["symbol"], p["why"]) for p in plan.pending] == [
        ("BBB", "ranked beyond max_positions"), ("CCC", "excess below the cost bar")]
    assert plan.status == "ok" and plan.screen["entered"] == 1
    assert plan.screen["candidates"] == 3 and plan.screen["below_bar"] == 1


def test_kill_switch_and_disabled_say_why():
    state = fresh_state("swing_2w", 100_000)
    halted = plan_session(state, KNOBS, "2024-03-04", True)
    off = plan_session(state, replace(KNOBS, enabled=False), "2024-03-04")
    assert halted.orders == [] and "kill switch" in halted.status
    assert off.orders == [] and "enabled" in off.status


def test_close_session_marks_to_the_close_and_replaces_its_own_history_entry():
    state = fresh_state("swing_2w", 1_000)
    book = Book(500.0, {"AAA": {"qty": 50, "avg_price": 10.0, "entry_date": "2024-03-04",
                                "last_price": 10.0}})
    after = close_session(state, book, "2024-03-04", Plan([], "ok"), 1, {"AAA": 12.0}, "t")
    assert after["equity_history"] == [{"date": "2024-03-04", "equity": 1100.0,
                                        "cash": 500.0, "gross": 600.0}]
    again = close_session(after, book, "2024-03-04", Plan([], "ok"), 1, {"AAA": 11.0}, "t")
    assert [e["equity"] for e in again["equity_history"]] == [1050.0]
    assert again["as_of"] == "2024-03-04" and again["last_run"]["orders"] == 1


def test_sessions_without_a_fill_are_counted_until_the_next_fill():
    state, book = fresh_state("swing_2w", 1_000), Book(1_000.0)
    for day, filled, idle in (("2024-03-04", 0, 1), ("2024-03-05", 0, 2), ("2024-03-06", 2, 0)):
        state = close_session(state, book, day, Plan([], "ok"), filled, {}, "t")
        assert state["idle_sessions"] == idle, day
