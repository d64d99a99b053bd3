"""Entry sizes: max_alloc x equity x aggression, whole shares, never more than cash affords."""

from __future__ import annotations

from dataclasses import replace

from aion_core.bots.sizing import cost_buffer, entry_qty, target_notional
from aion_core.knobs.schema import effective_knobs

KNOBS = effective_knobs({}, "swing", "1w")


def test_target_scales_with_alloc_and_aggression():
    k = replace(KNOBS, max_alloc=0.1, aggression=1.5)
    assert abs(target_notional(100_000, k) - 15_000) < 1e-9
    assert entry_qty(100_000, 100.0, 1e9, k) == 150


def test_cash_caps_the_size_with_a_reserve_for_costs():
    qty = entry_qty(100_000, 100.0, 5_000.0, KNOBS)
    assert qty * 100.0 * (1 + cost_buffer(KNOBS)) <= 5_000.0
    assert (qty + 1) * 100.0 * (1 + cost_buffer(KNOBS)) > 5_000.0


def test_nothing_without_price_or_cash():
    assert entry_qty(100_000, 0.0, 1e6, KNOBS) == 0
    assert entry_qty(100_000, float("nan"), 1e6, KNOBS) == 0
    assert entry_qty(100_000, 100.0, 0.0, KNOBS) == 0
    assert entry_qty(100_000, 1e7, 1e6, KNOBS) == 0
