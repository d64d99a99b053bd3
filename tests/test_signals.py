"""generate_orders: filters, ranking, slots, cash, exits, long-only, determinism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from aion_core.bots.signals import generate_orders
from aion_core.bots.swing import fresh_state
from aion_core.knobs.schema import effective_knobs

SESSION = pd.Timestamp("2024-03-04")
KNOBS = effective_knobs({}, "swing", "1w")


def preds(n=30, seed=0):
    rng = np.random.default_rng(seed)
    syms = [f"S{i:02d}" for i in range(n)]
    frame = pd.DataFrame({"symbol": syms, "expected_return": rng.normal(0, 0.02, n),
                          "confidence": rng.uniform(0.3, 1.0, n)})
    prices = pd.Series(rng.uniform(20, 200, n), index=syms)
    return frame, prices


def test_entries_are_the_best_confident_names_within_max_positions():
    frame, prices = preds()
    knobs = replace(KNOBS, max_positions=4)
    orders = generate_orders(frame, fresh_state("b", 100_000), knobs, prices, SESSION, 5)
    ok = frame[(frame.confidence >= knobs["min_confidence"])
               & (frame.expected_return > knobs["min_expected_return"])]
    best = ok.sort_values("expected_return", ascending=False).symbol.head(4).tolist()
    assert [o.symbol for o in orders] == best
    assert all(o.side == "buy" and o.reason == "entry" for o in orders)
    for o in orders:
        assert o.qty * o.ref_price <= knobs["max_alloc"] * knobs["aggression"] * 100_000 + 1e-9
        assert (o.qty + 1) * o.ref_price > knobs["max_alloc"] * knobs["aggression"] * 100_000


def test_cash_limits_entries():
    frame, prices = preds()
    orders = generate_orders(frame, fresh_state("b", 100_000) | {"cash": 25_000.0},
                             replace(KNOBS, max_positions=20), prices, SESSION, 5)
    spent = sum(o.qty * o.ref_price for o in orders)
    assert 0 < spent <= 25_000.0
    assert len(orders) < 20


def test_long_only_unless_allow_short():
    frame, prices = preds()
    frame["expected_return"] = -frame["expected_return"].abs()
    state = fresh_state("b", 100_000)
    assert generate_orders(frame, state, KNOBS, prices, SESSION, 5) == []
    shorts = generate_orders(frame, state, replace(KNOBS, allow_short=True), prices, SESSION, 5)
    assert shorts and all(o.side == "sell" for o in shorts)


def test_exits_on_horizon_and_no_reentry_the_same_session():
    frame, prices = preds()
    top = frame.sort_values("expected_return").symbol.iloc[-1]
    frame.loc[frame.symbol == top, "confidence"] = 1.0
    state = fresh_state("b", 100_000)
    state["positions"] = {top: {"qty": 10, "avg_price": float(prices[top]),
                                "entry_date": "2024-02-26", "last_price": float(prices[top])}}
    orders = generate_orders(frame, state, KNOBS, prices, SESSION, 5)
    exits = [o for o in orders if o.symbol == top]
    assert [(o.side, o.reason, o.qty) for o in exits] == [("sell", "horizon", 10)]
    kept = generate_orders(frame, state, KNOBS, prices, SESSION, 6)
    assert not [o for o in kept if o.symbol == top]


def test_disabled_bot_places_nothing_and_output_is_deterministic():
    frame, prices = preds()
    state = fresh_state("b", 100_000)
    assert generate_orders(frame, state, replace(KNOBS, enabled=False), prices, SESSION, 5) == []
    shuffled = frame.sample(frac=1.0, random_state=1)
    assert generate_orders(frame, state, KNOBS, prices, SESSION, 5) == \
        generate_orders(shuffled, state, KNOBS, prices, SESSION, 5)
