"""The swing bot of one horizon: its rules as a planner over the desk (aion_core.bots.desk).

A session's run is: (the desk) rebuild the book from the trade log -> `SwingPlanner.plan`
(orders, or none and why) -> (the desk) fill each order through a broker and log it ->
`SwingPlanner.close` (mark to market with the session's closes, append equity history, write
`last_run`). Everything here is pure: the market of the session comes in a `SwingSession`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from aion_core.bots.desk import Plan
from aion_core.bots.ledger import Book, order_id, session_key
from aion_core.bots.registry import Bot
from aion_core.bots.signals import generate_orders
from aion_core.knobs.schema import SwingKnobs


@dataclass(frozen=True)
class SessionPrices:
    """Prices of one session, each a Series symbol -> price (USD per share).

    ref: the last close before the session (what the bot decides and sizes on);
    fill: what SimBroker fills at before costs (the session's open, else `ref`);
    mark: what positions are valued at after the session (its close, else `ref`).
    """

    ref: pd.Series
    fill: pd.Series
    mark: pd.Series
    fill_ts: str


@dataclass(frozen=True)
class SwingSession:
    """One session of one swing bot, as known before the session opens.

    predictions: index symbol, `expected_return` (fraction over the horizon) and `confidence`
    in [0, 1], made from data before `session`; at: the run's time recorded in `last_run`;
    members: the index members as of the predictions (None: the data root has no universe);
    source: where the predictions come from, recorded in `last_run` for the pages (a replay's
    models are not the nightly's, and the pages say which they show).
    """

    session: pd.Timestamp
    predictions: pd.DataFrame
    prices: SessionPrices
    at: str
    members: frozenset[str] | None = None
    source: str = ""

    @property
    def key(self) -> str:
        return session_key(self.session)

    @property
    def day(self) -> str:
        return pd.Timestamp(self.session).strftime("%Y-%m-%d")

    @property
    def fill_prices(self) -> pd.Series:
        return self.prices.fill

    @property
    def fill_ts(self) -> str:
        return self.prices.fill_ts


def fresh_state(bot: str, initial_cash: float) -> dict[str, Any]:
    """CONTRACT.md bot state of a bot that has never run."""
    return {"schema": 1, "bot": bot, "as_of": None, "initial_cash": float(initial_cash),
            "cash": float(initial_cash), "positions": {}, "equity_history": [],
            "pending_signals": [], "last_run": None}


@dataclass(frozen=True)
class SwingPlanner:
    """The rules of one swing bot for a desk; `kill_switch` is read once per job."""

    bot: Bot
    knobs: SwingKnobs
    kill_switch: bool = False

    def fresh_state(self) -> dict[str, Any]:
        return fresh_state(self.bot.name, self.knobs.initial_cash)

    def last_key(self, state: Mapping[str, Any]) -> str:
        return session_key(state["as_of"]) if state.get("as_of") else ""

    def plan(self, run: SwingSession, book: Book, state: Mapping[str, Any]) -> Plan:
        """Orders for the session with deterministic ids, or no orders and the reason why."""
        if self.kill_switch:
            return Plan([], "halted: kill switch is on (admin settings)")
        if not self.knobs.enabled:
            return Plan([], "disabled: knob 'enabled' is off")
        opening = {**state, "cash": book.cash, "positions": book.positions}
        decision = generate_orders(run.predictions, opening, self.knobs, run.prices.ref,
                                   run.session, run.members)
        orders = [replace(o, order_id=order_id(self.bot.name, run.key, o.symbol, o.side))
                  for o in decision.orders]
        screen = decision.screen.to_dict()
        return Plan(orders, "ok", screen.pop("nearest"), screen)

    def close(self, run: SwingSession, state: Mapping[str, Any], book: Book, plan: Plan,
              filled: int, notes: list[str]) -> dict[str, Any]:
        """The state after the session: the book marked at its closes (else the last ones).

        Equity history keeps one entry per session (a re-run replaces its own entry);
        `gross` (sum of |position value|) is kept beside equity for the exposure metric.
        """
        day = run.day
        book.mark(run.prices.mark.combine_first(run.prices.ref))
        entry = {"date": day, "equity": round(book.equity, 4), "cash": round(book.cash, 4),
                 "gross": round(book.gross, 4)}
        history = [e for e in state["equity_history"] if e["date"] < day] + [entry]
        status = plan.status if not notes else f"{plan.status}; " + "; ".join(notes)
        idle = 0 if filled else int(state.get("idle_sessions", 0)) + 1
        return {**state, "as_of": day, "cash": book.cash, "positions": book.positions,
                "equity_history": history, "pending_signals": plan.pending,
                "idle_sessions": idle,
                "last_run": {"at": run.at, "session": day, "status": status, "orders": filled,
                             "planned": len(plan.orders), "screen": plan.screen,
                             "predictions": run.source}}
