"""SimBroker: slippage against us, fees on notional, idempotent by order id."""

from __future__ import annotations

import pytest

from aion_core.bots.ledger import Order
from aion_core.brokers.sim import SimBroker
from aion_core.errors import RefusedError


def test_slippage_is_against_us_and_fees_are_on_notional():
    broker = SimBroker({"A": 100.0}, "2024-01-02T14:30:00+00:00", slippage_bps=10,
                       fee_bps=5, cash=10_000.0)
    buy = broker.submit(Order("A", "buy", 10, "entry", 99.0, "id-buy"))
    sell = broker.submit(Order("A", "sell", 10, "horizon", 99.0, "id-sell"))
    assert buy.price == pytest.approx(100.1) and sell.price == pytest.approx(99.9)
    assert buy.fees == pytest.approx(10 * 100.1 * 5e-4)
    assert broker.positions() == {}
    assert broker.account()["cash"] == pytest.approx(10_000 - 10 * 0.2 - buy.fees - sell.fees)


def test_same_order_id_fills_once():
    broker = SimBroker({"A": 50.0}, "t", cash=1_000.0)
    order = Order("A", "buy", 3, "entry", 50.0, "same")
    assert broker.submit(order) == broker.submit(order)
    assert broker.positions() == {"A": 3}


def test_no_price_is_refused():
    with pytest.raises(RefusedError, match="no price"):
        SimBroker({}, "t").submit(Order("Z", "buy", 1, "entry", 1.0, "z"))
