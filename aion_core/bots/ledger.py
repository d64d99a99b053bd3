"""The books of a bot: orders, fills, and the positions and cash that follow from them.

The trade log is the truth; a bot's state file is a cache of it. Everything here is
horizon-agnostic (a bot name, a state dict, fills), so the swing bots and the intraday bot
share it: `Book.from_fills(initial_cash, fills)` rebuilds positions and cash from a log
exactly as the live run built them, which is how a run that died between a fill and the
state write is recovered.

Accounting (long and short): a position's `avg_price` is its cost basis per share *with
entry fees*, so realized plus unrealized PnL adds up to the equity change to the cent.
Cash moves by `-qty*price - fees` on a buy and `+qty*price - fees` on a sell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any, Literal, Protocol

import pandas as pd

Side = Literal["buy", "sell"]
PRICE_DP = 4  # fill prices and fees are rounded so that a JSON round trip is exact


@dataclass(frozen=True)
class Order:
    """An instruction to trade `qty` shares (always positive; `side` gives the direction).

    `ref_price` is the price the decision was made on (sizing, risk caps); the fill price is
    the broker's. `order_id` is deterministic (see `order_id`) so a retry finds the earlier
    order instead of placing another.
    """

    symbol: str
    side: Side
    qty: int
    reason: str
    ref_price: float
    order_id: str = ""


@dataclass(frozen=True)
class Fill:
    """One executed order: a trade log line (CONTRACT.md) plus the `session` it belongs to and,
    for a fill a real broker made, the `broker` (what `aion reconcile` checks it against)."""

    ts: str
    bot: str
    symbol: str
    side: Side
    qty: float
    price: float
    fees: float
    reason: str
    order_id: str
    realized_pnl: float = 0.0
    session: str = ""
    broker: str = ""  # "alpaca" for a fill a real broker made; empty for a simulated one

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        if not record["broker"]:  # a simulated fill's line stays as it always was
            del record["broker"]
        return record

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> Fill:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in rec.items() if k in names})

    @property
    def signed_qty(self) -> float:
        return self.qty if self.side == "buy" else -self.qty


def session_key(session: date | pd.Timestamp | str) -> str:
    """`YYYYMMDD` of a session: the part of an order id that names the run."""
    return pd.Timestamp(session).strftime("%Y%m%d")


def order_id(bot: str, key: str, symbol: str, side: Side) -> str:
    """Deterministic id of the order `bot` places for `symbol`/`side` in run `key`.

    The same run always produces the same id, so a crashed or retried run is recognised in
    the log (never re-filled) and by the broker (duplicate client_order_id).
    """
    return f"{bot}-{key}-{symbol}-{side}"


@dataclass
class Book:
    """Cash and positions (`{symbol: {qty, avg_price, entry_date, last_price}}`, qty signed)."""

    cash: float
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Book:
        return cls(float(state["cash"]), {s: dict(p) for s, p in state["positions"].items()})

    @classmethod
    def from_fills(cls, initial_cash: float, fills: Iterable[Fill]) -> Book:
        """The book a log of fills leads to, applied in log order."""
        book = cls(float(initial_cash))
        for f in fills:
            book.apply(f)
        return book

    def apply(self, fill: Fill) -> float:
        """Book `fill`; returns its realized PnL (net of all fees of the shares closed)."""
        qty = fill.signed_qty
        gross = fill.qty * fill.price
        self.cash += -gross - fill.fees if qty > 0 else gross - fill.fees
        net_price = fill.price + fill.fees / fill.qty * (1 if qty > 0 else -1)
        pos = self.positions.get(fill.symbol)
        held = pos["qty"] if pos else 0
        realized = 0.0
        if held and (held > 0) != (qty > 0):  # reduces (or flips) the position
            closed = min(abs(qty), abs(held))
            sign = 1 if held > 0 else -1
            realized = sign * (net_price - pos["avg_price"]) * closed
            held += closed * (1 if qty > 0 else -1)
            qty -= closed * (1 if qty > 0 else -1)
            if held == 0:
                del self.positions[fill.symbol]
                pos = None
            else:
                pos["qty"] = held
        if qty:
            if pos is None:
                pos = self.positions[fill.symbol] = {
                    "qty": 0, "avg_price": 0.0, "entry_date": fill.session or fill.ts[:10],
                    "last_price": fill.price}
            new_qty = pos["qty"] + qty
            pos["avg_price"] = (pos["avg_price"] * pos["qty"] + net_price * qty) / new_qty
            pos["qty"] = new_qty
        if fill.symbol in self.positions:
            self.positions[fill.symbol]["last_price"] = fill.price
        return realized

    def mark(self, prices: Mapping[str, float]) -> None:
        """Set each position's `last_price` to `prices[symbol]` where one is given."""
        for sym, pos in self.positions.items():
            price = prices.get(sym)
            if price is not None and price == price and price > 0:
                pos["last_price"] = float(price)

    @property
    def market_value(self) -> float:
        return sum(p["qty"] * p["last_price"] for p in self.positions.values())

    @property
    def gross(self) -> float:
        return sum(abs(p["qty"]) * p["last_price"] for p in self.positions.values())

    @property
    def equity(self) -> float:
        return self.cash + self.market_value

    def same_as(self, other: Book, tol: float = 1e-6) -> bool:
        """Equal quantities and cash (within `tol`): does a state agree with its log?"""
        qty = {s: p["qty"] for s, p in self.positions.items()}
        other_qty = {s: p["qty"] for s, p in other.positions.items()}
        return qty == other_qty and abs(self.cash - other.cash) <= tol * max(1.0, abs(self.cash))


def with_realized(fill: Fill, book: Book) -> Fill:
    """Apply `fill` to `book` and return it with its realized PnL filled in."""
    return replace(fill, realized_pnl=round(book.apply(fill), PRICE_DP))


class Submits(Protocol):
    """What execution needs of a broker (aion_core.brokers.base.Broker has it)."""

    def submit(self, order: Order) -> Fill: ...
