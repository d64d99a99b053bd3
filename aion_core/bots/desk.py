"""The trading desk: one loop that every bot's runs go through, swing or intraday.

A run (a swing session, an intraday cycle) is:
1. recover: the book is rebuilt from the journal's fills (the truth; the state is its cache);
2. plan: the bot's planner turns the book, the state and the run's market into orders;
3. execute: each order the journal does not hold yet goes to the broker, and its fill is
   appended (fsync'd) to the journal before the next order is sent;
4. close: the planner marks the book and writes the run into the state, which the journal
   stores atomically.
A run that dies between 3 and 4 leaves a journal ahead of its state; the next attempt of the
same run regenerates the same orders (ids are deterministic), books the logged fills as they
are and sends only the rest. A run at or before the journal's clock (the later of the state's
last run and the last logged run) has already happened and changes nothing.

Runs are keyed by the second part of their order ids (`<bot>-<key>-<SYMBOL>-<side>`):
YYYYMMDD for a swing session, YYYYMMDDHHMM (New York) for an intraday cycle. Keys of one bot
sort in time order, which is all the desk needs of them.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from aion_core.bots.ledger import Book, Fill, Order, Submits, with_realized
from aion_core.bots.registry import Bot
from aion_core.errors import DataError, RefusedError
from aion_core.knobs.schema import BotKnobs


def run_key(order_id: str) -> str:
    """The run an order id belongs to (its second part; bot names hold no hyphen)."""
    return order_id.split("-")[1]


@dataclass
class Plan:
    """The orders of one run (ids assigned), a status line, and signals left waiting."""

    orders: list[Order]
    status: str
    pending: list[dict[str, Any]] = field(default_factory=list)
    screen: dict[str, Any] | None = None  # what the selection removed, rule by rule


class Run(Protocol):
    """What the desk needs of any run; each planner's own run type adds its market."""

    @property
    def key(self) -> str: ...  # the order ids' run part, see the module docstring

    @property
    def day(self) -> str: ...  # the session, YYYY-MM-DD, recorded on each fill


class Planner(Protocol):
    """A bot's rules: the state it starts from, its orders for a run, its state after one."""

    knobs: BotKnobs

    def fresh_state(self) -> dict[str, Any]: ...
    def last_key(self, state: Mapping[str, Any]) -> str: ...
    def plan(self, run: Any, book: Book, state: Mapping[str, Any]) -> Plan: ...
    def close(self, run: Any, state: Mapping[str, Any], book: Book, plan: Plan,
              filled: int, notes: list[str]) -> dict[str, Any]: ...


class Journal(Protocol):
    """Where one bot's fills and state persist: the data root (aion_core.store.LiveJournal)
    or a backtest's memory (MemoryJournal)."""

    def fills(self) -> list[Fill]: ...
    def append(self, fill: Fill) -> None: ...
    def read_state(self) -> dict[str, Any] | None: ...
    def write_state(self, state: dict[str, Any]) -> None: ...


class MemoryJournal:
    """A backtest's books: nothing leaves the process until the report is written."""

    def __init__(self) -> None:
        self.logged: list[Fill] = []
        self.state: dict[str, Any] | None = None

    def fills(self) -> list[Fill]:
        return list(self.logged)

    def append(self, fill: Fill) -> None:
        self.logged.append(fill)

    def read_state(self) -> dict[str, Any] | None:
        return self.state

    def write_state(self, state: dict[str, Any]) -> None:
        self.state = state


@dataclass(frozen=True)
class Outcome:
    """What one call of `Desk.trade` did: `ran` is False for a run that had already run."""

    bot: Bot
    key: str
    ran: bool
    status: str
    filled: int
    book: Book

    def line(self) -> str:
        if not self.ran:
            return f"{self.bot.label} {self.key}: already ran ({self.status}), nothing to do"
        return (f"{self.bot.label} {self.key}: {self.status}; {self.filled} fills, "
                f"{len(self.book.positions)} open, equity {self.book.equity:,.2f}")


class Desk:
    """One bot's books over any number of runs, in key order."""

    def __init__(self, bot: Bot, planner: Planner, journal: Journal) -> None:
        self.bot, self.planner, self.journal = bot, planner, journal
        self.state = journal.read_state() or planner.fresh_state()
        self.fills = journal.fills()
        if len({f.order_id for f in self.fills}) != len(self.fills):
            raise DataError(f"trade log of {bot.name} repeats an order_id: inspect it by hand")
        self.book = Book.from_fills(self.state["initial_cash"], self.fills)
        self.last_logged = max((run_key(f.order_id) for f in self.fills), default="")
        # each run's logged fills by order id: a run looks up its own, not the whole log (a
        # scan per run made a long backtest quadratic in its fills)
        self._logged: dict[str, dict[str, Fill]] = defaultdict(dict)
        for f in self.fills:
            self._logged[run_key(f.order_id)][f.order_id] = f

    def clock(self) -> str:
        """The last run that happened, by the state or by the journal."""
        return max(self.planner.last_key(self.state), self.last_logged)

    def done(self, key: str) -> bool:
        """Run `key` is in the past: the state has closed it, or the journal holds a later
        run (its own fills alone mean an attempt that died before its state write)."""
        return self.planner.last_key(self.state) >= key or self.last_logged > key

    def passed(self, key: str) -> Outcome | None:
        """The outcome of run `key` when it is already done (nothing to do), else None: a
        caller can ask before it gathers the run's market."""
        if not self.done(key):
            return None
        return Outcome(self.bot, key, False, f"last run {self.clock()}", 0, self.book)

    def trade(self, run: Run, broker: Submits) -> Outcome:
        """Trade `run` once; a run already done changes nothing."""
        if skipped := self.passed(run.key):
            return skipped
        book, notes = self._opening_book(run.key)
        plan = self.planner.plan(run, book, self.state)
        filled = self._execute(plan.orders, run, book, broker, notes)
        self.state = self.planner.close(run, self.state, book, plan, filled, notes)
        self.journal.write_state(self.state)
        self.book = book
        return Outcome(self.bot, run.key, True, self.state["last_run"]["status"], filled, book)

    def _opening_book(self, key: str) -> tuple[Book, list[str]]:
        """The book before run `key`, from the journal; notes say what was recovered."""
        book = copy.deepcopy(self.book)
        if self.last_logged == key:  # an attempt of this very run died after some fills
            book = Book.from_fills(self.state["initial_cash"],
                                   [f for f in self.fills if run_key(f.order_id) < key])
        notes = [] if book.same_as(Book.from_state(self.state)) else \
            ["state rebuilt from the trade log"]
        return book, notes

    def _execute(self, orders: list[Order], run: Run, book: Book, broker: Submits,
                 notes: list[str]) -> int:
        """Fill the plan through the one executor; returns the number of the run's fills."""
        logged = dict(self._logged.get(run.key, {}))
        done, said = execute_orders(orders, logged,
                                    Execution(broker, book, self.bot.name, run.day, self._record))
        notes += said
        return len(done)

    def _record(self, fill: Fill) -> None:
        self.journal.append(fill)
        self.fills.append(fill)
        self._logged[run_key(fill.order_id)][fill.order_id] = fill
        self.last_logged = max(self.last_logged, run_key(fill.order_id))


@dataclass(frozen=True)
class Execution:
    """Where one run's orders go (`broker`), the book their fills change, and how each fill
    is journaled (`record`) with its bot name and session (YYYY-MM-DD) stamped on."""

    broker: Submits
    book: Book
    bot: str
    session: str
    record: Callable[[Fill], None]


def execute_orders(orders: Iterable[Order], logged: Mapping[str, Fill],
                   to: Execution) -> tuple[list[Fill], list[str]]:
    """Fill a plan exactly once, whatever an earlier, interrupted attempt already did.

    logged: this run's fills already in the journal, by order id. An order found there is
    booked as logged and never sent again; any other goes to the broker and its fill is
    handed to `record` before the next order is sent, so a crash loses at most the state
    write, never a fill. Logged fills that the plan no longer contains still happened: they
    are booked too. A refused order (RefusedError) is skipped and noted. Returns the run's
    fills, in booking order, and the notes.
    """
    done: list[Fill] = []
    notes: list[str] = []
    planned: set[str] = set()
    for order in orders:
        planned.add(order.order_id)
        if order.order_id in logged:
            fill = logged[order.order_id]
            to.book.apply(fill)
        else:
            try:
                fill = to.broker.submit(order)
            except RefusedError as exc:
                notes.append(str(exc))
                continue
            fill = with_realized(replace(fill, bot=to.bot, session=to.session), to.book)
            to.record(fill)
        done.append(fill)
    for oid, fill in logged.items():
        if oid not in planned:
            to.book.apply(fill)
            done.append(fill)
            notes.append(f"kept logged fill {oid} from an earlier attempt")
    return done, notes
