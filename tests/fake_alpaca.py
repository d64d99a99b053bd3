"""A paper Alpaca account behind tests/fake_http.py, answering in Alpaca's documented shapes.

The real alpaca-py client (the bots' AlpacaBroker, `aion reconcile`'s reads) is pointed at it
through ALPACA_BASE_URL or `url_override`; only the far end is fake. It keeps what Alpaca
keeps: orders by `client_order_id`, FILL account activities (`/v2/account/activities/FILL`,
paged by `page_token`), positions with their average entry price.

    alpaca = FakeAlpaca(prices={"AAPL": 190.0}, session="2026-11-19")
    alpaca.away["AAPL"] = 30          # fill 30 bp against the order, away from the open
    alpaca.partial["MSFT"] = 0.5      # fill half, then the day order is canceled
    alpaca.reject.add("TSLA")         # rejected: no fill
    alpaca.install(server)
    alpaca.by_hand("XOM", "buy", 5, 110.0)   # an order placed in Alpaca's own app
    alpaca.split("AAPL", 2)                  # a 2:1 split of a held name
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

import pandas as pd
from fake_http import Reply, Request

from aion_core import market_hours

DUPLICATE = Reply.json({"code": 40010001, "message": "client_order_id must be unique"}, 422)
ASSET_ID = "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415"


def _money(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


class FakeAlpaca:
    """One paper account on one session: orders fill at the session's open (`prices`),
    `away[key]` bp against the order's side, `partial[key]` of their quantity, or not at all
    (`reject`); a key is a client_order_id or, for every order of it, a symbol."""

    def __init__(self, prices: Mapping[str, float], session: str) -> None:
        self.open_session(prices, session)
        self.away: dict[str, float] = {}
        self.partial: dict[str, float] = {}
        self.reject: set[str] = set()
        self.orders: dict[str, dict[str, Any]] = {}  # client_order_id -> order
        self.activities: list[dict[str, Any]] = []
        self.held: dict[str, tuple[float, float]] = {}  # symbol -> (qty, avg entry price)
        self.page_size_cap = 100

    def open_session(self, prices: Mapping[str, float], session: str) -> None:
        """Trade `session` from now on, filling at `prices` (the account is kept)."""
        self.prices = dict(prices)
        self.session = session
        self.opened, _ = market_hours.session_open_close(session)

    # ------------------------------------------------------------------ wiring

    def install(self, server: Any) -> None:
        server.route("POST", "/v2/orders", self.post)
        server.route("GET", "/v2/orders", self.list_orders)
        server.route("GET", "/v2/orders:by_client_order_id", self.lookup)
        server.route("GET", "/v2/positions", self.list_positions)
        server.route("GET", "/v2/account/activities/FILL", self.list_fills)

    # ------------------------------------------------------------------ the book

    def _at(self, seconds: float) -> str:
        return (self.opened + pd.Timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _order(self, cid: str, symbol: str, side: str, qty: float) -> dict[str, Any]:
        submitted = self._at(-1800 + len(self.orders))  # a second apart, in order
        return {"id": str(uuid.uuid4()), "client_order_id": cid,
                "created_at": submitted, "updated_at": self._at(1),
                "submitted_at": submitted, "filled_at": None, "expired_at": None,
                "canceled_at": None, "failed_at": None, "asset_id": ASSET_ID,
                "symbol": symbol, "asset_class": "us_equity", "qty": _money(qty),
                "filled_qty": "0", "filled_avg_price": None, "order_class": "simple",
                "order_type": "market", "type": "market", "side": side,
                "time_in_force": "day", "status": "new", "extended_hours": False}

    def _fill(self, order: dict[str, Any], qty: float, price: float, seq: int) -> None:
        """One execution: a FILL activity, the order's filled fields, the position."""
        ordered = float(order["qty"])
        done = float(order["filled_qty"]) + qty
        vwap = ((float(order["filled_avg_price"] or 0) * float(order["filled_qty"]))
                + qty * price) / done
        order.update(filled_qty=_money(done), filled_avg_price=_money(vwap),
                     filled_at=self._at(seq), status="filled" if done >= ordered else
                     "partially_filled")
        when = self._at(seq)
        self.activities.append({
            "id": f"{when[:4]}{when[5:7]}{when[8:10]}{seq:09d}::{uuid.uuid4()}",
            "activity_type": "FILL", "transaction_time": when,
            "type": "fill" if done >= ordered else "partial_fill", "price": _money(price),
            "qty": _money(qty), "side": order["side"], "symbol": order["symbol"],
            "leaves_qty": _money(ordered - done), "order_id": order["id"],
            "cum_qty": _money(done), "order_status": order["status"]})
        signed = qty if order["side"] == "buy" else -qty
        held, avg = self.held.get(order["symbol"], (0.0, 0.0))
        new = held + signed
        if new == 0:
            self.held.pop(order["symbol"], None)
        else:
            grows = held == 0 or (held > 0) == (signed > 0)
            self.held[order["symbol"]] = (new, (avg * held + price * signed) / new if grows
                                          else avg)

    def execute(self, cid: str, symbol: str, side: str, qty: float) -> dict[str, Any]:
        order = self._order(cid, symbol, side, qty)
        self.orders[cid] = order
        if symbol in self.reject:
            order.update(status="rejected", failed_at=self._at(0))
            return order
        away = self.away.get(cid, self.away.get(symbol, 0.0))
        base = self.prices[symbol] * (1 + (1 if side == "buy" else -1) * away / 1e4)
        share = self.partial.get(cid, self.partial.get(symbol))
        if share is None:
            self._fill(order, qty, round(base, 4), len(self.activities) + 1)
        else:
            self._fill(order, math.floor(qty * share), round(base, 4),
                       len(self.activities) + 1)
            order.update(status="canceled", canceled_at=self._at(23000))
        return order

    def by_hand(self, symbol: str, side: str, qty: float, price: float) -> dict[str, Any]:
        """An order placed outside Aion: Alpaca gives it a random client_order_id."""
        self.prices.setdefault(symbol, price)
        return self.execute(str(uuid.uuid4()), symbol, side, qty)

    def split(self, symbol: str, ratio: int) -> None:
        qty, avg = self.held[symbol]
        self.held[symbol] = (qty * ratio, avg / ratio)

    def set_position(self, symbol: str, qty: float) -> None:
        """A position changed by hand (a transfer, a trade in another account view)."""
        _, avg = self.held.get(symbol, (0.0, self.prices.get(symbol, 100.0)))
        self.held[symbol] = (qty, avg)

    # ------------------------------------------------------------------ the endpoints

    def post(self, request: Request) -> Reply:
        body = request.json()
        cid = body["client_order_id"]
        if cid in self.orders:
            return DUPLICATE
        return Reply.json(self.execute(cid, body["symbol"], body["side"], float(body["qty"])))

    def lookup(self, request: Request) -> Reply:
        order = self.orders.get(request.query["client_order_id"][0])
        return Reply.json(order) if order else Reply.json({"message": "order not found"}, 404)

    def list_orders(self, request: Request) -> Reply:
        """Orders submitted after `after` (ascending, `limit` at most 500)."""
        limit = int(request.query.get("limit", ["50"])[0])
        rows = sorted(self.orders.values(), key=lambda o: (o["submitted_at"], o["id"]))
        return Reply.json(_between(rows, "submitted_at", request)[:limit])

    def list_fills(self, request: Request) -> Reply:
        """FILL activities ascending, `page_size` a page, resumed after `page_token`."""
        size = min(int(request.query.get("page_size", ["100"])[0]), self.page_size_cap)
        token = request.query.get("page_token", [""])[0]
        rows = _between(self.activities, "transaction_time", request)
        if token:
            rows = rows[[a["id"] for a in rows].index(token) + 1:]
        return Reply.json(rows[:size])

    def list_positions(self, request: Request) -> Reply:
        out = []
        for sym, (qty, avg) in sorted(self.held.items()):
            price = self.prices.get(sym, avg)
            out.append({"asset_id": ASSET_ID, "symbol": sym, "exchange": "NASDAQ",
                        "asset_class": "us_equity", "avg_entry_price": _money(avg),
                        "qty": _money(qty), "side": "long" if qty > 0 else "short",
                        "market_value": _money(qty * price), "cost_basis": _money(qty * avg),
                        "unrealized_pl": _money(qty * (price - avg)), "unrealized_plpc": "0",
                        "unrealized_intraday_pl": "0", "unrealized_intraday_plpc": "0",
                        "current_price": _money(price), "lastday_price": _money(price),
                        "change_today": "0", "qty_available": _money(qty)})
        return Reply.json(out)


def _between(rows: list[dict[str, Any]], field: str, request: Request) -> list[dict[str, Any]]:
    """The rows whose `field` is after `after` (exclusive) and until `until` (inclusive)."""
    after, until = (request.query.get(k, [""])[0] for k in ("after", "until"))
    return [r for r in rows
            if (not after or pd.Timestamp(r[field]) > pd.Timestamp(after))
            and (not until or pd.Timestamp(r[field]) <= pd.Timestamp(until))]
