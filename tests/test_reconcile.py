"""aion_core.bots.reconcile on plain constructed inputs: every kind of difference, one at a
time, and a session where everything agrees."""

from __future__ import annotations

import copy

import pytest

from aion_core.bots.ledger import Book, Fill
from aion_core.bots.reconcile import (
    BrokerFill,
    BrokerOrder,
    BrokerPosition,
    Statement,
    bp,
    parse_order_id,
    reconcile,
    split_ratio,
)

BOT, DAY, KEY = "swing_1w", "2026-11-19", "20261119"
BOTS = ("swing_1w", "swing_2w", "swing_4w", "dt")


def oid(symbol: str, side: str = "buy", bot: str = BOT, key: str = KEY) -> str:
    return f"{bot}-{key}-{symbol}-{side}"


def fill(symbol: str, qty: float, price: float, side: str = "buy", fees: float = 0.0,
         order_id: str | None = None) -> Fill:
    return Fill(ts=f"{DAY}T14:30:00+00:00", bot=BOT, symbol=symbol, side=side, qty=qty,
                price=price, fees=fees, reason="entry",
                order_id=order_id or oid(symbol, side), session=DAY)


def order(symbol: str, qty: float, filled: float, price: float | None, status: str = "filled",
          side: str = "buy", cid: str | None = None) -> BrokerOrder:
    cid = cid or oid(symbol, side)
    return BrokerOrder(cid, f"b-{cid}", symbol, side, qty, filled, price, status,
                       f"{DAY}T14:00:00Z")


def execution(o: BrokerOrder, qty: float | None = None, price: float | None = None,
              n: int = 1) -> BrokerFill:
    return BrokerFill(f"a{n}-{o.broker_id}", o.broker_id, o.symbol, o.side,
                      o.filled_qty if qty is None else qty,
                      o.filled_avg_price if price is None else price, f"{DAY}T14:30:01Z")


def book_of(*fills: Fill, cash: float = 100_000.0) -> Book:
    return Book.from_fills(cash, fills)


def statement(orders, positions=None, fills=None):
    return Statement(tuple(orders), tuple(fills if fills is not None else
                                          [execution(o) for o in orders if o.filled_qty]),
                     positions)


def held(**qty_price) -> dict[str, BrokerPosition]:
    return {s: BrokerPosition(s, q, p) for s, (q, p) in qty_price.items()}


def run(journal, stmt, book=None, others=()):
    return reconcile(BOT, DAY, journal, stmt, book or book_of(*journal), others, BOTS)


def test_a_session_where_everything_agrees_reports_ok():
    journal = [fill("AAA", 10, 100.0), fill("BBB", 5, 50.0)]
    stmt = statement([order("AAA", 10, 10, 100.0), order("BBB", 5, 5, 50.0)],
                     held(AAA=(10, 100.0), BBB=(5, 50.0)))
    report = run(journal, stmt)
    assert report["status"] == "ok" and report["issues"] == []
    assert [m["order_id"] for m in report["matched"]] == [oid("AAA"), oid("BBB")]
    assert all(m["qty_diff"] == 0 and m["price_diff_bp"] == 0 for m in report["matched"])
    assert report["positions"] == [] and report["cash"]["beyond_fees"] == 0


def test_matched_fill_with_a_price_and_quantity_difference_in_bp():
    journal = [fill("AAA", 10, 100.0)]
    o = order("AAA", 10, 10, 100.3)
    report = run(journal, statement([o]))
    m = report["matched"][0]
    assert m["price_diff_bp"] == pytest.approx(30.0) and m["qty_diff"] == 0
    assert report["cash"]["beyond_fees"] == pytest.approx(-3.0)  # paid 3 more for 10 shares
    assert {i["kind"] for i in report["issues"]} == {"differs", "cash"}


def test_the_broker_price_is_the_vwap_of_its_executions():
    o = order("AAA", 10, 10, 101.0)
    fills = [execution(o, 4, 100.0, 1), execution(o, 6, 101.0, 2)]
    report = run([fill("AAA", 10, 100.6)], statement([o], fills=fills))
    assert report["matched"][0]["broker_price"] == pytest.approx(100.6)
    assert report["issues"] == []


def test_an_order_placed_by_hand_is_only_at_the_broker():
    by_hand = order("XOM", 5, 5, 110.0, cid="3f1c2a6e-0d7b-4f8e-9a55-8f2b0e7c1d22")
    report = run([], statement([by_hand], held(XOM=(5, 110.0))))
    row = report["only_at_broker"][0]
    assert (row["order_id"], row["placed_by"], row["filled_qty"]) == (
        by_hand.client_order_id, "outside", 5)
    position = report["positions"][0]
    assert position["explained_by"] == [by_hand.client_order_id]
    assert [i["kind"] for i in report["issues"]] == ["only_at_broker", "position"]


def test_an_aion_order_the_journal_lacks_is_only_at_the_broker_placed_by_aion():
    report = run([], statement([order("AAA", 10, 10, 100.0)]))
    assert report["only_at_broker"][0]["placed_by"] == "aion"
    assert report["cash"]["unbooked"] == -1000.0 and report["cash"]["beyond_fees"] == 0


def test_other_bots_and_other_sessions_orders_are_not_this_reports():
    theirs = order("AAA", 10, 10, 100.0, cid=oid("AAA", bot="swing_2w"))
    earlier = order("BBB", 10, 10, 100.0, cid=oid("BBB", key="20261118"))
    report = run([], statement([theirs, earlier]))
    assert report["issues"] == [] and report["summary"]["only_at_broker"] == 0


def test_a_fill_only_in_the_journal():
    report = run([fill("AAA", 10, 100.0)], statement([]))
    assert report["only_in_journal"][0]["order_id"] == oid("AAA")
    assert report["issues"][0]["kind"] == "only_in_journal"


def test_partial_fill_of_a_canceled_day_order():
    o = order("AAA", 100, 40, 100.0, status="canceled")
    report = run([], statement([o], held(AAA=(40, 100.0))))
    part = report["partial"][0]
    assert (part["ordered"], part["broker_filled"], part["journal_qty"]) == (100, 40, 0.0)
    assert report["positions"][0]["explained_by"] == [oid("AAA")]
    assert report["cash"]["unbooked"] == -4000.0 and report["cash"]["broker"] == 0


def test_a_partial_fill_the_journal_booked_in_part_is_both_partial_and_matched():
    o = order("AAA", 100, 40, 100.0, status="partially_filled")
    report = run([fill("AAA", 40, 100.0)], statement([o], held(AAA=(40, 100.0))))
    assert report["partial"][0]["journal_qty"] == 40 and report["matched"][0]["qty_diff"] == 0
    assert report["positions"] == []


def test_rejected_canceled_and_open_orders():
    orders = [order("AAA", 10, 0, None, status="rejected"),
              order("BBB", 10, 0, None, status="canceled"),
              order("CCC", 10, 0, None, status="accepted")]
    report = run([], statement(orders))
    assert [r["status"] for r in report["rejected_or_cancelled"]] == ["rejected", "canceled"]
    assert report["open"][0]["symbol"] == "CCC"
    assert {i["kind"] for i in report["issues"]} == {"rejected_or_cancelled"}


def test_a_position_changed_by_hand_differs_and_is_unexplained():
    journal = [fill("AAA", 10, 100.0)]
    report = run(journal, statement([order("AAA", 10, 10, 100.0)], held(AAA=(7, 100.0))))
    (p,) = report["positions"]
    assert (p["journal_qty"], p["broker_qty"], p["kind"], p["explained_by"]) == (
        10, 7, "quantity", [])


def test_a_two_for_one_split_on_a_held_name_is_named():
    journal = [fill("AAA", 10, 100.0, order_id=oid("AAA", key="20261110"))]
    report = run(journal, statement([], held(AAA=(20, 50.0))))
    assert report["positions"][0]["kind"] == "split 2:1"
    assert split_ratio((10, 100.0), BrokerPosition("AAA", 5, 200.0)) == "1:2"
    assert split_ratio((10, 100.0), BrokerPosition("AAA", 20, 80.0)) is None  # not a split


def test_the_account_is_shared_positions_add_up_over_bots():
    mine = book_of(fill("AAA", 10, 100.0))
    other = Book.from_fills(100_000.0, [fill("AAA", 5, 104.0, order_id=oid("AAA",
                                                                          bot="swing_2w"))])
    stmt = statement([order("AAA", 10, 10, 100.0)], held(AAA=(15, 101.3333)))
    report = run([fill("AAA", 10, 100.0)], stmt, mine, [other])
    assert report["positions"] == []


def test_fees_explain_their_part_of_the_cash_difference():
    journal = [fill("AAA", 10, 100.0, fees=0.5)]
    report = run(journal, statement([order("AAA", 10, 10, 100.0)]))
    cash = report["cash"]
    assert (cash["difference"], cash["journal_fees"], cash["beyond_fees"]) == (0.5, 0.5, 0.0)


def test_positions_are_not_compared_for_an_earlier_session():
    report = run([fill("AAA", 10, 100.0)], statement([order("AAA", 10, 10, 100.0)]))
    assert report["positions"] is None and report["summary"]["positions_differ"] is None


def test_it_changes_nothing_it_is_given():
    journal = [fill("AAA", 10, 100.0)]
    stmt = statement([order("AAA", 10, 10, 100.3)], held(AAA=(10, 100.3)))
    book = book_of(*journal)
    before = (copy.deepcopy(journal), copy.deepcopy(stmt), copy.deepcopy(book))
    assert run(journal, stmt, book) == run(journal, stmt, book)
    assert (journal, stmt, book) == before


def test_order_ids_and_bp():
    assert parse_order_id("swing_1w-20261119M20261120T1030-BRK.B-sell") == {
        "bot": "swing_1w", "key": "20261119M20261120T1030", "symbol": "BRK.B", "side": "sell"}
    assert parse_order_id("3f1c2a6e-0d7b-4f8e-9a55-8f2b0e7c1d22") is None
    assert bp(100.3, 100.0, "buy") == pytest.approx(30.0)
    assert bp(99.7, 100.0, "sell") == pytest.approx(30.0)


def test_a_difference_explained_by_another_bots_unbooked_fill_is_explained_in_each_report():
    theirs = order("AAA", 100, 40, 100.0, status="canceled", cid=oid("AAA", bot="swing_2w"))
    stmt = statement([theirs], held(AAA=(40, 100.0)))
    report = reconcile(BOT, DAY, [], stmt, book_of(), (), BOTS)
    assert report["positions"][0]["explained_by"] == [theirs.client_order_id]
    assert report["summary"]["partial"] == 0  # the partial fill is the other bot's to name
    booked = Fill(f"{DAY}T14:30:00Z", "swing_2w", "AAA", "buy", 40, 100.0, 0.0, "entry",
                  theirs.client_order_id, session=DAY)
    other = Book.from_fills(100_000.0, [booked])
    report = reconcile(BOT, DAY, [], stmt, book_of(), [other], BOTS, others_fills=[booked])
    assert report["positions"] == []
