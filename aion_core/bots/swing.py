"""The swing bot of one horizon, as pure steps: plan a session, then close it.

A session's run is: (the job) rebuild the book from the trade log -> `plan_session` (orders,
or none and why) -> (the job) fill each order through a broker and log it -> `close_session`
(mark to market with the session's closes, append equity history, write `last_run`). Only
the middle step touches the outside, which is why it lives in jobs/bots.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd

from aion_core.bots.ledger import Book, Order, order_id, session_key
from aion_core.bots.signals import generate_orders, prediction_frame, rank_candidates

PENDING_SHOWN = 10


def bot_name(horizon: str) -> str:
    return f"swing_{horizon}"


def fresh_state(bot: str, initial_cash: float) -> dict[str, Any]:
    """CONTRACT.md bot state of a bot that has never run."""
    return {"schema": 1, "bot": bot, "as_of": None, "initial_cash": float(initial_cash),
            "cash": float(initial_cash), "positions": {}, "equity_history": [],
            "pending_signals": [], "last_run": None}


@dataclass
class Plan:
    """The orders of one session (ids assigned), a status line, and signals left waiting."""

    orders: list[Order]
    status: str
    pending: list[dict[str, Any]] = field(default_factory=list)


def plan_session(bot: str, state: Mapping[str, Any], predictions: pd.DataFrame,
                 knobs: Mapping[str, Any], prices: pd.Series, session: date | pd.Timestamp,
                 horizon_sessions: int, kill_switch: bool = False) -> Plan:
    """Orders for `session` with deterministic ids, or no orders and the reason why.

    predictions / prices: as in `signals.generate_orders` (made before `session`).
    """
    if kill_switch:
        return Plan([], "halted: kill switch is on (admin settings)")
    if not knobs["enabled"]:
        return Plan([], "disabled: knob 'enabled' is off")
    session = pd.Timestamp(session)
    orders = generate_orders(predictions, state, knobs, prices, session, horizon_sessions)
    key = session_key(session)
    orders = [replace(o, order_id=order_id(bot, key, o.symbol, o.side)) for o in orders]
    placed = {o.symbol for o in orders}
    ranked = rank_candidates(prediction_frame(predictions), knobs, prices,
                             exclude=set(state["positions"]) | placed)
    pending = [{"symbol": str(s), "side": r["side"],
                "expected_return": round(float(r["expected_return"]), 6),
                "confidence": round(float(r["confidence"]), 4)}
               for s, r in ranked.head(PENDING_SHOWN).iterrows()]
    return Plan(orders, "ok", pending)


def close_session(state: Mapping[str, Any], book: Book, session: date | pd.Timestamp,
                  plan: Plan, filled: int, marks: Mapping[str, float], at: str,
                  notes: list[str] | None = None) -> dict[str, Any]:
    """The state after `session`: the book marked at `marks` (the session's closes).

    Equity history keeps one entry per session (a re-run replaces its own entry);
    `gross` (sum of |position value|) is kept beside equity for the exposure metric.
    """
    day = pd.Timestamp(session).strftime("%Y-%m-%d")
    book.mark(marks)
    entry = {"date": day, "equity": round(book.equity, 4), "cash": round(book.cash, 4),
             "gross": round(book.gross, 4)}
    history = [e for e in state["equity_history"] if e["date"] < day] + [entry]
    status = plan.status if not notes else f"{plan.status}; " + "; ".join(notes)
    return {**state, "as_of": day, "cash": book.cash, "positions": book.positions,
            "equity_history": history, "pending_signals": plan.pending,
            "last_run": {"at": at, "session": day, "status": status, "orders": filled,
                         "planned": len(plan.orders)}}
