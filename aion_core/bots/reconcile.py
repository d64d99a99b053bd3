"""Broker against journal for one bot's session: what matched, what differs, what is on one
side only. Pure: it reads what it is given and returns a report; it never changes the journal
or the broker (a difference is for a person to look at, not for code to paper over).

Inputs:
- the journal: the bot's fills of the session (`Fill`, `order_id` = Alpaca's
  `client_order_id`, `<bot>-<key>-<SYMBOL>-<side>`), and the bot's book after them;
- a `Statement`: what the broker says of the same session: its orders (Aion's and any placed
  by hand or another tool), its executions (Alpaca's FILL activities) and, when the session
  is the bot's last, its positions now;
- `others`: the books of the other bots trading through the same account (the broker holds
  one position per name for all of them).

The report (a JSON-ready dict, `documents.ReconcileReport`): `matched` orders with their
quantity and price differences (bp), `only_at_broker` (placed outside Aion, or an Aion order
the journal lacks), `only_in_journal`, `partial`, `rejected_or_cancelled`, `open`, `positions`
that differ (a split is named: 2:1 is quantity x2 at half the price), `cash` moved by the
session beyond what the fees explain, and `issues`: one line per thing to look at.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from aion_core.bots.ledger import Book, Fill, Side

QTY_EPS = 1e-6
PRICE_TOLERANCE_BP = 1.0  # a matched fill's broker price this far from the journal's is named
SPLIT_TOLERANCE = 0.02  # a split keeps the cost basis: quantity x price within 2 %
DEAD = frozenset({"canceled", "expired", "rejected", "suspended", "done_for_day", "stopped"})
_AION_ID = re.compile(r"^(?P<bot>[a-z][a-z0-9_]*)-(?P<key>[0-9A-Z]+)-(?P<symbol>.+)-"
                      r"(?P<side>buy|sell)$")


@dataclass(frozen=True)
class BrokerOrder:
    """An order as the broker keeps it. `qty` is what was ordered, `filled_qty` what filled;
    `status` is Alpaca's (new, accepted, partially_filled, filled, canceled, expired,
    rejected, ...); `submitted_at` ISO-8601 UTC."""

    client_order_id: str
    broker_id: str
    symbol: str
    side: Side
    qty: float
    filled_qty: float
    filled_avg_price: float | None
    status: str
    submitted_at: str = ""


@dataclass(frozen=True)
class BrokerFill:
    """One execution (an Alpaca FILL activity): `order_id` is the broker's id of its order."""

    activity_id: str
    order_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    at: str
    partial: bool = False


@dataclass(frozen=True)
class BrokerPosition:
    symbol: str
    qty: float  # signed shares
    avg_price: float  # average entry price per share


@dataclass(frozen=True)
class Statement:
    """What the broker says of one session: `positions` None when they are not compared
    (a session before the bot's last: the broker's positions are today's)."""

    orders: Sequence[BrokerOrder] = ()
    fills: Sequence[BrokerFill] = ()
    positions: Mapping[str, BrokerPosition] | None = None


def parse_order_id(order_id: str) -> dict[str, str] | None:
    """`{bot, key, symbol, side}` of an Aion order id, None for any other client_order_id."""
    m = _AION_ID.match(order_id)
    return m.groupdict() if m else None


def in_session(order_id: str, bot: str, key: str) -> bool:
    """Is `order_id` one of `bot`'s orders of the session keyed `key` (YYYYMMDD)? An admin's
    exit after that session (`<key>M<time>`, bots/manual.py) counts with it."""
    parts = parse_order_id(order_id)
    return bool(parts and parts["bot"] == bot
                and (parts["key"] == key or parts["key"].startswith(key + "M")))


@dataclass
class _Executions:
    """The broker's executions of one order: quantity and volume-weighted price."""

    qty: float = 0.0
    value: float = 0.0
    ids: list[str] = field(default_factory=list)

    @property
    def price(self) -> float | None:
        return self.value / self.qty if self.qty > QTY_EPS else None


def executions(order: BrokerOrder, fills: Mapping[str, _Executions]) -> _Executions:
    """The order's executions from the FILL activities, else from the order's own fields."""
    found = fills.get(order.broker_id)
    if found is not None:
        return found
    price = order.filled_avg_price or 0.0
    return _Executions(order.filled_qty, order.filled_qty * price)


def _by_order(fills: Iterable[BrokerFill]) -> dict[str, _Executions]:
    out: dict[str, _Executions] = defaultdict(_Executions)
    for f in fills:
        e = out[f.order_id]
        e.qty += f.qty
        e.value += f.qty * f.price
        e.ids.append(f.activity_id)
    return dict(out)


def bp(price: float, reference: float, side: str) -> float:
    """`price` against `reference` in basis points, positive when it is worse for `side`
    (paid more on a buy, received less on a sell)."""
    return round((price / reference - 1.0) * 1e4 * (1 if side == "buy" else -1), 2)


def _matched(fill: Fill, order: BrokerOrder, done: _Executions) -> dict[str, Any]:
    price = done.price
    return {"order_id": fill.order_id, "symbol": fill.symbol, "side": fill.side,
            "ordered": order.qty, "journal_qty": fill.qty, "broker_qty": round(done.qty, 6),
            "qty_diff": round(done.qty - fill.qty, 6), "journal_price": fill.price,
            "broker_price": None if price is None else round(price, 4),
            "price_diff_bp": None if price is None else bp(price, fill.price, fill.side),
            "status": order.status}


def _partial(order: BrokerOrder, done: _Executions, journal_qty: float) -> dict[str, Any]:
    return {"order_id": order.client_order_id, "symbol": order.symbol, "side": order.side,
            "ordered": order.qty, "broker_filled": round(done.qty, 6),
            "journal_qty": journal_qty, "status": order.status,
            "broker_price": None if done.price is None else round(done.price, 4)}


def _outside(order: BrokerOrder, done: _Executions, aion: bool) -> dict[str, Any]:
    return {"order_id": order.client_order_id, "broker_id": order.broker_id,
            "symbol": order.symbol, "side": order.side, "qty": order.qty,
            "filled_qty": round(done.qty, 6),
            "price": None if done.price is None else round(done.price, 4),
            "status": order.status, "submitted_at": order.submitted_at,
            "placed_by": "aion" if aion else "outside"}


def compare_orders(bot: str, key: str, journal: Sequence[Fill], statement: Statement,
                   known_bots: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Sort the session's orders into the report's lists (module docstring)."""
    ours = {f.order_id: f for f in journal if in_session(f.order_id, bot, key)}
    fills = _by_order(statement.fills)
    known = set(known_bots) | {bot}
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "matched", "only_at_broker", "only_in_journal", "partial", "rejected_or_cancelled",
        "open")}
    seen: set[str] = set()
    for order in statement.orders:
        parts = parse_order_id(order.client_order_id)
        done = executions(order, fills)
        if parts is None or parts["bot"] not in known:
            out["only_at_broker"].append(_outside(order, done, aion=False))
            continue
        if not in_session(order.client_order_id, bot, key):
            continue  # another bot's, or another session's
        seen.add(order.client_order_id)
        _sort_ours(order, done, ours.get(order.client_order_id), out)
    out["only_in_journal"] = [
        {"order_id": f.order_id, "symbol": f.symbol, "side": f.side, "qty": f.qty,
         "price": f.price} for oid, f in sorted(ours.items()) if oid not in seen]
    known_ids = {o.broker_id for o in statement.orders}
    for oid, done in sorted(fills.items()):
        if oid not in known_ids:  # an execution of an order the statement does not hold
            f = next(x for x in statement.fills if x.order_id == oid)
            out["only_at_broker"].append({
                "order_id": None, "broker_id": oid, "symbol": f.symbol, "side": f.side,
                "qty": round(done.qty, 6), "filled_qty": round(done.qty, 6),
                "price": round(done.price or 0.0, 4), "status": "fill of an unlisted order",
                "submitted_at": "", "placed_by": "outside"})
    return {k: sorted(v, key=lambda r: (r["order_id"] or "", r.get("broker_id", "")))
            for k, v in out.items()}


def _sort_ours(order: BrokerOrder, done: _Executions, fill: Fill | None,
               out: dict[str, list[dict[str, Any]]]) -> None:
    """One of the bot's own orders of the session, by what the journal and the broker say."""
    filled = done.qty > QTY_EPS
    whole = done.qty >= order.qty - QTY_EPS
    if filled and not whole and (fill is None or order.status in DEAD
                                 or order.status == "partially_filled"):
        out["partial"].append(_partial(order, done, fill.qty if fill else 0.0))
        if fill is not None:
            out["matched"].append(_matched(fill, order, done))
    elif fill is not None:
        out["matched"].append(_matched(fill, order, done))
    elif filled:
        out["only_at_broker"].append(_outside(order, done, aion=True))
    elif order.status in DEAD:
        out["rejected_or_cancelled"].append(
            {"order_id": order.client_order_id, "symbol": order.symbol, "side": order.side,
             "qty": order.qty, "status": order.status})
    else:
        out["open"].append({"order_id": order.client_order_id, "symbol": order.symbol,
                            "side": order.side, "qty": order.qty, "status": order.status})


# --------------------------------------------------------------------------- positions


def expected_positions(book: Book, others: Sequence[Book] = ()) -> dict[str, tuple[float, float]]:
    """Symbol -> (quantity, average price) that the books of every bot on the account add up
    to: the quantities summed, the price their cost-weighted mean."""
    qty: dict[str, float] = defaultdict(float)
    cost: dict[str, float] = defaultdict(float)
    for b in (book, *others):
        for sym, p in b.positions.items():
            qty[sym] += float(p["qty"])
            cost[sym] += float(p["qty"]) * float(p["avg_price"])
    return {s: (q, cost[s] / q if abs(q) > QTY_EPS else 0.0) for s, q in qty.items()
            if abs(q) > QTY_EPS}


def split_ratio(expected: tuple[float, float], held: BrokerPosition) -> str | None:
    """"2:1" when the broker holds r x the shares at 1/r the price (cost basis kept), r a
    simple ratio other than 1; None otherwise."""
    qty, avg = expected
    if abs(qty) <= QTY_EPS or avg <= 0 or held.avg_price <= 0:
        return None
    ratio = held.qty / qty
    if ratio <= 0 or abs(ratio - 1.0) < 1e-9:
        return None
    simple = Fraction(ratio).limit_denominator(10)
    if abs(float(simple) - ratio) > 1e-6 or abs(ratio * held.avg_price / avg - 1) > SPLIT_TOLERANCE:
        return None
    return f"{simple.numerator}:{simple.denominator}"


def compare_positions(expected: Mapping[str, tuple[float, float]],
                      held: Mapping[str, BrokerPosition],
                      unbooked: Mapping[str, list[tuple[str, float]]]) -> list[dict[str, Any]]:
    """The names whose quantity at the broker differs from the books'; `unbooked`: per symbol
    the session's broker executions the journal lacks (order id, signed qty), which explain
    a difference when they add up to it."""
    out = []
    for sym in sorted(set(expected) | set(held)):
        qty, avg = expected.get(sym, (0.0, 0.0))
        pos = held.get(sym, BrokerPosition(sym, 0.0, 0.0))
        if abs(pos.qty - qty) <= QTY_EPS:
            continue
        split = split_ratio((qty, avg), pos)
        moves = unbooked.get(sym, [])
        explained = abs(sum(q for _, q in moves) - (pos.qty - qty)) <= QTY_EPS and moves
        out.append({"symbol": sym, "journal_qty": round(qty, 6), "broker_qty": pos.qty,
                    "journal_avg_price": round(avg, 4), "broker_avg_price": pos.avg_price,
                    "kind": f"split {split}" if split else "quantity",
                    "explained_by": sorted(o for o, _ in moves) if explained else []})
    return out


def unbooked_moves(statement: Statement, journals: Iterable[Fill]
                   ) -> dict[str, list[tuple[str, float]]]:
    """Per symbol, the statement's executions that no journal of the account holds (order id,
    signed qty): orders placed outside Aion, Aion orders a journal lacks, and the part of a
    partial fill the journal did not book. Account-wide, like the positions they explain."""
    booked: dict[str, float] = defaultdict(float)
    for f in journals:
        booked[f.order_id] += f.qty
    fills = _by_order(statement.fills)
    moves: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for order in statement.orders:
        extra = executions(order, fills).qty - booked.get(order.client_order_id, 0.0)
        if extra > QTY_EPS:
            moves[order.symbol].append((order.client_order_id, _sign(order.side) * extra))
    listed = {o.broker_id for o in statement.orders}
    for f in statement.fills:
        if f.order_id not in listed:
            moves[f.symbol].append((f.order_id, _sign(f.side) * f.qty))
    return dict(moves)


# --------------------------------------------------------------------------- cash and verdict


def cash_check(journal: Sequence[Fill], orders: dict[str, list[dict[str, Any]]]) -> dict:
    """Cash moved by the fills both sides hold (the matched orders): by the journal, after
    its fees, and by the broker's executions of the same orders; `beyond_fees` is the
    difference the journal's fees do not explain (the broker's own fees, when it charges any,
    are part of it). `unbooked`: cash the broker moved for the bot's orders that the journal
    lacks (partial fills, Aion orders not logged), each already an issue of its own."""
    matched = {r["order_id"]: r for r in orders["matched"] if r["broker_price"] is not None}
    both = [f for f in journal if f.order_id in matched]
    book_cash = sum(-f.signed_qty * f.price - f.fees for f in both)
    fees = sum(f.fees for f in both)
    broker = sum(-_sign(r["side"]) * r["broker_qty"] * r["broker_price"]
                 for r in matched.values())
    unbooked = sum(-_sign(r["side"]) * (r["broker_filled"] - r["journal_qty"])
                   * r["broker_price"] for r in orders["partial"]
                   if r["broker_price"] is not None)
    unbooked += sum(-_sign(r["side"]) * r["filled_qty"] * r["price"]
                    for r in orders["only_at_broker"]
                    if r["placed_by"] == "aion" and r["price"] is not None)
    diff = broker - book_cash
    return {"journal": round(book_cash, 2), "broker": round(broker, 2),
            "journal_fees": round(fees, 2), "difference": round(diff, 2),
            "beyond_fees": round(diff - fees, 2), "unbooked": round(unbooked, 2)}


def _sign(side: str) -> int:
    return 1 if side == "buy" else -1


def issues(orders: dict[str, list[dict[str, Any]]], positions: list[dict[str, Any]] | None,
           cash: Mapping[str, float]) -> list[dict[str, Any]]:
    """One line per thing a person should look at, each naming its order id or symbol."""
    out = []
    for r in orders["matched"]:
        off_price = r["price_diff_bp"] is not None and abs(r["price_diff_bp"]) >= \
            PRICE_TOLERANCE_BP
        if abs(r["qty_diff"]) > QTY_EPS or off_price:
            out.append({"kind": "differs", "order_id": r["order_id"], "symbol": r["symbol"],
                        "text": f"{r['order_id']}: broker {r['broker_qty']:g} at "
                        f"{r['broker_price']} against the journal's {r['journal_qty']:g} at "
                        f"{r['journal_price']} ({r['price_diff_bp']} bp)"})
    texts = {"partial": "partially filled: {broker_filled:g} of {ordered:g} at the broker, "
                        "{journal_qty:g} in the journal ({status})",
             "only_at_broker": "only at the broker (placed by {placed_by}): {side} "
                               "{filled_qty:g}/{qty:g} {symbol} ({status})",
             "only_in_journal": "only in the journal: {side} {qty:g} {symbol} at {price}",
             "rejected_or_cancelled": "{status} at the broker: {side} {qty:g} {symbol}"}
    for kind, text in texts.items():
        for r in orders[kind]:
            name = r["order_id"] or r["broker_id"]
            out.append({"kind": kind, "order_id": name, "symbol": r["symbol"],
                        "text": f"{name}: " + text.format(**r)})
    for p in positions or []:
        why = f"; explained by {', '.join(p['explained_by'])}" if p["explained_by"] else ""
        out.append({"kind": "position", "order_id": None, "symbol": p["symbol"],
                    "text": f"{p['symbol']}: broker holds {p['broker_qty']:g}, the books "
                    f"{p['journal_qty']:g} ({p['kind']}){why}",
                    "explained_by": p["explained_by"]})
    if abs(cash["beyond_fees"]) >= 0.01:
        out.append({"kind": "cash", "order_id": None, "symbol": None,
                    "text": f"cash: the broker moved {cash['difference']:+,.2f} against the "
                    f"journal, {cash['beyond_fees']:+,.2f} beyond its fees"})
    return out


def reconcile(bot: str, session: str, journal: Sequence[Fill], statement: Statement,
              book: Book, others: Sequence[Book] = (),
              known_bots: Iterable[str] = (), others_fills: Sequence[Fill] = ()
              ) -> dict[str, Any]:
    """The report of `bot`'s session `session` (YYYY-MM-DD); see the module docstring.

    journal: the bot's fills (any sessions: the session's are picked by order id); book: the
    bot's book after the session; others, others_fills: the books and fills of the other
    bots on the account (positions and what explains a difference are the account's);
    known_bots: every bot name whose order ids are Aion's.
    """
    key = session.replace("-", "")
    own = [f for f in journal if in_session(f.order_id, bot, key)]
    orders = compare_orders(bot, key, own, statement, known_bots)
    positions = None
    if statement.positions is not None:
        positions = compare_positions(expected_positions(book, others), statement.positions,
                                      unbooked_moves(statement, [*journal, *others_fills]))
    cash = cash_check(own, orders)
    found = issues(orders, positions, cash)
    summary = {k: len(v) for k, v in orders.items()}
    summary["positions_differ"] = None if positions is None else len(positions)
    return {"schema": 1, "bot": bot, "session": session, **orders,
            "positions": positions, "cash": cash, "issues": found, "summary": summary,
            "status": "differs" if found else "ok"}
