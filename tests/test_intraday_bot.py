"""The intraday bot's rules: entries, stops, no late entries, flat before the close."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from aion_core.bots.desk import Plan
from aion_core.bots.desk import run_key as key_of
from aion_core.bots.intraday import IntradayCycle, IntradayPlanner, cycle_key, fresh_state
from aion_core.bots.ledger import Book
from aion_core.knobs.schema import IntradayKnobs, effective_knobs

KEY = "202611201015"
AT = pd.Timestamp("2026-11-20 15:15", tz="UTC")


def plan_cycle(book: Book, predictions: pd.DataFrame, prices: pd.Series, knobs: IntradayKnobs,
               minutes_left: float, key: str, kill_switch: bool = False) -> Plan:
    cycle = IntradayCycle(key, "2026-11-20", AT, minutes_left, predictions, prices)
    return IntradayPlanner(knobs, kill_switch).plan(cycle, book, {})


def close_cycle(state: dict, book: Book, day: str, key: str, at: str, prices: pd.Series,
                plan: Plan, filled: int, notes: list[str]) -> dict:
    cycle = IntradayCycle(key, day, pd.Timestamp(at), 0.0, preds(), prices)
    return IntradayPlanner(effective_knobs(None, "dt")).close(cycle, state, book, plan, filled,
                                                              notes)


@pytest.fixture
def knobs() -> IntradayKnobs:
    return effective_knobs({"dt": {"max_positions": 2, "min_confidence": 0.6}}, "dt")


def preds(**rows: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame({s: {"expected_return": r, "confidence": c} for s, (r, c) in
                         rows.items()}).T.rename_axis("symbol")


def held(sym: str, qty: int, avg: float, cash: float = 50_000.0) -> Book:
    return Book(cash, {sym: {"qty": qty, "avg_price": avg, "entry_date": "2026-11-20",
                             "last_price": avg}})


def test_entries_take_the_best_confident_names_within_slots(knobs: IntradayKnobs) -> None:
    p = preds(AAA=(0.004, 0.7), BBB=(0.006, 0.8), CCC=(0.009, 0.55), DDD=(0.003, 0.9))
    prices = pd.Series({"AAA": 10.0, "BBB": 20.0, "CCC": 30.0, "DDD": 40.0})
    plan = plan_cycle(Book(100_000.0), p, prices, knobs, 200, KEY)
    assert [(o.symbol, o.side) for o in plan.orders] == [("BBB", "buy"), ("AAA", "buy")]
    assert plan.orders[0].order_id == f"dt-{KEY}-BBB-buy"
    # max_alloc (10 % of equity) sets the size: 10,000 USD of a 20 USD name.
    assert plan.orders[0].qty == 500


def test_no_entries_in_the_last_minutes_but_exits_still_run(knobs: IntradayKnobs) -> None:
    p = preds(AAA=(0.01, 0.9), BBB=(-0.002, 0.9))
    prices = pd.Series({"AAA": 10.0, "BBB": 20.0})
    plan = plan_cycle(held("BBB", 100, 20.0), p, prices, knobs,
                      knobs["no_entry_last_minutes"], KEY)
    assert [(o.symbol, o.side, o.reason) for o in plan.orders] == [
        ("BBB", "sell", "signal_faded")]


def test_flat_before_the_close_sells_everything(knobs: IntradayKnobs) -> None:
    book = held("AAA", 100, 10.0)
    book.positions["BBB"] = {"qty": 5, "avg_price": 20.0, "entry_date": "x", "last_price": 20.0}
    p = preds(AAA=(0.01, 0.9), BBB=(0.01, 0.9), CCC=(0.02, 0.99))
    prices = pd.Series({"AAA": 10.5, "BBB": 20.0, "CCC": 5.0})
    plan = plan_cycle(book, p, prices, knobs, knobs["flat_last_minutes"], KEY)
    assert {(o.symbol, o.qty, o.reason) for o in plan.orders} == {
        ("AAA", 100, "flat_before_close"), ("BBB", 5, "flat_before_close")}


def test_stop_loss_and_take_profit(knobs: IntradayKnobs) -> None:
    p = preds(AAA=(0.01, 0.9))
    stop = 10.0 * (1 - knobs["stop_loss"]) - 0.001
    plan = plan_cycle(held("AAA", 100, 10.0), p, pd.Series({"AAA": stop}), knobs, 200, KEY)
    assert [o.reason for o in plan.orders] == ["stop_loss"]
    target = 10.0 * (1 + knobs["take_profit"]) + 0.001
    plan = plan_cycle(held("AAA", 100, 10.0), p, pd.Series({"AAA": target}), knobs, 200, KEY)
    assert [o.reason for o in plan.orders] == ["take_profit"]
    plan = plan_cycle(held("AAA", 100, 10.0), p, pd.Series({"AAA": 10.01}), knobs, 200, KEY)
    assert plan.orders == []


def test_kill_switch_and_disabled_place_nothing(knobs: IntradayKnobs) -> None:
    p = preds(AAA=(0.01, 0.9))
    prices = pd.Series({"AAA": 10.0})
    assert plan_cycle(Book(1e5), p, prices, knobs, 200, KEY, kill_switch=True).orders == []
    off = replace(knobs, enabled=False)
    assert "disabled" in plan_cycle(Book(1e5), p, prices, off, 200, KEY).status


def test_cash_bounds_the_entries(knobs: IntradayKnobs) -> None:
    p = preds(AAA=(0.01, 0.9), BBB=(0.009, 0.9))
    plan = plan_cycle(Book(1_000.0), p, pd.Series({"AAA": 10.0, "BBB": 10.0}), knobs, 200, KEY)
    assert sum(o.qty * o.ref_price for o in plan.orders) <= 1_000.0


def test_cycle_keys_are_new_york_minutes_and_state_closes() -> None:
    at = pd.Timestamp("2026-11-20 15:15", tz="UTC")
    assert cycle_key(at) == "202611201015" and key_of("dt-202611201015-BRK.B-buy") == KEY
    state = fresh_state(1000.0)
    book = held("AAA", 10, 10.0, cash=900.0)
    off = replace(effective_knobs(None, "dt"), enabled=False)
    out = close_cycle(state, book, "2026-11-20", KEY, at.isoformat(), pd.Series({"AAA": 11.0}),
                      plan_cycle(book, preds(), pd.Series(dtype=float), off, 1, KEY), 0, [])
    assert out["equity_history"] == [{"at": at.isoformat(), "equity": 1010.0}]
    assert out["last_cycle"] == KEY and out["positions"]["AAA"]["last_price"] == 11.0
    assert state["equity_history"] == []  # the input is not modified
