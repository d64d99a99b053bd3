"""An admin's manual exit of one swing position, as a planner over the desk.

`aion bots exit` (jobs/bots.py) runs it through the same desk as a session: the book comes
from the trade log, the one order closing the whole position is logged with reason "manual"
before the state is written, and a retry of the same request books the logged fill instead
of sending the order again.

Run key. A request made at New York time T, when the bot's last session is S (the state's
`as_of`, YYYYMMDD), is run `<S>M<YYYYMMDD>T<HHMM of T>`, e.g. `20261120M20261123T1015`.
Why not `manual-<stamp>` alone: the run key is the second hyphen-separated part of an order
id (desk.run_key), so it cannot hold a hyphen; and a desk judges a run done when a later key
is in the log, so the key must sort after session S and before session S+1 (YYYYMMDD keys).
A bare request time would sort after a session that has not run yet (an exit at 01:00 would
make that morning's 09:00 session look done). Anchored on S, the exit sits between the last
session and the next one, whatever the clock; the same request (same S, same minute) is the
same run, and its order id `<bot>-<key>-<SYMBOL>-<side>` the same client_order_id at Alpaca.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aion_core.bots.desk import Plan
from aion_core.bots.ledger import Book, Order, order_id, session_key
from aion_core.bots.registry import Bot
from aion_core.bots.swing import fresh_state
from aion_core.knobs.schema import BotKnobs

REASON = "manual"
NY = ZoneInfo("America/New_York")


def manual_key(last_session: str, at: datetime) -> str:
    """The run key of an exit requested at `at` (aware) after session `last_session`
    (YYYY-MM-DD or YYYYMMDD); see the module's docstring."""
    return f"{session_key(last_session)}M{at.astimezone(NY):%Y%m%dT%H%M}"


@dataclass(frozen=True)
class ManualRun:
    """One exit request: its run `key`, the New York date it is logged under (`day`,
    YYYY-MM-DD), the position's `symbol`, the last known `price` (USD; what SimBroker fills
    at before slippage, and the order's reference price) and the request time `at` (ISO)."""

    key: str
    day: str
    symbol: str
    price: float
    at: str

    @property
    def fill_prices(self) -> Mapping[str, float]:
        return {self.symbol: self.price}

    @property
    def fill_ts(self) -> str:
        return self.at


@dataclass(frozen=True)
class ManualExit:
    """The planner of a manual exit: one order closing the whole position of the run's
    symbol. The state keeps its session fields (`as_of`, `last_run` with its screen,
    `idle_sessions`, equity history: the next session marks the book) and records the exit
    in `last_exit`, which is how a repeated request finds it done."""

    bot: Bot
    knobs: BotKnobs

    def fresh_state(self) -> dict[str, Any]:
        return fresh_state(self.bot.name, self.knobs.initial_cash)

    def last_key(self, state: Mapping[str, Any]) -> str:
        session = session_key(state["as_of"]) if state.get("as_of") else ""
        return max(session, str((state.get("last_exit") or {}).get("key") or ""))

    def plan(self, run: ManualRun, book: Book, state: Mapping[str, Any]) -> Plan:
        pos = book.positions.get(run.symbol)
        if not pos or not pos["qty"]:
            return Plan([], f"nothing to exit: no open position in {run.symbol}")
        side = "sell" if pos["qty"] > 0 else "buy"
        order = Order(run.symbol, side, int(abs(pos["qty"])), REASON, run.price,
                      order_id(self.bot.name, run.key, run.symbol, side))
        return Plan([order], f"manual exit of {run.symbol}")

    def close(self, run: ManualRun, state: Mapping[str, Any], book: Book, plan: Plan,
              filled: int, notes: list[str]) -> dict[str, Any]:
        status = plan.status if not notes else f"{plan.status}; " + "; ".join(notes)
        return {**state, "cash": book.cash, "positions": book.positions,
                "last_exit": {"key": run.key, "at": run.at, "symbol": run.symbol,
                              "status": status, "orders": filled}}
