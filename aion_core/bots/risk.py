"""Exit rules of a held position: why (if at all) a bot should close it this session.

Pure and per position: the signal code asks `exit_reason` for each holding and sells (or
covers) the ones that answer. Rules are checked in order of precedence, so a stop that is
hit on the day the horizon ends is logged as the stop: the reason the money was lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aion_core.knobs.schema import SwingKnobs


def position_return(qty: float, avg_price: float, price: float) -> float:
    """Return of a position since entry, as a fraction, in the position's favour."""
    if avg_price <= 0:
        return 0.0
    move = price / avg_price - 1.0
    return move if qty > 0 else -move


def exit_reason(position: Mapping[str, Any], price: float, elapsed: int, horizon_sessions: int,
                prediction: Mapping[str, float] | None, knobs: SwingKnobs) -> str | None:
    """`stop_loss`, `take_profit`, `horizon`, `reversal` or None (keep holding).

    `price` is the decision price (last close); `elapsed` counts sessions since entry;
    `prediction` is the name's current {expected_return, confidence}, if any. A reversal
    counts only when the new prediction is itself confident enough to act on.
    """
    ret = position_return(position["qty"], position["avg_price"], price)
    if ret <= -knobs.stop_loss:
        return "stop_loss"
    if ret >= knobs.take_profit:
        return "take_profit"
    if elapsed >= horizon_sessions:
        return "horizon"
    if knobs.exit_on_reversal and prediction is not None \
            and prediction["confidence"] >= knobs.min_confidence \
            and prediction["expected_return"] * position["qty"] < 0:
        return "reversal"
    return None
