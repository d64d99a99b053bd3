"""Predictions + a bot's state -> the orders of one session (pure, no I/O).

Price exits first (the catastrophe stop and an optional target: aion_core.bots.risk), then
the book the portfolio step wants (aion_core.bots.construction): names that left the hold band
sold, kept names traded back to their target weight when outside the no-trade band, then
new names bought best first while cash lasts. Long-only unless the `allow_short` knob says
otherwise. The output is deterministic for its inputs (ties are broken by symbol), which is
what lets a retried run regenerate the very orders, and so the very order ids, of the run it
repeats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aion_core import market_hours
from aion_core.bots.construction import Screen, rebalance_qty, select, target_weight
from aion_core.bots.ledger import Order
from aion_core.bots.risk import exit_reason
from aion_core.bots.sizing import GAP_RESERVE, affordable, cost_buffer
from aion_core.knobs.schema import SwingKnobs


def prediction_frame(predictions: pd.DataFrame) -> pd.DataFrame:
    """Predictions indexed by symbol (accepts a `symbol` column too)."""
    if "symbol" in predictions.columns:
        predictions = predictions.set_index("symbol")
    return predictions


@dataclass(frozen=True)
class Decision:
    """A session's orders and the selection's account of what it did not buy."""

    orders: list[Order]
    screen: Screen


def sessions_held(entry_date: str, session: pd.Timestamp) -> int:
    """Trading sessions from the entry session to `session` (0 on the entry day itself)."""
    entry = pd.Timestamp(entry_date)
    if entry >= session:
        return 0
    return int(market_hours.calendar().sessions_distance(entry, session)) - 1


def generate_orders(predictions: pd.DataFrame, state: Mapping[str, Any],
                    knobs: SwingKnobs, prices: pd.Series, session: pd.Timestamp,
                    members: frozenset[str] | None = None) -> Decision:
    """The orders a swing bot places for `session`.

    predictions: one row per symbol (index or `symbol` column) with `expected_return`
      (fraction over the horizon) and `confidence` in [0, 1], made from data before the
      session. state: CONTRACT.md bot state (`cash`, `positions`); prices: symbol ->
      decision price (the last close before the session), used for equity, sizing and the
      stops. A disabled bot gets no orders (the caller records why; see swing.plan_session).
      members: the index members as of the decision (None: no membership): a held name
      outside them is sold (`left_index`), one outside them is never bought.
    """
    if not knobs.enabled:
        return Decision([], Screen())
    preds = prediction_frame(predictions)
    held = state["positions"]

    def price(sym: str) -> float:
        return float(prices.get(sym, np.nan))

    stopped = {s: why for s in sorted(held) if price(s) > 0
               and (why := exit_reason(held[s], price(s), knobs))}
    held_for = {s: sessions_held(p["entry_date"], pd.Timestamp(session))
                for s, p in held.items()} if knobs.min_hold_sessions else {}
    selection = select(preds, {s: p for s, p in held.items() if s not in stopped}, prices,
                       knobs, exclude=set(stopped), held_for=held_for, members=members)
    exits = [Order(s, "sell" if held[s]["qty"] > 0 else "buy", int(abs(held[s]["qty"])),
                   why, price(s)) for s, why in stopped.items()]
    exits += [Order(s, "sell" if held[s]["qty"] > 0 else "buy", int(abs(held[s]["qty"])),
                    "left_index", price(s)) for s in selection.left_index if price(s) > 0]
    exits += [Order(s, "sell" if held[s]["qty"] > 0 else "buy", int(abs(held[s]["qty"])),
                    "hold_band", price(s)) for s in sorted(selection.leave) if price(s) > 0]
    equity = state["cash"] + sum(p["qty"] * (price(s) if price(s) > 0 else p["last_price"])
                                 for s, p in held.items())
    resize = [(s, q) for s in selection.keep
              if (q := rebalance_qty(held[s]["qty"], price(s), equity, knobs))]
    sells = exits + [Order(s, "sell", -q, "rebalance", price(s)) for s, q in resize if q < 0]
    cash = state["cash"] + sum(o.qty * o.ref_price * (1.0 - GAP_RESERVE)
                               for o in sells if o.side == "sell") \
        - sum(o.qty * o.ref_price * (1.0 + GAP_RESERVE) for o in sells if o.side == "buy")
    buys = []
    for s, q in resize:
        if q > 0 and (q := min(q, affordable(cash, price(s), knobs))) > 0:
            buys.append(Order(s, "buy", q, "rebalance", price(s)))
            cash -= q * price(s) * (1.0 + cost_buffer(knobs))
    screen = selection.screen
    for s, side in selection.enter:
        want = math.floor(target_weight(knobs) * equity / price(s))
        qty = min(want, affordable(cash, price(s), knobs))  # a short is margined as a buy
        if qty < 1:
            screen.no_cash += 1
            continue
        buys.append(Order(s, side, qty, "entry", price(s)))
        cash -= qty * price(s) * (1.0 + cost_buffer(knobs))
        screen.entered += 1
    return Decision(sells + buys, screen)
