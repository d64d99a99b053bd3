"""generate_orders: the stops, the portfolio step's book, sizing, cash, long-only,
determinism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from aion_core.bots.construction import target_weight
from aion_core.bots.signals import generate_orders
from aion_core.bots.swing import fresh_state
from aion_core.knobs.schema import effective_knobs

KNOBS = effective_knobs({}, "swing", "1w")
SESSION = pd.Timestamp("2024-03-04")


def preds(n=30, seed=0):
    rng = np.random.default_rng(seed)
    syms = [f"S{i:02d}" for i in range(n)]
    frame = pd.DataFrame({"symbol": syms, "expected_return": rng.normal(0, 0.02, n),
                          "confidence": rng.uniform(0.3, 1.0, n)})
    prices = pd.Series(rng.uniform(20, 200, n), index=syms)
    return frame, prices


def holding(sym, prices, qty=10, avg=None):
    price = float(prices[sym])
    return {sym: {"qty": qty, "avg_price": avg or price, "entry_date": "2024-02-26",
                  "last_price": price}}


def test_entries_are_the_best_excess_forecasts_sized_to_equal_weights():
    frame, prices = preds()
    knobs = replace(KNOBS, max_positions=4)
    decision = generate_orders(frame, fresh_state("b", 100_000), knobs, prices, SESSION)
    excess = frame.set_index("symbol")["expected_return"]
    excess = excess - excess.mean()
    best = excess[excess > 0.0012].sort_values(ascending=False).index[:4].tolist()
    assert [o.symbol for o in decision.orders] == best
    assert all(o.side == "buy" and o.reason == "entry" for o in decision.orders)
    for o in decision.orders:  # 1/4 of equity each, whole shares
        assert o.qty * o.ref_price <= target_weight(knobs) * 100_000 + 1e-9
        assert (o.qty + 1) * o.ref_price > target_weight(knobs) * 100_000


def test_cash_limits_entries_and_the_screen_says_so():
    frame, prices = preds()
    prices["ZZZ"] = 75.0  # 75,000 of equity in a name without a forecast: kept, not cash
    state = fresh_state("b", 100_000) | {"cash": 25_000.0,
                                         "positions": holding("ZZZ", prices, qty=1_000)}
    decision = generate_orders(frame, state, replace(KNOBS, max_positions=5, max_alloc=0.5,
                                                     rebalance_band=5.0),
                               prices, SESSION)
    spent = sum(o.qty * o.ref_price for o in decision.orders)
    assert 20_000 < spent <= 25_000.0 and decision.screen.no_cash > 0
    assert decision.screen.entered == len(decision.orders)


def test_long_only_unless_allow_short():
    frame, prices = preds()
    state = fresh_state("b", 100_000)
    longs = generate_orders(frame, state, KNOBS, prices, SESSION).orders
    assert longs and all(o.side == "buy" for o in longs)
    both = generate_orders(frame, state, replace(KNOBS, allow_short=True), prices, SESSION).orders
    shorts = [o for o in both if o.side == "sell"]
    excess = frame.set_index("symbol")["expected_return"]
    assert shorts and all(excess[o.symbol] < excess.mean() for o in shorts)


def test_a_stopped_name_is_sold_and_not_bought_back_the_same_session():
    frame, prices = preds()
    top = frame.sort_values("expected_return").symbol.iloc[-1]
    state = fresh_state("b", 100_000) | {
        "positions": holding(top, prices, avg=float(prices[top]) * 1.5)}  # down a third
    orders = [o for o in generate_orders(frame, state, KNOBS, prices, SESSION).orders
              if o.symbol == top]
    assert [(o.side, o.reason, o.qty) for o in orders] == [("sell", "stop_loss", 10)]


def test_a_held_name_leaves_when_its_rank_falls_out_of_the_hold_band():
    frame, prices = preds()
    order = frame.sort_values("expected_return", ascending=False).symbol.tolist()
    knobs = replace(KNOBS, max_positions=5, hold_band=2.0, min_hold_sessions=0)
    for rank, leaves in ((10, False), (11, True)):  # the band: ranks 1..10
        sym = order[rank - 1]
        state = fresh_state("b", 100_000) | {"positions": holding(sym, prices)}
        sold = [o for o in generate_orders(frame, state, knobs, prices, SESSION).orders
                if o.symbol == sym and o.side == "sell"]
        assert [o.reason for o in sold] == (["hold_band"] if leaves else []), rank


def test_a_kept_name_is_resized_only_outside_the_no_trade_band():
    frame, prices = preds()
    best = frame.sort_values("expected_return").symbol.iloc[-1]
    knobs = replace(KNOBS, max_positions=4, rebalance_band=0.5)
    target = target_weight(knobs) * 100_000 / float(prices[best])
    for qty, trades in ((round(target * 0.7), False), (max(1, round(target * 0.3)), True)):
        state = fresh_state("b", 100_000) | {"positions": holding(best, prices, qty=qty)}
        state["cash"] = 100_000 - qty * float(prices[best])
        mine = [o for o in generate_orders(frame, state, knobs, prices, SESSION).orders
                if o.symbol == best]
        assert [(o.side, o.reason) for o in mine] == ([("buy", "rebalance")] if trades
                                                      else []), qty


def test_disabled_bot_places_nothing_and_output_is_deterministic():
    frame, prices = preds()
    state = fresh_state("b", 100_000)
    off = replace(KNOBS, enabled=False)
    assert generate_orders(frame, state, off, prices, SESSION).orders == []
    shuffled = frame.sample(frac=1.0, random_state=1)
    assert generate_orders(frame, state, KNOBS, prices, SESSION) == \
        generate_orders(shuffled, state, KNOBS, prices, SESSION)
