"""What `aion reconcile` reads from Alpaca (AlpacaBroker.statement): orders with their
client_order_id, FILL activities and positions, through the real alpaca-py client against
tests/fake_alpaca.py, and the report the pure reconciliation makes of them."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from alpaca.trading.client import TradingClient
from fake_alpaca import FakeAlpaca
from fake_http import Reply, serving

from aion_core.bots import reconcile as rec
from aion_core.bots.ledger import Book, Fill
from aion_core.brokers import alpaca as alpaca_mod
from aion_core.brokers.alpaca import AlpacaBroker
from aion_core.errors import DataError, TemporaryError

DAY, KEY, BOT = "2026-11-19", "20261119", "swing_1w"
START, END = datetime(2026, 11, 19, 5, tzinfo=UTC), datetime(2026, 11, 20, 5, tzinfo=UTC)
PRICES = {"AAA": 100.0, "BBB": 50.0, "CCC": 20.0, "DDD": 80.0, "EEE": 10.0}


def oid(symbol, side="buy"):
    return f"{BOT}-{KEY}-{symbol}-{side}"


def broker_for(server, **kw):
    client = TradingClient("key", "secret", paper=True, url_override=server.url)
    client._retry_wait = 0
    return AlpacaBroker(client, sleep=lambda s: None, **kw)


def journal_of(alpaca):
    """What the desk would have logged: each whole fill at the broker's price (AlpacaBroker
    books only filled orders; a canceled partial one raised RefusedError)."""
    out = []
    for cid, o in alpaca.orders.items():
        if o["status"] == "filled" and rec.parse_order_id(cid):
            out.append(Fill(o["filled_at"], BOT, o["symbol"], o["side"], float(o["qty"]),
                            float(o["filled_avg_price"]), 0.0, "entry", cid, session=DAY))
    return out


@pytest.fixture
def session():
    """A session with one of each: a fill 30 bp away from the open, a partial fill, a
    rejected order, an order placed by hand, a position changed by hand, a 2:1 split."""
    alpaca = FakeAlpaca(PRICES, DAY)
    alpaca.away["BBB"] = 30
    alpaca.partial["CCC"] = 0.4
    alpaca.reject.add("DDD")
    for sym, qty in (("AAA", 10), ("BBB", 20), ("CCC", 100), ("DDD", 5), ("EEE", 50)):
        alpaca.execute(oid(sym), sym, "buy", qty)
    alpaca.by_hand("XOM", "buy", 5, 110.0)
    alpaca.set_position("EEE", 45)  # 5 shares sold by hand in another app, no order today
    alpaca.held["SPL"] = (10, 60.0)  # held from an earlier session ...
    alpaca.split("SPL", 2)  # ... and split 2:1 overnight
    with serving() as server:
        alpaca.install(server)
        yield alpaca, server


def test_statement_reads_orders_fills_and_positions_in_alpacas_shapes(session):
    alpaca, server = session
    stmt = broker_for(server).statement(START, END)
    by_id = {o.client_order_id: o for o in stmt.orders}
    assert set(by_id) == set(alpaca.orders)
    assert (by_id[oid("CCC")].status, by_id[oid("CCC")].filled_qty) == ("canceled", 40.0)
    assert by_id[oid("DDD")].status == "rejected" and by_id[oid("DDD")].filled_avg_price is None
    partial = [f for f in stmt.fills if f.symbol == "CCC"]
    assert len(partial) == 1 and partial[0].partial and partial[0].qty == 40
    assert stmt.positions["SPL"] == rec.BrokerPosition("SPL", 20.0, 30.0)
    asked = server.requests_to("/v2/orders")[0].query
    assert asked["status"] == ["all"] and asked["direction"] == ["asc"]
    fills_asked = server.requests_to("/v2/account/activities/FILL")[0].query
    assert fills_asked["direction"] == ["asc"] and "after" in fills_asked


def test_the_report_names_each_kind_of_difference(session):
    alpaca, server = session
    stmt = broker_for(server).statement(START, END)
    journal = journal_of(alpaca)
    book = Book.from_fills(100_000.0, [*journal, Fill(
        "2026-11-10T14:30:00Z", BOT, "SPL", "buy", 10, 60.0, 0.0, "entry",
        f"{BOT}-20261110-SPL-buy", session="2026-11-10")])
    report = rec.reconcile(BOT, DAY, journal, stmt, book, known_bots=[BOT])
    by_kind = {}
    for issue in report["issues"]:
        by_kind.setdefault(issue["kind"], set()).add(issue["order_id"] or issue["symbol"])
    hand = next(c for c in alpaca.orders if not rec.parse_order_id(c))
    assert by_kind == {"partial": {oid("CCC")}, "rejected_or_cancelled": {oid("DDD")},
                       "only_at_broker": {hand}, "position": {"CCC", "XOM", "EEE", "SPL"}}
    positions = {p["symbol"]: p for p in report["positions"]}
    assert positions["SPL"]["kind"] == "split 2:1"
    assert positions["EEE"]["explained_by"] == [] and positions["EEE"]["broker_qty"] == 45
    assert positions["XOM"]["explained_by"] == [hand]
    assert positions["CCC"]["explained_by"] == [oid("CCC")]
    away = next(m for m in report["matched"] if m["symbol"] == "BBB")
    assert away["broker_price"] == pytest.approx(50.15) and away["price_diff_bp"] == 0


def test_orders_and_fills_are_read_page_after_page(session, monkeypatch):
    alpaca, server = session
    monkeypatch.setattr(alpaca_mod, "ORDERS_PAGE", 2)
    monkeypatch.setattr(alpaca_mod, "FILLS_PAGE", 2)
    alpaca.page_size_cap = 2
    stmt = broker_for(server).statement(START, END)
    assert len(stmt.orders) == len(alpaca.orders) == 6
    assert len(stmt.fills) == len(alpaca.activities) == 5
    tokens = [r.query.get("page_token") for r in
              server.requests_to("/v2/account/activities/FILL")]
    assert tokens[0] is None and all(tokens[1:])


def test_a_broker_that_goes_silent_mid_statement_is_one_temporary_error():
    alpaca = FakeAlpaca(PRICES, DAY)
    alpaca.execute(oid("AAA"), "AAA", "buy", 10)
    with serving() as server:
        alpaca.install(server)
        server.route("GET", "/v2/account/activities/FILL", Reply.stalled(10.0))
        started = time.monotonic()
        with pytest.raises(TemporaryError) as err:
            broker_for(server, attempts=2, timeout_s=0.3).statement(START, END)
        assert time.monotonic() - started < 5
        assert server.requests_to("/v2/orders")  # it got that far
    assert "\n" not in str(err.value) and "no answer within the time limit" in str(err.value)


def test_a_malformed_activity_is_a_data_error_naming_it():
    with serving() as server:
        server.route("GET", "/v2/account/activities/FILL",
                     Reply.json([{"id": "x1", "activity_type": "FILL", "qty": "1"}]))
        with pytest.raises(DataError, match="FILL activity 'x1'"):
            broker_for(server).fills(START, END)
