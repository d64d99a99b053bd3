"""Portfolio construction: predictions and the current book -> the book a swing bot wants,
and why each name it does not buy was left out (pure, no I/O).

The forecast a bot ranks on is the cross-sectional excess: each name's expected return less
that date's mean over every name with a forecast. The training window's market drift is in
every forecast alike (on real S&P 500 names it put 63-100% of all names over a bar in bp
while the spread between names was 6-12 bp), and a bot that picks names against each other
has no use for it: a rise or a fall of every forecast leaves the book unchanged.

The rules, for a long book (a short book mirrors them on the negated excess):
- rank every name by excess forecast, best first (ties by symbol);
- a held name stays while its rank is within the hold band (`hold_band` x max_positions):
  hysteresis, so a name that wobbles around the cut-off is not sold and bought back on noise;
  a name held fewer than `min_hold_sessions` sessions stays whatever its rank (its forecast
  was for the horizon); a held name without a forecast today cannot be ranked and stays;
- with an index membership (`members`), a held name that left the index goes whatever its
  rank or age (`left_index`: the exit is always allowed) and a name outside it never enters;
- a new name enters only from the top max_positions ranks, into the slots the kept names
  leave, and only when its excess clears `entry_cost_multiple` round trips of the knobs'
  fees and slippage (so a change of costs moves the bar by itself) and its confidence is at
  least `min_confidence`;
- every name's target weight is the same, 1 / max_positions x aggression, capped at
  max_alloc; a kept name is traded back to it only when it has drifted more than
  `rebalance_band` of the target away (a no-trade band).

`Screen` counts what each rule removed, so a bot that did not trade can say why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aion_core.knobs.schema import SwingKnobs


def round_trip_cost(knobs: SwingKnobs) -> float:
    """What a position costs to open and close at the knobs' slippage and fees (a fraction)."""
    return 2.0 * (knobs.slippage_bps + knobs.fee_bps) / 1e4


def entry_bar(knobs: SwingKnobs) -> float:
    """The excess forecast a new name must clear (a fraction over the horizon)."""
    return knobs.entry_cost_multiple * round_trip_cost(knobs)


def target_weight(knobs: SwingKnobs) -> float:
    """Each name's share of equity in a full book."""
    return min(knobs.aggression / knobs.max_positions, knobs.max_alloc)


def excess_forecast(predictions: pd.DataFrame) -> pd.Series:
    """Expected return less its mean over the names forecast (index: symbol)."""
    er = predictions["expected_return"].astype(float)
    return er - er.mean()


@dataclass
class Screen:
    """One session's selection, rule by rule: of the `candidates` (names with a forecast and
    not held), how many each rule removed in this order, how many entered; and the held
    names kept or let go. `nearest`: the best names not entered and why, for the pages."""

    candidates: int = 0
    no_price: int = 0
    below_bar: int = 0
    low_confidence: int = 0
    outside_top: int = 0  # cleared the bars but ranked below max_positions
    no_slot: int = 0  # within the top ranks, but the kept names fill the book
    no_cash: int = 0  # chosen, but the cash left buys no whole share
    entered: int = 0
    kept: int = 0
    left_band: int = 0
    left_index: int = 0  # held names that left the index: sold
    bar: float = 0.0
    nearest: list[dict[str, Any]] = field(default_factory=list)

    def removed(self) -> int:
        return (self.no_price + self.below_bar + self.low_confidence + self.outside_top
                + self.no_slot + self.no_cash)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Selection:
    """The names to enter (best first, with side), to keep, and to let go (with rank)."""

    enter: list[tuple[str, str]]
    keep: list[str]
    leave: dict[str, int]
    screen: Screen
    left_index: list[str] = field(default_factory=list)  # held names no longer members


NEAREST_SHOWN = 10


def select(predictions: pd.DataFrame, positions: Mapping[str, Mapping[str, Any]],
           prices: pd.Series, knobs: SwingKnobs, exclude: set[str] | None = None,
           held_for: Mapping[str, int] | None = None,
           members: frozenset[str] | None = None) -> Selection:
    """Which names the book should hold after this session (see the module's docstring).

    predictions: index symbol, `expected_return`, `confidence`; positions: the book's
    {symbol: {qty, ...}}; prices: the decision prices (a name without one is not entered);
    exclude: names not to enter this session (those a stop is closing); held_for: sessions
    each position has been held (a name missing counts as held long enough); members: the
    index members as of the decision (None: no membership, every name may be held).
    """
    gone = sorted(s for s in positions if members is not None and s not in members)
    if gone:
        positions = {s: p for s, p in positions.items() if s not in gone}
    if members is not None and not predictions.index.isin(list(members)).all():
        predictions = predictions[predictions.index.isin(list(members))]
    excess = excess_forecast(predictions)
    conf = predictions["confidence"].astype(float)
    sides = [("buy", 1.0)] + ([("sell", -1.0)] if knobs.allow_short else [])
    n, band = knobs.max_positions, max(knobs.max_positions,
                                       math.ceil(knobs.hold_band * knobs.max_positions))
    screen = Screen(bar=entry_bar(knobs))
    keep, leave, enter = [], {}, []
    for side, sign in sides:
        score = sign * excess
        ranks = _ranks(score)
        mine = {s for s, p in positions.items() if p["qty"] * sign > 0}
        young = {s for s in mine if (held_for or {}).get(s, knobs.min_hold_sessions)
                 < knobs.min_hold_sessions}
        for sym in sorted(mine):
            if sym not in ranks.index or ranks[sym] <= band or sym in young:
                keep.append(sym)
            else:
                leave[sym] = int(ranks[sym])
        slots = max(0, n - sum(1 for s in mine if s not in leave))
        chosen = _entries(score, ranks, conf, prices, set(positions) | (exclude or set()),
                          knobs, n, slots, screen, side)
        enter += [(s, side) for s in chosen]
    screen.kept, screen.left_band, screen.left_index = len(keep), len(leave), len(gone)
    return Selection(enter, keep, leave, screen, gone)


def _ranks(score: pd.Series) -> pd.Series:
    """1 = the highest score; ties by symbol; NaN scores are not ranked."""
    known = score.dropna()
    symbols = known.index.to_numpy(dtype=object)
    order = np.lexsort((symbols.astype(str), -known.to_numpy(dtype=float)))
    return pd.Series(np.arange(1, len(order) + 1), index=symbols[order])


def _entries(score: pd.Series, ranks: pd.Series, conf: pd.Series, prices: pd.Series,
             held: set[str], knobs: SwingKnobs, n: int, slots: int, screen: Screen,
             side: str) -> list[str]:
    """The names to enter on one side, best first, counting in `screen` what removed the
    others (each name counted once, by the first rule it fails, in the order below)."""
    syms = ranks.index[~ranks.index.isin(list(held))]
    rank = ranks[syms].to_numpy()
    s = score.reindex(syms).to_numpy(dtype=float)
    c = conf.reindex(syms).fillna(0.0).to_numpy(dtype=float)
    ok = prices.reindex(syms).to_numpy(dtype=float) > 0
    rules = [("no_price", ~ok, "no price"),
             ("below_bar", s < screen.bar, "excess below the cost bar"),
             ("low_confidence", c < knobs.min_confidence, "confidence below min_confidence"),
             ("outside_top", rank > n, "ranked beyond max_positions")]
    why = np.full(len(syms), "", dtype=object)
    for name, failed, text in rules:
        hit = failed & (why == "")
        why[hit] = text
        setattr(screen, name, getattr(screen, name) + int(hit.sum()))
    eligible = np.flatnonzero(why == "")
    why[eligible[slots:]] = "no free slot: the kept names fill the book"
    screen.no_slot += max(0, len(eligible) - slots)
    screen.candidates += len(syms)
    for i in np.flatnonzero(why != "")[:NEAREST_SHOWN - len(screen.nearest)]:
        screen.nearest.append({"symbol": str(syms[i]), "side": side, "rank": int(rank[i]),
                               "excess": round(float(s[i]), 6),
                               "confidence": round(float(c[i]), 4), "why": why[i]})
    return [str(x) for x in syms[eligible[:slots]]]


def rebalance_qty(qty: float, price: float, equity: float, knobs: SwingKnobs) -> int:
    """Shares to trade (signed, + buys) to bring a kept position back to its target weight,
    or 0 while it is within the no-trade band."""
    if not (price > 0) or equity <= 0:
        return 0
    target = target_weight(knobs) * equity / price * (1 if qty > 0 else -1)
    if abs(qty - target) <= knobs.rebalance_band * abs(target):
        return 0
    return int(math.trunc(target - qty))
