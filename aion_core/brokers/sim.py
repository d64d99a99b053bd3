"""SimBroker: fills at a given price (the next open, or the decision price) with slippage
against us and fees on notional, so simulated PnL is never flattered.

Idempotent like a real broker: an `order_id` it has seen returns its first fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from aion_core.bots.ledger import PRICE_DP, Book, Fill, Order
from aion_core.errors import RefusedError
from aion_core.knobs.schema import BotKnobs


class SimulatedRun(Protocol):
    """What a desk run (SwingSession, IntradayCycle) tells the simulator."""

    @property
    def fill_prices(self) -> Mapping[str, float]: ...

    @property
    def fill_ts(self) -> str: ...


class SimBroker:
    """A simulated broker for one session.

    prices: symbol -> fill price before costs (the session's open, or the decision price
      when the open is not known yet); ts: the fill time written on every fill.
    """

    name = "sim"

    def __init__(self, prices: Mapping[str, float], ts: str, slippage_bps: float = 0.0,
                 fee_bps: float = 0.0, cash: float = 0.0) -> None:
        self._prices = prices
        self._ts = ts
        self._slip = slippage_bps / 1e4
        self._fee = fee_bps / 1e4
        self._book = Book(cash)
        self._seen: dict[str, Fill] = {}

    @classmethod
    def for_run(cls, run: SimulatedRun, knobs: BotKnobs) -> SimBroker:
        """The broker of one desk run, at its fill prices, with the bot's cost knobs."""
        return cls(run.fill_prices, run.fill_ts, knobs.slippage_bps, knobs.fee_bps)

    def submit(self, order: Order) -> Fill:
        if order.order_id in self._seen:
            return self._seen[order.order_id]
        base = self._prices.get(order.symbol)
        if base is None or not base > 0:
            raise RefusedError(f"no price for {order.symbol}: order {order.order_id} not filled")
        direction = 1 if order.side == "buy" else -1
        price = round(float(base) * (1 + direction * self._slip), PRICE_DP)
        fees = round(order.qty * price * self._fee, PRICE_DP)
        fill = Fill(ts=self._ts, bot="", symbol=order.symbol, side=order.side, qty=order.qty,
                    price=price, fees=fees, reason=order.reason, order_id=order.order_id)
        self._book.apply(fill)
        self._seen[order.order_id] = fill
        return fill

    def positions(self) -> dict[str, float]:
        return {s: p["qty"] for s, p in self._book.positions.items()}

    def account(self) -> dict[str, float]:
        return {"cash": self._book.cash, "equity": self._book.equity}
