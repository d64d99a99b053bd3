"""`aion bots run`: each swing bot trades the session after the rolling brain's `as_of`;
`aion bots exit`: an admin closes one position of a swing bot now.

The desk (aion_core.bots.desk) does the run and makes it safe to kill at any moment; this
module only gathers its inputs from the data root (predictions, the session's prices, knobs,
the kill switch), picks the broker, and compares the books with a real broker's afterwards.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from aion_core import market_hours
from aion_core.bots.desk import Desk
from aion_core.bots.ledger import Book, Fill, order_id
from aion_core.bots.manual import REASON, ManualExit, ManualRun, manual_key
from aion_core.bots.registry import Bot, swing_bot
from aion_core.bots.swing import SessionPrices, SwingPlanner, SwingSession
from aion_core.brokers.base import Broker
from aion_core.brokers.sim import SimBroker
from aion_core.config import Settings
from aion_core.errors import ConfigurationError, DataError, RefusedError
from aion_core.sql_copy.publish import publish
from aion_core.store import Store
from jobs.notify import check_alerts
from jobs.universe import read_membership


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def day_of(session: date | pd.Timestamp | str) -> str:
    return pd.Timestamp(session).strftime("%Y-%m-%d")


def brain_predictions(brain: dict[str, Any], horizon: str) -> pd.DataFrame:
    """Rolling-brain predictions of `horizon`: index symbol; expected_return, confidence."""
    rows = {sym: entry["predictions"][horizon] for sym, entry in brain["symbols"].items()
            if horizon in entry.get("predictions", {})}
    frame = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=["expected_return", "confidence"])
    return frame.astype(float).rename_axis("symbol")


def live_prices(store: Store, brain: dict[str, Any], session: pd.Timestamp) -> SessionPrices:
    """Decide on the brain's last closes; fill at the session's open once its bars exist."""
    ref = pd.Series({s: e["last_close"] for s, e in brain["symbols"].items()}, dtype=float)
    bars = store.read_daily_panel(list(ref.index), end=session)
    today = bars[bars["date"] == session].set_index("symbol")
    opened, _ = market_hours.session_open_close(session)
    has_bars = not today.empty
    return SessionPrices(ref=ref, fill=today["open"] if has_bars else ref,
                         mark=today["close"] if has_bars else ref,
                         fill_ts=opened.isoformat() if has_bars else now_iso())


def brain_members(store: Store, brain: dict[str, Any]) -> frozenset[str] | None:
    """The stored symbols that were index members on the brain's as_of (None without a
    universe): a bot sells a held name that left the index and never buys one outside it."""
    membership = read_membership(store)
    if membership is None:
        return None
    return membership.on(brain["as_of"], set(brain["symbols"]) | set(store.daily_symbols()))


def _broker(settings: Settings, name: str) -> Broker | None:
    """None means "SimBroker per bot"; Alpaca is refused here unless both live switches agree."""
    if name == "sim":
        return None
    from aion_core.brokers.alpaca import AlpacaBroker

    return AlpacaBroker.from_settings(settings, name)


def run_bots(store: Store, settings: Settings, horizons: list[str],
             as_of: date | None = None, broker: str = "sim") -> list[str]:
    """One run of the swing bot of each horizon on the rolling brain, trading the session
    after its `as_of`.

    `as_of` (optional) must be the brain's date: predictions of another day are not stored.
    Returns one line per bot.
    """
    bots = [swing_bot(h) for h in horizons]
    knobs = store.read_knobs(bots)  # a bad knobs file is the first thing to fix: say it first
    brain = store.read_json("rolling_brain")
    if brain is None:
        raise ConfigurationError("no predictions yet: run `aion nightly` first")
    if as_of is not None and day_of(as_of) != brain["as_of"]:
        raise DataError(f"the rolling brain is as of {brain['as_of']}, not {day_of(as_of)}: "
                        f"run `aion nightly --as-of {day_of(as_of)}` first")
    live_broker = _broker(settings, broker)
    session = market_hours.calendar().next_session(pd.Timestamp(brain["as_of"]))
    prices = live_prices(store, brain, session)
    members = brain_members(store, brain)
    kill = store.kill_switch_on()
    lines = []
    for bot in bots:
        with store.bot_lock(bot):
            desk = Desk(bot, SwingPlanner(bot, knobs[bot.key], kill), store.journal(bot))
            run = SwingSession(session, brain_predictions(brain, bot.horizon), prices, now_iso(),
                               members, f"the nightly's rolling brain as of {brain['as_of']}")
            outcome = desk.trade(run, live_broker or SimBroker.for_run(run, knobs[bot.key]))
            lines.append(outcome.line())
    if live_broker is not None:
        lines += broker_mismatch(store, bots, live_broker)
    publish(store, settings, "bots")
    check_alerts(store, settings)  # a drawdown past its knob, the kill switch
    return lines


def broker_mismatch(store: Store, bots: list[Bot], broker: Broker) -> list[str]:
    """Compare the logged positions of all bots with the broker's; report, never overwrite.

    The bots share one account, so the broker's quantity of a name is the sum over bots.
    """
    logged: dict[str, float] = {}
    for bot in bots:
        for sym, pos in Book.from_fills(0.0, store.journal(bot).fills()).positions.items():
            logged[sym] = logged.get(sym, 0) + pos["qty"]
    held = broker.positions()
    diff = sorted(s for s in set(logged) | set(held)
                  if abs(logged.get(s, 0) - held.get(s, 0)) > 1e-9)
    if not diff:
        return []
    return [f"warning: broker positions differ from the trade logs for {', '.join(diff[:20])}"]


def last_price(store: Store, symbol: str, fallback: float) -> float:
    """The last known price of a held name: its last stored close, else `fallback` (the
    price the book last marked it at)."""
    bars = store.read_daily(symbol)
    closes = bars["close"].dropna() if bars is not None else pd.Series(dtype=float)
    return float(closes.iloc[-1]) if len(closes) else float(fallback)


def exit_position(store: Store, settings: Settings, key: str, symbol: str, at: datetime,
                  broker: str = "sim") -> str:
    """Close swing bot `key`'s whole position in `symbol` now, as requested at `at` (aware).

    One run of the desk (aion_core.bots.manual): the fill is logged with reason "manual"
    before the state is written; SimBroker fills at the last known price with the bot's
    slippage and fees, Alpaca (`broker`, as for `aion bots run`) at the market. The same
    request again (same `at` to the minute, no session in between) finds its fill and sends
    nothing. The kill switch does not stop it: it halts the bots' own orders, and this one
    is the admin's. Raises RefusedError when the bot holds no such position. Returns one
    line saying what happened.
    """
    bot = swing_bot(key)
    knobs = store.read_knobs([bot])[bot.key]
    with store.bot_lock(bot):
        state = store.read_bot_state(bot)
        if state is None or not state.get("as_of"):
            raise RefusedError(f"{bot.label} has not traded yet: it holds nothing to exit")
        run_key = manual_key(state["as_of"], at)
        desk = Desk(bot, ManualExit(bot, knobs), store.journal(bot))
        if desk.passed(run_key) is not None:
            done = exit_line(desk, run_key, symbol)
            return f"already done: {done}" if done else (
                f"{bot.label}: nothing done: run {desk.clock()} came after this request "
                f"({run_key}); ask again")
        pos = desk.book.positions.get(symbol)
        logged = exit_fill(desk, run_key, symbol)  # an attempt that died before its state
        if not pos and logged is None:
            raise RefusedError(f"{bot.label} holds no {symbol}: nothing to exit")
        price = last_price(store, symbol, pos["last_price"] if pos else logged.price)
        day = pd.Timestamp(at).tz_convert(market_hours.NY).strftime("%Y-%m-%d")
        run = ManualRun(run_key, day, symbol, price,
                        at.astimezone(UTC).isoformat(timespec="seconds"))
        desk.trade(run, _broker(settings, broker) or SimBroker.for_run(run, knobs))
    publish(store, settings, "bots")
    return exit_line(desk, run_key, symbol) or (
        f"{bot.label}: exit of {symbol} not filled: {desk.state['last_exit']['status']}")


def exit_fill(desk: Desk, key: str, symbol: str) -> Fill | None:
    """The logged fill of the manual exit of `symbol` in run `key`, if there is one."""
    ids = {order_id(desk.bot.name, key, symbol, side) for side in ("buy", "sell")}
    return next((f for f in desk.fills if f.order_id in ids and f.reason == REASON), None)


def exit_line(desk: Desk, key: str, symbol: str) -> str | None:
    """What the manual exit of `symbol` in run `key` did, from the trade log; None when it
    logged no fill."""
    f = exit_fill(desk, key, symbol)
    if f is None:
        return None
    verb = "sold" if f.side == "sell" else "bought back"
    return (f"{desk.bot.label}: {verb} {f.qty:,.0f} {symbol} at ${f.price:,.2f} (manual exit, "
            f"order {f.order_id}); {len(desk.book.positions)} positions open")
