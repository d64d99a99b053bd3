"""Price exits: the catastrophe stop, the optional target, and their precedence."""

from __future__ import annotations

from dataclasses import replace

from aion_core.bots.risk import exit_reason, position_return
from aion_core.knobs.schema import effective_knobs

KNOBS = effective_knobs({}, "swing", "1w")
LONG = {"qty": 10, "avg_price": 100.0, "entry_date": "2024-01-02"}
SHORT = {**LONG, "qty": -10}


def test_position_return_is_in_the_positions_favour():
    assert abs(position_return(10, 100.0, 110.0) - 0.1) < 1e-12
    assert abs(position_return(-10, 100.0, 110.0) + 0.1) < 1e-12


def test_stop_and_target_for_long_and_short():
    stop, target = KNOBS["stop_loss"], 0.12
    on = replace(KNOBS, take_profit=target)
    assert exit_reason(LONG, 100 * (1 - stop) - 0.01, KNOBS) == "stop_loss"
    assert exit_reason(LONG, 100 * (1 + target) + 0.01, on) == "take_profit"
    assert exit_reason(SHORT, 100 * (1 + stop) + 0.01, KNOBS) == "stop_loss"
    assert exit_reason(LONG, 100.0, on) is None


def test_the_default_stop_is_a_catastrophe_stop_and_the_target_is_off():
    """A ranking signal's exits are its ranks: no default rule sells a name on a move a
    reversal signal now likes more (a 5% fall) or on a gain."""
    assert KNOBS["stop_loss"] >= 0.15 and KNOBS["take_profit"] == 0
    assert exit_reason(LONG, 90.0, KNOBS) is None and exit_reason(LONG, 300.0, KNOBS) is None
