"""Books rebuilt from fills: cash, positions, realized PnL and deterministic order ids."""

from __future__ import annotations

import random

import pytest

from aion_core.bots.ledger import Book, Fill, order_id, session_key, with_realized


def fill(symbol, side, qty, price, fees=0.0, session="2024-01-02", oid=None):
    return Fill(ts=session, bot="b", symbol=symbol, side=side, qty=qty, price=price, fees=fees,
                reason="t", order_id=oid or f"{symbol}{side}{session}", session=session)


def test_round_trip_long_realizes_net_of_all_fees():
    book = Book(1000.0)
    with_realized(fill("A", "buy", 10, 20.0, fees=1.0), book)
    assert book.positions["A"]["qty"] == 10
    assert book.positions["A"]["avg_price"] == pytest.approx(20.1)
    sold = with_realized(fill("A", "sell", 10, 25.0, fees=2.0, session="2024-01-03"), book)
    assert "A" not in book.positions
    assert sold.realized_pnl == pytest.approx(50.0 - 3.0)
    assert book.cash == pytest.approx(1000.0 + sold.realized_pnl)


def test_short_then_cover_realizes_the_fall():
    book = Book(1000.0)
    book.apply(fill("S", "sell", 5, 100.0))
    assert book.positions["S"]["qty"] == -5
    pnl = book.apply(fill("S", "buy", 5, 90.0, session="2024-01-05"))
    assert pnl == pytest.approx(50.0)
    assert book.cash == pytest.approx(1050.0) and not book.positions


def test_flip_through_zero_splits_close_and_open():
    book = Book(0.0)
    book.apply(fill("A", "buy", 3, 10.0))
    pnl = book.apply(fill("A", "sell", 5, 12.0, session="2024-01-03"))
    assert pnl == pytest.approx(6.0)
    assert book.positions["A"]["qty"] == -2
    assert book.positions["A"]["avg_price"] == pytest.approx(12.0)
    assert book.positions["A"]["entry_date"] == "2024-01-03"


def test_random_fills_cash_identity_and_equity_equals_realized_plus_unrealized():
    rng = random.Random(3)
    book, fills = Book(10_000.0), []
    for i in range(300):
        f = fill(rng.choice("ABC"), rng.choice(["buy", "sell"]), rng.randint(1, 9),
                 round(rng.uniform(5, 50), 4), round(rng.uniform(0, 1), 4), oid=str(i))
        fills.append(with_realized(f, book))
    expected_cash = 10_000.0 + sum((f.qty * f.price) * (-1 if f.side == "buy" else 1) - f.fees
                                   for f in fills)
    assert book.cash == pytest.approx(expected_cash)
    for sym in "ABC":
        net = sum(f.signed_qty for f in fills if f.symbol == sym)
        assert book.positions.get(sym, {"qty": 0})["qty"] == net
    prices = {s: 30.0 for s in "ABC"}
    book.mark(prices)
    unrealized = sum(p["qty"] * (30.0 - p["avg_price"]) for p in book.positions.values())
    realized = sum(f.realized_pnl for f in fills)
    assert book.equity - 10_000.0 == pytest.approx(realized + unrealized, abs=0.01)
    rebuilt = Book.from_fills(10_000.0, [Fill.from_record(f.to_record()) for f in fills])
    assert rebuilt.same_as(book)


def test_order_id_is_deterministic_and_distinct():
    key = session_key("2024-03-05")
    assert key == "20240305"
    assert order_id("swing_1w", key, "AAPL", "buy") == order_id("swing_1w", key, "AAPL", "buy")
    ids = {order_id(b, key, s, side) for b in ("swing_1w", "swing_2w") for s in ("A", "B")
           for side in ("buy", "sell")}
    assert len(ids) == 8


def test_execute_orders_sends_only_what_the_log_lacks():
    """A retried plan: one order already logged (booked, not re-sent), one refused (noted),
    one new (sent and recorded), and a logged fill the new plan no longer has (still booked)."""
    from aion_core.bots.desk import Execution, execute_orders
    from aion_core.bots.ledger import Order
    from aion_core.brokers.sim import SimBroker
    from aion_core.errors import RefusedError

    day = "2024-01-02"
    ids = {s: order_id("swing_1w", session_key(day), s, "buy") for s in ("AAA", "BBB", "CCC",
                                                                           "DDD")}
    plan = [Order(s, "buy", 10, "entry", 10.0, ids[s]) for s in ("AAA", "BBB", "CCC")]
    logged = {ids["AAA"]: fill("AAA", "buy", 10, 10.0, oid=ids["AAA"], session=day),
              ids["DDD"]: fill("DDD", "buy", 5, 20.0, oid=ids["DDD"], session=day)}

    class Broker(SimBroker):
        sent: list[str] = []

        def submit(self, order):
            self.sent.append(order.symbol)
            if order.symbol == "BBB":
                raise RefusedError("BBB: over the cap")
            return super().submit(order)

    recorded: list[Fill] = []
    book = Book(cash=1_000.0)
    to = Execution(Broker({"BBB": 10.0, "CCC": 10.0}, day), book, "swing_1w", day,
                   recorded.append)
    done, notes = execute_orders(plan, logged, to)
    assert Broker.sent == ["BBB", "CCC"]
    assert [f.symbol for f in recorded] == ["CCC"] and recorded[0].session == day
    assert sorted(f.symbol for f in done) == ["AAA", "CCC", "DDD"]
    assert any("BBB" in n for n in notes) and any(ids["DDD"] in n for n in notes)
    assert book.cash == pytest.approx(1_000.0 - 100.0 - 100.0 - 100.0)
