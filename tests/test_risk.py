"""Exit rules: stop, target, horizon, reversal, and their precedence."""

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
    stop, target = KNOBS["stop_loss"], KNOBS["take_profit"]
    assert exit_reason(LONG, 100 * (1 - stop) - 0.01, 1, 5, None, KNOBS) == "stop_loss"
    assert exit_reason(LONG, 100 * (1 + target) + 0.01, 1, 5, None, KNOBS) == "take_profit"
    assert exit_reason(SHORT, 100 * (1 + stop) + 0.01, 1, 5, None, KNOBS) == "stop_loss"
    assert exit_reason(LONG, 100.0, 1, 5, None, KNOBS) is None


def test_horizon_elapsed_and_stop_takes_precedence():
    assert exit_reason(LONG, 100.0, 5, 5, None, KNOBS) == "horizon"
    assert exit_reason(LONG, 100.0, 4, 5, None, KNOBS) is None
    assert exit_reason(LONG, 50.0, 5, 5, None, KNOBS) == "stop_loss"


def test_reversal_needs_a_confident_opposite_prediction_and_the_knob():
    against = {"expected_return": -0.02, "confidence": 0.9}
    weak = {"expected_return": -0.02, "confidence": 0.1}
    assert exit_reason(LONG, 100.0, 1, 5, against, KNOBS) == "reversal"
    assert exit_reason(LONG, 100.0, 1, 5, weak, KNOBS) is None
    assert exit_reason(SHORT, 100.0, 1, 5, against, KNOBS) is None
    off = replace(KNOBS, exit_on_reversal=False)
    assert exit_reason(LONG, 100.0, 1, 5, against, off) is None
