"""The shadow book of a live bot: the same orders, filled by the simulator at the session's
open with the knobs' slippage and fees, through the desk's one executor (`execute_orders`):
two runs of the same kernel, never a second engine. What live trading cost against the
simulation the bots were designed and backtested on is then a number per fill and per day.

Per fill (bp, positive = worse for the bot: paid more on a buy, got less on a sell):
- `vs_decision_bp`: the live fill against the decision price, the last close the bot saw
  (the implementation shortfall of the fill's price; fees apart);
- `vs_shadow_bp`: the live fill against the shadow's fill of the same order;
- `vs_open_bp`: the live fill against the session's open (None while the open is unknown).
Per day: both books marked at the same prices (the session's closes, else its opens, else the
decision prices); `tracking_bp` = live equity / shadow equity - 1 since the shadow started
(cumulative), `tracking_day_bp` its change over the session.

The shadow starts as a copy of the live book before its first reconciled session and carries
on from each report's shadow book; a session of the bot that was not reconciled in between
restarts it (`restarted`), since the shadow never saw those orders. Pure: the simulator comes
in as a `Submits` (the job passes a SimBroker).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aion_core.bots.desk import Execution, execute_orders
from aion_core.bots.ledger import PRICE_DP, Book, Fill, Order, Submits
from aion_core.bots.reconcile import bp


@dataclass(frozen=True)
class SessionMarket:
    """A session's prices per symbol (USD): `decision` the last close before it (what the
    bot decided on), `open` and `close` the session's own (empty while its bars are not in).
    """

    decision: Mapping[str, float]
    open: Mapping[str, float]
    close: Mapping[str, float]

    def fill_price(self, symbol: str) -> float | None:
        """Where the shadow fills: the open, else (bars not in yet) the decision price."""
        return self.open.get(symbol) or self.decision.get(symbol)

    def marks(self) -> dict[str, float]:
        return {**self.decision, **self.open, **self.close}


def orders_of(report: Mapping[str, Any], journal: Sequence[Fill]) -> list[Order]:
    """The bot's orders of the session in a reconcile report, with the quantity ordered: each
    of its orders at the broker (whatever became of it) and each journal fill the broker
    does not hold. Sorted by order id, as the desk's ids sort."""
    qty: dict[str, tuple[str, str, float]] = {}
    for kind, field in (("matched", "ordered"), ("partial", "ordered"),
                        ("rejected_or_cancelled", "qty"), ("open", "qty"),
                        ("only_in_journal", "qty")):
        for r in report.get(kind, []):
            qty[r["order_id"]] = (r["symbol"], r["side"], r[field])
    for r in report.get("only_at_broker", []):
        if r.get("placed_by") == "aion":
            qty[r["order_id"]] = (r["symbol"], r["side"], r["qty"])
    reasons = {f.order_id: f.reason for f in journal}
    return [Order(sym, side, int(round(q)), reasons.get(oid, ""), 0.0, oid)
            for oid, (sym, side, q) in sorted(qty.items()) if q > 0]


def fill_shadow(bot: str, session: str, orders: Sequence[Order], opening: Book,
                simulator: Submits) -> tuple[Book, list[Fill], list[str]]:
    """The shadow book after `orders`, its fills and the executor's notes (an order the
    simulator has no price for is refused and noted, as in a backtest)."""
    book = copy.deepcopy(opening)
    fills, notes = execute_orders(orders, {}, Execution(simulator, book, bot, session,
                                                        _ignore))
    return book, fills, notes


def _ignore(fill: Fill) -> None:
    """The shadow's fills are kept in its report, never in a journal."""


def shortfalls(live: Sequence[Fill], shadow: Sequence[Fill],
               market: SessionMarket) -> list[dict[str, Any]]:
    """One row per live fill of the session: its price against the decision price, the
    shadow's fill of the same order and the open (module docstring), in bp."""
    sim = {f.order_id: f for f in shadow}
    rows = []
    for f in sorted(live, key=lambda x: x.order_id):
        twin, decision, opened = sim.get(f.order_id), market.decision.get(f.symbol), \
            market.open.get(f.symbol)
        rows.append({
            "order_id": f.order_id, "symbol": f.symbol, "side": f.side, "qty": f.qty,
            "price": f.price, "fees": f.fees, "decision": decision,
            "shadow_price": twin.price if twin else None,
            "shadow_qty": twin.qty if twin else None,
            "vs_decision_bp": bp(f.price, decision, f.side) if decision else None,
            "vs_shadow_bp": bp(f.price, twin.price, f.side) if twin else None,
            "vs_open_bp": bp(f.price, opened, f.side) if opened else None})
    return rows


def tracking(live: Book, shadow: Book, market: SessionMarket,
             previous_bp: float | None) -> dict[str, float]:
    """Both books marked at the same prices, their equities and the tracking difference."""
    marks = market.marks()
    live, shadow = copy.deepcopy(live), copy.deepcopy(shadow)
    live.mark(marks)
    shadow.mark(marks)
    cum = (live.equity / shadow.equity - 1.0) * 1e4 if shadow.equity > 0 else 0.0
    return {"live_equity": round(live.equity, 2), "shadow_equity": round(shadow.equity, 2),
            "tracking_bp": round(cum, 2),
            "tracking_day_bp": round(cum - (previous_bp or 0.0), 2)}


def book_doc(book: Book) -> dict[str, Any]:
    """A book as a report keeps it (and `book_from` reads it back)."""
    return {"cash": round(book.cash, PRICE_DP),
            "positions": {s: {"qty": p["qty"], "avg_price": round(p["avg_price"], 6),
                              "last_price": p["last_price"]}
                          for s, p in sorted(book.positions.items())}}


def book_from(doc: Mapping[str, Any]) -> Book:
    return Book(float(doc["cash"]), {s: dict(p) for s, p in doc["positions"].items()})


@dataclass(frozen=True)
class ShadowInputs:
    """What one session's shadow needs; `previous`: the last report's `shadow` when it
    carries on (None: start, or restart, from `live_before`)."""

    bot: str
    session: str
    orders: Sequence[Order]
    live_fills: Sequence[Fill]
    live_before: Book
    live_after: Book
    market: SessionMarket
    previous: Mapping[str, Any] | None = None
    restarted: str | None = None  # why the shadow starts over, when it does


def shadow_session(inputs: ShadowInputs,
                   simulator_for: Callable[[Mapping[str, float]], Submits]) -> dict[str, Any]:
    """The report's `shadow` section: `simulator_for(prices)` is the simulator filling at
    those prices (the job's SimBroker with the bot's slippage and fees)."""
    prev = inputs.previous
    opening = book_from(prev["book"]) if prev else inputs.live_before
    prices = {o.symbol: p for o in inputs.orders
              if (p := inputs.market.fill_price(o.symbol)) is not None}
    book, fills, notes = fill_shadow(inputs.bot, inputs.session, inputs.orders, opening,
                                     simulator_for(prices))
    track = tracking(inputs.live_after, book, inputs.market,
                     prev["tracking_bp"] if prev else None)
    return {"start": prev["start"] if prev else inputs.session,
            "restarted": inputs.restarted,
            "fill_prices": "open" if all(o.symbol in inputs.market.open for o in inputs.orders)
            else "decision (the session's open is not in the bars yet)",
            "fills": shortfalls(inputs.live_fills, fills, inputs.market),
            "shadow_fills": [{"order_id": f.order_id, "qty": f.qty, "price": f.price,
                              "fees": f.fees} for f in fills],
            "notes": notes, **track, "book": book_doc(book)}
