"""The shadow book (aion_core.bots.shadow) on constructed sessions: the simulator's fills of
the live orders, the shortfall of each live fill in bp, and the tracking difference."""

from __future__ import annotations

import pytest

from aion_core.bots.ledger import Book, Fill, Order
from aion_core.bots.shadow import (
    SessionMarket,
    ShadowInputs,
    book_doc,
    book_from,
    orders_of,
    shadow_session,
)
from aion_core.brokers.sim import SimBroker

BOT, DAY = "swing_1w", "2026-11-19"
MARKET = SessionMarket(decision={"AAA": 99.0, "BBB": 50.0}, open={"AAA": 100.0, "BBB": 50.0},
                       close={"AAA": 101.0, "BBB": 49.0})


def oid(symbol, side="buy"):
    return f"{BOT}-20261119-{symbol}-{side}"


def live_fill(symbol, qty, price, side="buy"):
    return Fill(f"{DAY}T14:30:00+00:00", BOT, symbol, side, qty, price, 0.0, "entry",
                oid(symbol, side), session=DAY, broker="alpaca")


def simulator(slippage_bps=5.0, fee_bps=1.0):
    return lambda prices: SimBroker(prices, f"{DAY}T14:30:00+00:00", slippage_bps, fee_bps)


def inputs(live, orders, before=None, previous=None, market=MARKET):
    before = before or Book(100_000.0)
    after = Book.from_fills(before.cash, live) if not before.positions else before
    return ShadowInputs(BOT, DAY, orders, live, before, after, market, previous)


def test_each_live_fill_against_the_decision_the_shadow_and_the_open():
    live = [live_fill("AAA", 10, 100.3), live_fill("BBB", 20, 50.0)]
    orders = [Order("AAA", "buy", 10, "entry", 0.0, oid("AAA")),
              Order("BBB", "buy", 20, "entry", 0.0, oid("BBB"))]
    out = shadow_session(inputs(live, orders), simulator())
    rows = {r["symbol"]: r for r in out["fills"]}
    assert rows["AAA"]["shadow_price"] == pytest.approx(100.05)  # the open + 5 bp
    assert rows["AAA"]["vs_open_bp"] == pytest.approx(30.0)
    assert rows["AAA"]["vs_shadow_bp"] == pytest.approx(24.99, abs=0.01)
    assert rows["AAA"]["vs_decision_bp"] == pytest.approx((100.3 / 99 - 1) * 1e4, abs=0.01)
    assert rows["BBB"]["vs_shadow_bp"] == pytest.approx(-5.0, abs=0.01)  # no slippage live
    assert out["fill_prices"] == "open" and out["start"] == DAY and out["notes"] == []


def test_tracking_difference_is_live_equity_against_the_shadows_at_the_same_marks():
    live = [live_fill("AAA", 10, 100.3)]
    orders = [Order("AAA", "buy", 10, "entry", 0.0, oid("AAA"))]
    out = shadow_session(inputs(live, orders), simulator(0.0, 0.0))
    live_equity = 100_000 - 1003.0 + 10 * 101.0
    shadow_equity = 100_000 - 1000.0 + 10 * 101.0
    assert out["live_equity"] == pytest.approx(live_equity)
    assert out["shadow_equity"] == pytest.approx(shadow_equity)
    assert out["tracking_bp"] == pytest.approx((live_equity / shadow_equity - 1) * 1e4, abs=0.01)
    assert out["tracking_day_bp"] == out["tracking_bp"]


def test_the_shadow_fills_the_whole_order_of_a_partial_live_fill():
    live = []  # the broker filled 40 of 100, the journal none
    orders = [Order("AAA", "buy", 100, "", 0.0, oid("AAA"))]
    out = shadow_session(inputs(live, orders), simulator(0.0, 0.0))
    assert out["book"]["positions"]["AAA"]["qty"] == 100 and out["fills"] == []
    assert out["tracking_bp"] == pytest.approx((100_000 / (100_000 + 100) - 1) * 1e4, abs=0.01)


def test_the_shadow_carries_on_from_the_previous_report():
    yesterday = Book(99_000.0, {"AAA": {"qty": 10, "avg_price": 100.0, "last_price": 100.0,
                                        "entry_date": "2026-11-18"}})
    previous = {"start": "2026-11-18", "tracking_bp": -3.0, "book": book_doc(yesterday)}
    sell = Fill(f"{DAY}T14:30:00+00:00", BOT, "AAA", "sell", 10, 100.0, 0.0, "exit",
                oid("AAA", "sell"), session=DAY)
    before = Book(99_000.0, {"AAA": dict(yesterday.positions["AAA"])})
    after = Book.from_fills(0.0, [])
    after.cash = 100_000.0
    out = shadow_session(ShadowInputs(BOT, DAY, [Order("AAA", "sell", 10, "exit", 0.0,
                                                       oid("AAA", "sell"))],
                                      [sell], before, after, MARKET, previous), simulator(0, 0))
    assert out["start"] == "2026-11-18" and out["book"]["positions"] == {}
    assert out["tracking_bp"] == pytest.approx(0.0) and out["tracking_day_bp"] == pytest.approx(3)


def test_without_the_sessions_open_the_shadow_fills_at_the_decision_price():
    market = SessionMarket({"AAA": 99.0}, {}, {})
    out = shadow_session(inputs([live_fill("AAA", 10, 100.0)],
                                [Order("AAA", "buy", 10, "", 0.0, oid("AAA"))], market=market),
                         simulator(0, 0))
    assert out["fill_prices"].startswith("decision")
    assert out["fills"][0]["shadow_price"] == 99.0 and out["fills"][0]["vs_open_bp"] is None


def test_orders_of_a_report_take_the_quantity_ordered():
    report = {"matched": [{"order_id": oid("AAA"), "symbol": "AAA", "side": "buy",
                           "ordered": 10}],
              "partial": [{"order_id": oid("BBB"), "symbol": "BBB", "side": "buy",
                           "ordered": 100}],
              "rejected_or_cancelled": [{"order_id": oid("CCC"), "symbol": "CCC",
                                         "side": "buy", "qty": 5}],
              "open": [], "only_in_journal": [],
              "only_at_broker": [{"order_id": "3f1c", "symbol": "XOM", "side": "buy",
                                  "qty": 5, "placed_by": "outside"}]}
    assert [(o.symbol, o.qty) for o in orders_of(report, [])] == [
        ("AAA", 10), ("BBB", 100), ("CCC", 5)]


def test_a_book_survives_its_report():
    book = Book(1.5, {"AAA": {"qty": 3, "avg_price": 10.123456789, "last_price": 11.0,
                              "entry_date": DAY}})
    again = book_from(book_doc(book))
    assert again.cash == 1.5 and again.positions["AAA"]["qty"] == 3
