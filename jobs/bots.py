"""Swing-bot runs: load the books, plan, fill through a broker, log, write the state.

The order of writes is what makes a run safe to kill at any moment:
1. each fill is appended (fsync'd) to `trades_<YYYYMMDD>.jsonl` with its deterministic
   `order_id` before anything else learns of it;
2. the state is written atomically once the session is done.
A run that dies between the two leaves a log ahead of its state; the next run rebuilds
positions and cash from the log (the truth), regenerates the same orders for the session,
and re-fills only the ids the log does not hold. A session the state has passed is skipped.
`Desk` is that loop for one bot; `run_bots` (live) and jobs/replay.py (history) both use it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

import pandas as pd

from aion_core import market_hours
from aion_core.bots.ledger import Book, Fill, execute_orders, session_key
from aion_core.bots.swing import bot_name, close_session, fresh_state, plan_session
from aion_core.brokers.base import Broker
from aion_core.brokers.sim import SimBroker
from aion_core.config import HORIZONS, Settings, effective_knobs
from aion_core.errors import ConfigurationError, DataError
from aion_core.store import Store, append_jsonl, locked, read_jsonl


class Journal(Protocol):
    """Where one bot's fills and state persist (the live data root, or a backtest's memory)."""

    def fills(self) -> list[Fill]: ...
    def append(self, session: str, fills: list[Fill]) -> None: ...
    def read_state(self) -> dict[str, Any] | None: ...
    def write_state(self, state: dict[str, Any]) -> None: ...


class LiveJournal:
    """CONTRACT.md's files: `bot_logs/<h>/trades_<YYYYMMDD>.jsonl` and `bot/rolling_<h>.json.gz`."""

    def __init__(self, store: Store, horizon: str) -> None:
        self.store, self.horizon, self.bot = store, horizon, bot_name(horizon)

    def fills(self) -> list[Fill]:
        folder = self.store.path("bot_trades", horizon=self.horizon, yyyymmdd="20000101").parent
        out = []
        for path in sorted(folder.glob("trades_*.jsonl")):
            out += [Fill.from_record(r) for r in read_jsonl(path).records
                    if r.get("bot") == self.bot]
        return out

    def append(self, session: str, fills: list[Fill]) -> None:
        path = self.store.path("bot_trades", horizon=self.horizon, yyyymmdd=session_key(session))
        append_jsonl(path, [f.to_record() for f in fills])

    def read_state(self) -> dict[str, Any] | None:
        return self.store.read_json("bot_state", horizon=self.horizon)

    def write_state(self, state: dict[str, Any]) -> None:
        self.store.write_json("bot_state", state, horizon=self.horizon)


class MemoryJournal:
    """A backtest's books: nothing leaves the process until the report is written."""

    def __init__(self) -> None:
        self.logged: list[Fill] = []
        self.state: dict[str, Any] | None = None

    def fills(self) -> list[Fill]:
        return list(self.logged)

    def append(self, session: str, fills: list[Fill]) -> None:
        self.logged += fills

    def read_state(self) -> dict[str, Any] | None:
        return self.state

    def write_state(self, state: dict[str, Any]) -> None:
        self.state = state


@dataclass
class SessionPrices:
    """Prices of one session, each a Series symbol -> price (USD per share).

    ref: the last close before the session (what the bot decides and sizes on);
    fill: what SimBroker fills at before costs (the session's open, else `ref`);
    mark: what positions are valued at after the session (its close, else `ref`).
    """

    ref: pd.Series
    fill: pd.Series
    mark: pd.Series
    fill_ts: str


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Desk:
    """One bot's books over a run of sessions: the log is the truth, the state its cache."""

    def __init__(self, horizon: str, knobs: dict[str, Any], journal: Journal) -> None:
        self.horizon, self.knobs, self.journal = horizon, knobs, journal
        self.bot = bot_name(horizon)
        self.state = journal.read_state() or fresh_state(self.bot, knobs["initial_cash"])
        self.fills = journal.fills()
        self.logged = {f.order_id: f for f in self.fills}
        if len(self.logged) != len(self.fills):
            raise DataError(f"trade log of {self.bot} repeats an order_id: inspect it by hand")
        self.book = Book.from_fills(self.state["initial_cash"], self.fills)
        self.last_logged = max((f.session for f in self.fills), default="")

    def done(self, session: date | pd.Timestamp) -> bool:
        return bool(self.state["as_of"]) and self.state["as_of"] >= _day(session)

    def _opening_book(self, day: str) -> tuple[Book, list[str]]:
        """The book before session `day`, from the log; notes say what was recovered."""
        if self.last_logged > day:
            raise DataError(f"{self.bot}: the trade log has fills after {day} but the state "
                            f"stops at {self.state['as_of']}; restore the state file first")
        book = copy.deepcopy(self.book)
        if self.last_logged == day:  # a run of this very session died after some fills
            book = Book.from_fills(self.state["initial_cash"],
                                   [f for f in self.fills if f.session < day])
        notes = [] if book.same_as(Book.from_state(self.state)) else \
            ["state rebuilt from the trade log"]
        return book, notes

    def run(self, session: date | pd.Timestamp, predictions: pd.DataFrame,
            prices: SessionPrices, broker: Broker | None = None, kill_switch: bool = False,
            at: str | None = None) -> str:
        """Trade `session` once; a session already done changes nothing."""
        day = _day(session)
        if self.done(session):
            return f"{self.bot} {day}: already ran, nothing to do"
        book, notes = self._opening_book(day)
        opening = {**self.state, "cash": book.cash, "positions": book.positions}
        plan = plan_session(self.bot, opening, predictions, self.knobs, prices.ref, day,
                            HORIZONS[self.horizon], kill_switch)
        broker = broker or SimBroker(prices.fill, prices.fill_ts, self.knobs["slippage_bps"],
                                     self.knobs["fee_bps"])
        filled = self._execute(plan.orders, day, book, broker, notes)
        self.state = close_session(self.state, book, day, plan, filled,
                                   prices.mark.combine_first(prices.ref), at or now_iso(), notes)
        self.journal.write_state(self.state)
        self.book = book
        return f"{self.bot} {day}: {self.state['last_run']['status']}, {filled} fills, " \
               f"equity {book.equity:,.2f}"

    def _execute(self, orders: list, day: str, book: Book, broker: Broker,
                 notes: list[str]) -> int:
        """Fill each order not yet in the log; log each fill before the next one."""
        todays = {f.order_id: f for f in self.fills if f.session == day}
        done, said = execute_orders(orders, todays, broker, book, self.bot, day, self._record)
        notes += said
        return len(done)

    def _record(self, fill: Fill) -> None:
        self.journal.append(fill.session, [fill])
        self.logged[fill.order_id] = fill
        self.fills.append(fill)
        self.last_logged = max(self.last_logged, fill.session)


def _day(session: date | pd.Timestamp | str) -> str:
    return pd.Timestamp(session).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------- live runs


def kill_switch_on(store: Store) -> bool:
    """The admin's global kill switch (`admin_settings.json`: {"kill_switch": true})."""
    doc = store.read_json("admin_settings") or {}
    return bool(doc.get("kill_switch", False))


def load_knobs(store: Store, horizons: list[str]) -> dict[str, dict[str, Any]]:
    """Schema defaults + bots_config.json overrides; an invalid knob raises KnobError naming it."""
    config = store.read_json("bots_config")
    return {h: effective_knobs(config, "swing", h) for h in horizons}


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


def _broker(settings: Settings, name: str) -> Broker | None:
    """None means "SimBroker per bot"; Alpaca is refused here unless both live switches agree."""
    if name == "sim":
        return None
    from aion_core.brokers.alpaca import AlpacaBroker

    return AlpacaBroker.from_settings(settings, name)


def run_bots(store: Store, settings: Settings, horizons: list[str], as_of: date | None = None,
             broker: str = "sim") -> list[str]:
    """One run per horizon on the rolling brain, trading the session after its `as_of`.

    `as_of` (optional) must be the brain's date: predictions of another day are not stored.
    Returns one line per bot.
    """
    brain = store.read_json("rolling_brain")
    if brain is None:
        raise ConfigurationError("no predictions yet: run `aion nightly` first")
    if as_of is not None and _day(as_of) != brain["as_of"]:
        raise DataError(f"the rolling brain is as of {brain['as_of']}, not {_day(as_of)}: "
                        f"run `aion nightly --as-of {_day(as_of)}` first")
    knobs = load_knobs(store, horizons)
    live_broker = _broker(settings, broker)
    session = market_hours.calendar().next_session(pd.Timestamp(brain["as_of"]))
    prices = live_prices(store, brain, session)
    kill = kill_switch_on(store)
    lines = []
    for h in horizons:
        with store_lock(store, h):
            desk = Desk(h, knobs[h], LiveJournal(store, h))
            lines.append(desk.run(session, brain_predictions(brain, h), prices, live_broker,
                                  kill))
    if live_broker is not None:
        lines += broker_mismatch(store, horizons, live_broker)
    return lines


def store_lock(store: Store, horizon: str):
    """Serialise runs of one bot (scheduler vs a manual run): one writer of its books."""
    return locked(store.path("bot_state", horizon=horizon))


def broker_mismatch(store: Store, horizons: list[str], broker: Broker) -> list[str]:
    """Compare the logged positions of all bots with the broker's; report, never overwrite.

    The bots share one account, so the broker's quantity of a name is the sum over bots.
    """
    logged: dict[str, float] = {}
    for h in horizons:
        journal = LiveJournal(store, h)
        for sym, pos in Book.from_fills(0.0, journal.fills()).positions.items():
            logged[sym] = logged.get(sym, 0) + pos["qty"]
    held = broker.positions()
    diff = sorted(s for s in set(logged) | set(held)
                  if abs(logged.get(s, 0) - held.get(s, 0)) > 1e-9)
    if not diff:
        return []
    return [f"warning: broker positions differ from the trade logs for {', '.join(diff[:20])}"]
