"""The intraday bot: its rules as a planner over the desk (aion_core.bots.desk).

A cycle's run is: (the desk) rebuild the book from the trade log -> `IntradayPlanner.plan`
(orders with deterministic ids, or none and why) -> (the desk) fill and log each order ->
`IntradayPlanner.close` (mark to market, equity point, `last_run`). Long only. Rules, in order:

1. kill switch on or `enabled` off: no order at all;
2. within `flat_last_minutes` of the close: sell everything ("flat_before_close"), so the bot
   never holds overnight;
3. exits of held names: `stop_loss` / `take_profit` on the move since entry (checked at each
   cycle on the last completed minute's close, not tick by tick), and "signal_faded" when the
   name's prediction no longer expects a gain;
4. entries, unless within `no_entry_last_minutes` of the close: names with confidence >=
   `min_confidence` and an expected return above the round trip's costs, best first, as many
   as `max_positions` and cash allow, sized by `sizing.entry_qty` (max_alloc of equity,
   within cash).

Order ids are `dt-<YYYYMMDDHHMM>-<SYMBOL>-<side>` (New York minute of the cycle), so a rerun
of a cycle regenerates the very ids it logged and fills nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from aion_core.bots.desk import Plan
from aion_core.bots.ledger import Book, Order, order_id
from aion_core.bots.registry import INTRADAY_BOT, Bot
from aion_core.bots.risk import position_return
from aion_core.bots.sizing import entry_qty
from aion_core.knobs.schema import IntradayKnobs

NY = "America/New_York"


def fresh_state(initial_cash: float) -> dict[str, Any]:
    """The intraday bot's state before its first cycle (CONTRACT.md bot state + cycle keys)."""
    return {"schema": 1, "bot": INTRADAY_BOT.name, "as_of": None, "last_cycle": None,
            "initial_cash": float(initial_cash), "cash": float(initial_cash), "positions": {},
            "equity_history": [], "last_run": None}


def cycle_key(at: pd.Timestamp) -> str:
    """`YYYYMMDDHHMM` of the cycle at `at` (tz-aware), New York time: ids and ordering."""
    return at.tz_convert(NY).strftime("%Y%m%d%H%M")


@dataclass(frozen=True)
class IntradayCycle:
    """One 15-minute cycle, as known at `at`.

    predictions: index symbol, `expected_return` (fraction over the model's horizon) and
    `confidence` in [0, 1]; may be empty (no model yet: exits only).
    prices: symbol -> last completed minute's close (USD), the decision, sizing and fill price.
    minutes_left: minutes from the cycle to the session's close.
    """

    key: str  # YYYYMMDDHHMM, New York
    day: str  # the session, YYYY-MM-DD
    at: pd.Timestamp
    minutes_left: float
    predictions: pd.DataFrame
    prices: pd.Series

    @property
    def fill_prices(self) -> dict[str, float]:
        return self.prices.to_dict()

    @property
    def fill_ts(self) -> str:
        return self.at.isoformat()


@dataclass(frozen=True)
class IntradayPlanner:
    """The intraday bot's rules for a desk; `kill_switch` is read once per cycle."""

    knobs: IntradayKnobs
    kill_switch: bool = False
    bot: Bot = INTRADAY_BOT

    def fresh_state(self) -> dict[str, Any]:
        return fresh_state(self.knobs.initial_cash)

    def last_key(self, state: Mapping[str, Any]) -> str:
        return state.get("last_cycle") or ""

    def plan(self, cycle: IntradayCycle, book: Book, state: Mapping[str, Any]) -> Plan:
        """The orders of the cycle (the rules of the module docstring)."""
        knobs = self.knobs
        if self.kill_switch:
            return Plan([], "halted: kill switch is on (admin settings)")
        if not knobs.enabled:
            return Plan([], "disabled: knob 'enabled' is off")
        predictions, prices = cycle.predictions, cycle.prices
        flat = cycle.minutes_left <= knobs.flat_last_minutes
        exits = _exits(book, predictions, prices, knobs, flat)
        entries: list[Order] = []
        if not flat and cycle.minutes_left > knobs.no_entry_last_minutes:
            entries = _entries(book, predictions, prices, knobs, exits)
        orders = [Order(o.symbol, o.side, o.qty, o.reason, o.ref_price,
                        order_id(self.bot.name, cycle.key, o.symbol, o.side))
                  for o in exits + entries]
        status = ("flat before the close" if flat else
                  "no new entries this close to the close" if cycle.minutes_left
                  <= knobs.no_entry_last_minutes else "ok")
        return Plan(orders, f"{status}: {len(exits)} exits, {len(entries)} entries")

    def close(self, cycle: IntradayCycle, state: Mapping[str, Any], book: Book, plan: Plan,
              filled: int, notes: list[str]) -> dict[str, Any]:
        """The state after the cycle: book marked at its prices, one equity point, `last_run`."""
        at = cycle.at.isoformat()
        book.mark(cycle.prices.to_dict())
        equity = round(book.equity, 2)
        return {**state, "as_of": cycle.day, "last_cycle": cycle.key,
                "cash": round(book.cash, 4), "positions": book.positions,
                "equity_history": [*state.get("equity_history", []),
                                   {"at": at, "equity": equity}],
                "last_run": {"at": at, "status": plan.status, "orders": filled, "notes": notes}}


def _exits(book: Book, predictions: pd.DataFrame, prices: pd.Series, knobs: IntradayKnobs,
           flat: bool) -> list[Order]:
    out = []
    for sym in sorted(book.positions):
        pos = book.positions[sym]
        price = float(prices.get(sym, pos["last_price"]))
        reason = "flat_before_close" if flat else _exit_reason(pos, price, predictions, sym,
                                                               knobs)
        if reason and pos["qty"] > 0:
            out.append(Order(sym, "sell", int(pos["qty"]), reason, price))
    return out


def _exit_reason(pos: Mapping[str, Any], price: float, predictions: pd.DataFrame, sym: str,
                 knobs: IntradayKnobs) -> str | None:
    ret = position_return(pos["qty"], pos["avg_price"], price)
    if ret <= -knobs.stop_loss:
        return "stop_loss"
    if ret >= knobs.take_profit:
        return "take_profit"
    if sym in predictions.index and predictions.at[sym, "expected_return"] <= 0:
        return "signal_faded"
    return None


def _entries(book: Book, predictions: pd.DataFrame, prices: pd.Series,
             knobs: IntradayKnobs, exits: list[Order]) -> list[Order]:
    if predictions.empty:
        return []
    leaving = {o.symbol for o in exits}
    slots = knobs.max_positions - (len(book.positions) - len(leaving))
    round_trip = 2 * (knobs.slippage_bps + knobs.fee_bps) / 1e4
    ok = predictions[(predictions["confidence"] >= knobs.min_confidence)
                     & (predictions["expected_return"] > round_trip)]
    ok = ok[~ok.index.isin(list(book.positions)) & ok.index.isin(prices.index)]
    er = ok["expected_return"]
    ranked = sorted(ok.index, key=lambda s: (-er[s], s))  # ties broken by symbol: deterministic
    equity = book.cash + sum(p["qty"] * float(prices.get(s, p["last_price"]))
                             for s, p in book.positions.items())
    available = book.cash + sum(o.qty * o.ref_price for o in exits)
    out = []
    for sym in ranked[:max(slots, 0)]:
        price = float(prices[sym])
        qty = entry_qty(equity, price, available, knobs)
        if qty <= 0:
            continue
        available -= qty * price
        out.append(Order(sym, "buy", qty, "entry", price))
    return out
