"""AlpacaBroker: orders through alpaca-py's TradingClient, paper unless told otherwise twice.

Safety rules, each tested against a fake server:
- live trading needs BOTH `ALPACA_PAPER=false` and `--broker alpaca-live`; anything else that
  asks for live is refused (RefusedError) before a client exists;
- every order carries the deterministic `client_order_id` of its run, so a retried run that
  meets "client_order_id must be unique" fetches the earlier order instead of placing another;
- 429 and 5xx answers are retried with exponential backoff (the sleep is injectable);
- every call waits at most a time limit (retry.HTTP_TIMEOUT_S): a server that accepts an order
  and never answers times out, the retry sends the same `client_order_id` again and the
  duplicate answer leads to the order already placed, so a stall neither hangs a run nor
  doubles an order;
- an order whose notional exceeds the cap is refused, not shrunk.

ALPACA_BASE_URL (Settings.alpaca_url) points the client at another Alpaca-compatible endpoint;
the two live switches above apply whatever the URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, MarketOrderRequest
from pydantic import ValidationError
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import Timeout as RequestsTimeout

from aion_core.bots.ledger import Fill, Order
from aion_core.bots.reconcile import BrokerFill, BrokerOrder, BrokerPosition, Statement
from aion_core.config import Settings
from aion_core.errors import ConfigurationError, DataError, RefusedError, TemporaryError
from aion_core.retry import Backoff, http_timeout, time_limited, with_retry

DEFAULT_NOTIONAL_CAP = 25_000.0
DUPLICATE_ID = "client_order_id must be unique"
DONE = {OrderStatus.FILLED}
DEAD = {OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED, OrderStatus.SUSPENDED}
ORDERS_PAGE = 500  # Alpaca's largest page of orders
FILLS_PAGE = 100  # ... and of account activities
MAX_PAGES = 200  # a server that pages forever is a fault, not a long day


def use_paper(settings: Settings, broker: str) -> bool:
    """True for paper trading; live only when both switches say so, else refused."""
    if broker == "alpaca-paper":
        return True
    if broker != "alpaca-live":
        raise RefusedError(f"unknown Alpaca broker {broker!r}: use alpaca-paper or alpaca-live")
    if settings.alpaca_paper:
        raise RefusedError("live trading refused: --broker alpaca-live also needs "
                           "ALPACA_PAPER=false in .env or the environment")
    return False


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, RequestsConnectionError):
        return True
    status = exc.status_code if isinstance(exc, APIError) else None
    return status is not None and (status == 429 or status >= 500)


class AlpacaBroker:
    """Broker over an alpaca-py `TradingClient` (injected: tests point it at a fake server).

    `timeout_s` shortens the read time limit (tests); None keeps retry.HTTP_TIMEOUT_S. One
    call with its retries ends within about attempts x (connect + read) plus the backoff.
    """

    name = "alpaca"

    def __init__(self, client: TradingClient, notional_cap: float = DEFAULT_NOTIONAL_CAP,
                 sleep: Callable[[float], None] = time.sleep, attempts: int = 5,
                 backoff_s: float = 1.0, fill_polls: int = 10,
                 timeout_s: float | None = None) -> None:
        self._timeout = http_timeout(timeout_s)
        # alpaca-py has no timeout option; its requests.Session is where one can be set.
        time_limited(client._session, self._timeout)
        self._client = client
        self._cap = notional_cap
        self._sleep = sleep
        self._backoff = backoff_s
        self._retry = Backoff(attempts=attempts, base_s=backoff_s, sleep=sleep)
        self._polls = fill_polls

    @classmethod
    def from_settings(cls, settings: Settings, broker: str, url_override: str | None = None,
                      **kwargs: Any) -> AlpacaBroker:
        paper = use_paper(settings, broker)
        settings.require("alpaca_api_key", "alpaca_secret_key")
        client = TradingClient(settings.alpaca_api_key, settings.alpaca_secret_key, paper=paper,
                               url_override=url_override or settings.alpaca_url)
        kwargs.setdefault("notional_cap", settings.alpaca_max_order_notional)
        return cls(client, **kwargs)

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)`, retrying rate limits, server errors, dropped connections and silence."""
        def once() -> Any:
            try:
                return fn(*args)
            except RequestsTimeout as exc:  # first: a ConnectTimeout is a ConnectionError too
                connect, read = self._timeout
                raise TemporaryError(f"no answer within the time limit ({connect:g} s to "
                                     f"connect, {read:g} s to answer)") from exc
            except (APIError, RequestsConnectionError) as exc:
                if _retryable(exc):
                    raise TemporaryError(str(exc)) from exc
                raise

        return with_retry(once, self._retry, "Alpaca")

    def _place(self, order: Order) -> Any:
        request = MarketOrderRequest(
            symbol=order.symbol, qty=order.qty, time_in_force=TimeInForce.DAY,
            side=OrderSide.BUY if order.side == "buy" else OrderSide.SELL,
            client_order_id=order.order_id)
        try:
            return self._call(self._client.submit_order, request)
        except APIError as exc:
            if DUPLICATE_ID not in str(exc):
                raise
            # A retried run: the order exists already; take it instead of placing another.
            return self._call(self._client.get_order_by_client_id, order.order_id)

    def submit(self, order: Order) -> Fill:
        """Place (or find) `order` and wait for its fill; unfilled -> TemporaryError."""
        notional = order.qty * order.ref_price
        if notional > self._cap:
            raise RefusedError(f"order {order.order_id}: notional {notional:,.0f} is over the "
                               f"per-order cap {self._cap:,.0f}")
        placed = self._place(order)
        for poll in range(self._polls):
            filled = float(placed.filled_qty or 0)
            # An order that ended with part of it filled is a fill of that part: the shares
            # were bought, and a journal without them would differ from the broker for good.
            if placed.status in DONE or (placed.status in DEAD and filled > 0):
                at = placed.filled_at or placed.updated_at or placed.canceled_at
                return Fill(ts=at.isoformat(), bot="", symbol=order.symbol, side=order.side,
                            qty=filled, price=float(placed.filled_avg_price), fees=0.0,
                            reason=order.reason, order_id=order.order_id, broker=self.name)
            if placed.status in DEAD:
                raise RefusedError(f"order {order.order_id} ended {placed.status.value} "
                                   "at the broker")
            self._sleep(self._backoff * min(2 ** poll, 30))
            placed = self._call(self._client.get_order_by_client_id, order.order_id)
        raise TemporaryError(f"order {order.order_id} is placed but not filled yet; run again "
                             "later and its fill will be logged")

    def positions(self) -> dict[str, float]:
        return {p.symbol: float(p.qty) for p in self._call(self._client.get_all_positions)}

    def account(self) -> dict[str, float]:
        acct = self._call(self._client.get_account)
        return {"cash": float(acct.cash), "equity": float(acct.equity)}

    # ----------------------------------------------------------------- what reconcile reads

    def statement(self, start: datetime, end: datetime, positions: bool = True) -> Statement:
        """The account's orders submitted in [start, end) (Aion's and any other), its FILL
        activities in the same window and, with `positions`, its positions now, as
        aion_core.bots.reconcile reads them. Read only; TemporaryError when Alpaca stays
        down or silent through the retries, DataError when an answer does not parse."""
        orders = self.orders(start, end)
        fills = self.fills(start, end)
        held = self.position_details() if positions else None
        return Statement(tuple(orders), tuple(fills), held)

    def orders(self, start: datetime, end: datetime) -> list[BrokerOrder]:
        """Every order submitted in [start, end), oldest first, page after page."""
        found: dict[str, BrokerOrder] = {}
        after = start - timedelta(microseconds=1)  # Alpaca's `after` is exclusive
        for _ in range(MAX_PAGES):
            request = GetOrdersRequest(status=QueryOrderStatus.ALL, after=after, until=end,
                                       direction=Sort.ASC, limit=ORDERS_PAGE, nested=False)
            page = self._parsed("orders", self._client.get_orders, request)
            before = len(found)
            for o in page:
                found[str(o.id)] = _order(o)
            if len(page) < ORDERS_PAGE:
                return sorted(found.values(), key=lambda o: (o.submitted_at, o.broker_id))
            if len(found) == before:
                raise DataError(f"Alpaca orders: more than {ORDERS_PAGE} submitted at "
                                f"{after.isoformat()}; they cannot be paged")
            # The next page starts at the last one's time, again: orders submitted in the
            # same microsecond as the page's last are read twice (and kept once), not lost.
            after = max(o.submitted_at for o in page) - timedelta(microseconds=1)
        raise DataError(f"Alpaca orders: more than {MAX_PAGES} pages; narrow the window")

    def fills(self, start: datetime, end: datetime) -> list[BrokerFill]:
        """The FILL account activities (one per execution) in [start, end), oldest first."""
        params: dict[str, Any] = {"after": start.isoformat(), "until": end.isoformat(),
                                  "direction": "asc", "page_size": FILLS_PAGE}
        rows: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = self._parsed("FILL activities", self._client.get,
                                "/account/activities/FILL", dict(params))
            if not isinstance(page, list):
                raise DataError("Alpaca FILL activities: the answer is not a list")
            rows += page
            if len(page) < FILLS_PAGE:
                return [_fill(a) for a in rows]
            params["page_token"] = page[-1]["id"]
        raise DataError(f"Alpaca FILL activities: more than {MAX_PAGES} pages")

    def position_details(self) -> dict[str, BrokerPosition]:
        """Each position's signed quantity and average entry price."""
        held = self._parsed("positions", self._client.get_all_positions)
        return {p.symbol: BrokerPosition(p.symbol, float(p.qty), float(p.avg_entry_price))
                for p in held}

    def _parsed(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """`_call`, with an answer that does not parse, or an error answer the retries do not
        cover, a DataError naming `what` (refused keys: ConfigurationError)."""
        try:
            return self._call(fn, *args)
        except APIError as exc:  # what the retries do not cover: refused keys, a bad request
            if exc.status_code in (401, 403):
                raise ConfigurationError(f"Alpaca refused the keys (HTTP {exc.status_code}): "
                                         "check ALPACA_API_KEY / ALPACA_SECRET_KEY") from exc
            raise DataError(f"Alpaca {what}: HTTP {exc.status_code}: {str(exc)[:160]}") from exc
        except (ValidationError, ValueError, KeyError, TypeError) as exc:
            first = str(exc).splitlines()[0][:160]
            raise DataError(f"Alpaca {what}: malformed answer ({first})") from exc


def _order(o: Any) -> BrokerOrder:
    filled = float(o.filled_qty or 0)
    return BrokerOrder(
        client_order_id=o.client_order_id, broker_id=str(o.id), symbol=o.symbol,
        side="buy" if o.side == OrderSide.BUY else "sell",
        qty=float(o.qty) if o.qty is not None else filled, filled_qty=filled,
        filled_avg_price=float(o.filled_avg_price) if o.filled_avg_price else None,
        status=o.status.value if hasattr(o.status, "value") else str(o.status),
        submitted_at=o.submitted_at.isoformat() if o.submitted_at else "")


def _fill(a: dict[str, Any]) -> BrokerFill:
    """One FILL activity in Alpaca's documented shape (prices and quantities as strings)."""
    try:
        side = str(a["side"]).lower()
        return BrokerFill(
            activity_id=str(a["id"]), order_id=str(a["order_id"]), symbol=str(a["symbol"]),
            side="buy" if side == "buy" else "sell", qty=float(a["qty"]),
            price=float(a["price"]), at=str(a["transaction_time"]),
            partial=str(a.get("type", "fill")) == "partial_fill")
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"Alpaca FILL activity {a.get('id') if isinstance(a, dict) else a!r}: "
                        f"malformed ({exc!r})") from exc
