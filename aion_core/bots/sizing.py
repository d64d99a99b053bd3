"""How many shares an entry buys: `max_alloc` of equity scaled by `aggression`, within cash.

Sizes are whole shares so that positions summed from the log are exact. The cash check
keeps a reserve for slippage, fees and an opening gap (fills are at the next open, which is
not known when the bot decides), so a bot does not spend money it may not have.
"""

from __future__ import annotations

import math

from aion_core.knobs.schema import BotKnobs

GAP_RESERVE = 0.02  # a 2 % gap up between the decision close and the fill open


def cost_buffer(knobs: BotKnobs) -> float:
    """Fraction over the decision price one share may cost once filled."""
    return (knobs.slippage_bps + knobs.fee_bps) / 1e4 + GAP_RESERVE


def target_notional(equity: float, knobs: BotKnobs) -> float:
    """Money one new position is meant to hold."""
    return max(0.0, knobs.max_alloc * knobs.aggression * equity)


def affordable(available: float, price: float, knobs: BotKnobs) -> int:
    """Whole shares `available` cash buys at `price`, with room for costs and a gap."""
    if not (price > 0) or available <= 0:
        return 0
    return max(0, math.floor(available / (price * (1.0 + cost_buffer(knobs)))))


def entry_qty(equity: float, price: float, available: float, knobs: BotKnobs) -> int:
    """Whole shares to enter at `price`: the target size, or what `available` cash affords."""
    if not (price > 0) or available <= 0:
        return 0
    return min(math.floor(target_notional(equity, knobs) / price),
               affordable(available, price, knobs))
