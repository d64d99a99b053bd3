"""Price exits of a held position: whether its own move says to close it this session.

Pure and per position: the signal code asks `exit_reason` for each holding and sells (or
covers) the ones that answer, before the book's rank-based choices (aion_core.bots.construction).
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


def exit_reason(position: Mapping[str, Any], price: float, knobs: SwingKnobs) -> str | None:
    """`stop_loss`, `take_profit` (when the knob is on, > 0) or None (keep holding).

    `price` is the decision price (last close). The stop comes first: a position that hits
    both on one price is logged as the stop. A ranking signal's ordinary exit is its rank
    leaving the hold band (aion_core.bots.construction); these two guard against the rare move
    no forecast saw.
    """
    ret = position_return(position["qty"], position["avg_price"], price)
    if ret <= -knobs.stop_loss:
        return "stop_loss"
    if knobs.take_profit > 0 and ret >= knobs.take_profit:
        return "take_profit"
    return None
