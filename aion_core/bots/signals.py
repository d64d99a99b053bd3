"""Predictions + a bot's state -> the orders of one session (pure, no I/O).

Exits first (risk rules on each holding), then entries: the confident predictions ranked by
expected return, as many as free slots and cash allow, each sized by `sizing`. Long-only
unless the `allow_short` knob says otherwise. The output is deterministic for its inputs
(ties are broken by symbol), which is what lets a retried run regenerate the very orders,
and so the very order ids, of the run it repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from aion_core import market_hours
from aion_core.bots.ledger import Order
from aion_core.bots.risk import exit_reason
from aion_core.bots.sizing import GAP_RESERVE, entry_qty
from aion_core.knobs.schema import SwingKnobs


def prediction_frame(predictions: pd.DataFrame) -> pd.DataFrame:
    """Predictions indexed by symbol (accepts a `symbol` column too)."""
    if "symbol" in predictions.columns:
        predictions = predictions.set_index("symbol")
    return predictions


def sessions_held(entry_date: str, session: pd.Timestamp) -> int:
    """Trading sessions from the entry session to `session` (0 on the entry day itself)."""
    entry = pd.Timestamp(entry_date)
    if entry >= session:
        return 0
    return int(market_hours.calendar().sessions_distance(entry, session)) - 1


def exit_orders(preds: pd.DataFrame, state: Mapping[str, Any], knobs: SwingKnobs,
                prices: pd.Series, session: pd.Timestamp, horizon_sessions: int) -> list[Order]:
    """Close every holding a risk rule says to close (a name without a price is kept)."""
    orders = []
    for sym in sorted(state["positions"]):
        pos = state["positions"][sym]
        price = prices.get(sym, np.nan)
        if not price > 0:
            continue
        pred = preds.loc[sym] if sym in preds.index else None
        reason = exit_reason(pos, float(price), sessions_held(pos["entry_date"], session),
                             horizon_sessions, pred, knobs)
        if reason:
            side = "sell" if pos["qty"] > 0 else "buy"
            orders.append(Order(sym, side, int(abs(pos["qty"])), reason, float(price)))
    return orders


def rank_candidates(preds: pd.DataFrame, knobs: SwingKnobs, prices: pd.Series,
                    exclude: set[str]) -> pd.DataFrame:
    """Entry candidates best first: confident, priced, not held, clear of the return bar.

    Returns the prediction rows plus `price` and `side`, sorted by the strength of the
    expected move (descending), then symbol.
    """
    # numpy throughout: this runs twice a session per bot, and pandas' per-call overhead on a
    # string index was most of a backtest's time
    symbols = preds.index.to_numpy(dtype=object)
    er = preds["expected_return"].to_numpy(dtype=float)
    conf = preds["confidence"].to_numpy(dtype=float)
    price = prices.reindex(preds.index).to_numpy(dtype=float)
    bar = knobs.min_expected_return
    long_ok = er > bar
    short_ok = (-er > max(bar, 0.0)) if knobs.allow_short else np.zeros(len(er), bool)
    keep = (conf >= knobs.min_confidence) & (long_ok | short_ok) & (price > 0) \
        & ~np.isin(symbols, list(exclude))
    strength = np.abs(er[keep])
    order = np.lexsort((symbols[keep].astype(str), -strength))
    rows = np.flatnonzero(keep)[order]
    return pd.DataFrame({"expected_return": er[rows], "confidence": conf[rows],
                         "price": price[rows], "side": np.where(er[rows] > bar, "buy", "sell"),
                         "strength": strength[order]},
                        index=pd.Index(symbols[rows], name=preds.index.name))


def entry_orders(ranked: pd.DataFrame, state: Mapping[str, Any], knobs: SwingKnobs,
                 equity: float, cash: float, slots: int) -> list[Order]:
    """Size the top candidates while slots and cash last."""
    orders: list[Order] = []
    for sym, row in ranked.iterrows():
        if len(orders) >= slots or cash <= 0:
            break
        qty = entry_qty(equity, row["price"], cash, knobs)
        if qty < 1:
            continue
        orders.append(Order(str(sym), row["side"], qty, "entry", float(row["price"])))
        cash -= qty * row["price"] * (1.0 + GAP_RESERVE)
    return orders


def generate_orders(predictions: pd.DataFrame, state: Mapping[str, Any],
                    knobs: SwingKnobs, prices: pd.Series, session: pd.Timestamp,
                    horizon_sessions: int) -> list[Order]:
    """The orders a swing bot places for `session`: exits, then entries.

    predictions: one row per symbol (index or `symbol` column) with `expected_return`
      (fraction over the horizon) and `confidence` in [0, 1], made from data before `session`.
    state: CONTRACT.md bot state (`cash`, `positions`); prices: symbol -> decision price
      (the last close before `session`), used for equity, sizing and the risk rules.
    A disabled bot gets no orders (the caller records why; see swing.plan_session).
    """
    if not knobs.enabled:
        return []
    preds = prediction_frame(predictions)
    session = pd.Timestamp(session)
    exits = exit_orders(preds, state, knobs, prices, session, horizon_sessions)
    held = state["positions"]
    equity = state["cash"] + sum(p["qty"] * float(prices.get(s, p["last_price"]))
                                 for s, p in held.items())
    exiting = {o.symbol for o in exits}
    cash = state["cash"] + sum(o.qty * o.ref_price * (1.0 - GAP_RESERVE)
                               for o in exits if o.side == "sell")
    slots = knobs.max_positions - (len(held) - len(exiting))
    if slots <= 0:
        return exits
    ranked = rank_candidates(preds, knobs, prices, exclude=set(held))
    return exits + entry_orders(ranked, state, knobs, equity, cash, slots)
