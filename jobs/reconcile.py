"""`aion reconcile`: each bot's session through Alpaca checked against the broker and against a
shadow simulation of the same orders; one report per bot and session in
`ml_data/reconcile/<bot>/<YYYYMMDD>.json` (PATHS["reconcile_report"]). Reports, never fixes:
neither the journal nor the broker is changed.

- The session is the bot's last (its state's `as_of`) unless `--date` says another; the
  broker's positions are those of now, so they are compared only for the bot's last session.
- The bots share one Alpaca account: its orders, FILL activities and positions are read once
  per session for all of them, and a name's position is checked against the sum of the books
  of every bot on the account (a bot with a fill from Alpaca in its journal, or an order of
  the session at the broker).
- A bot whose session the broker holds no order of traded in simulation: nothing to
  reconcile, said in one line, no report.
- Every broker read happens before any report is written: a broker down or silent (after the
  adapter's retries and time limit) leaves the last reports as they were and ends the command
  with one line (TemporaryError).
- The same inputs give the same report, byte for byte: no clock in it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import pandas as pd

from aion_core import market_hours
from aion_core.bots import reconcile as rec
from aion_core.bots import shadow
from aion_core.bots.desk import run_key
from aion_core.bots.ledger import Book, Fill
from aion_core.bots.registry import BOTS, Bot
from aion_core.brokers.sim import SimBroker
from aion_core.config import Settings
from aion_core.errors import DataError, TemporaryError
from aion_core.knobs.schema import BotKnobs
from aion_core.store import Store
from jobs.notify import check_alerts

ISSUES_SHOWN = 20  # issue lines a command prints per report (the file holds them all)


class StatementReader(Protocol):
    """What reconciliation reads of a broker (aion_core.brokers.alpaca.AlpacaBroker)."""

    def statement(self, start: datetime, end: datetime,
                  positions: bool = True) -> rec.Statement: ...


def alpaca_reader(settings: Settings) -> StatementReader:
    """Alpaca's account as ALPACA_PAPER and ALPACA_BASE_URL say: reading places nothing, so
    the live account is read with ALPACA_PAPER=false alone."""
    from aion_core.brokers.alpaca import AlpacaBroker

    return AlpacaBroker.from_settings(
        settings, "alpaca-paper" if settings.alpaca_paper else "alpaca-live")


@dataclass(frozen=True)
class Books:
    """One bot's journal as read under its lock: its fills and its state (None: never ran)."""

    bot: Bot
    fills: list[Fill]
    state: dict[str, Any] | None

    @property
    def initial_cash(self) -> float:
        return float((self.state or {}).get("initial_cash") or 0.0)

    @property
    def last_session(self) -> str | None:
        return (self.state or {}).get("as_of")

    def through(self, session: str) -> list[Fill]:
        """The fills of every run up to `session` (an admin's exit after it included)."""
        key = session.replace("-", "")
        return [f for f in self.fills if run_key(f.order_id)[:8] <= key]

    def book(self, session: str | None = None) -> Book:
        fills = self.fills if session is None else self.through(session)
        return Book.from_fills(self.initial_cash, fills)

    @property
    def alpaca(self) -> bool:
        return any(f.broker == "alpaca" for f in self.fills)


def read_books(store: Store, bots: Iterable[Bot]) -> dict[str, Books]:
    """Each bot's journal, read under the bot's lock so that a run cannot be half-read."""
    out = {}
    for bot in bots:
        with store.bot_lock(bot):
            journal = store.journal(bot)
            out[bot.name] = Books(bot, journal.fills(), journal.read_state())
    return out


def window(session: str) -> tuple[datetime, datetime]:
    """The session's New York calendar day, [00:00, 24:00), as aware datetimes: where the
    orders of a swing session are placed (from the nightly's 02:00 on) and fill."""
    start = pd.Timestamp(session).tz_localize(market_hours.NY)
    return start.to_pydatetime(), (start + pd.Timedelta(days=1)).to_pydatetime()


def read_statements(reader: StatementReader, sessions: Iterable[str]) -> dict[str, rec.Statement]:
    """The broker's word on each session; any failure is one line and writes nothing."""
    out = {}
    for session in sorted(set(sessions)):
        start, end = window(session)
        try:
            out[session] = reader.statement(start, end, positions=True)
        except (TemporaryError, DataError) as exc:
            raise TemporaryError(f"reconcile {session}: {exc}; the last reports are kept") \
                from exc
    return out


def on_account(books: dict[str, Books], statement: rec.Statement) -> set[str]:
    """The bots trading through the broker's account: a fill from it in the journal, or an
    order of theirs in the statement."""
    names = {name for name, b in books.items() if b.alpaca}
    for order in statement.orders:
        parts = rec.parse_order_id(order.client_order_id)
        if parts and parts["bot"] in books:
            names.add(parts["bot"])
    return names


def build_report(books: dict[str, Books], bot: Bot, session: str,
                 statement: rec.Statement, account: set[str]) -> dict[str, Any]:
    """The report of `bot`'s `session` against `statement` (positions only for its last),
    without its shadow (`with_shadow` adds it)."""
    mine = books[bot.name]
    if mine.last_session != session:
        statement = dataclasses.replace(statement, positions=None)
    others = sorted(account - {bot.name})
    return rec.reconcile(bot.name, session, mine.through(session), statement,
                         mine.book(session), [books[n].book() for n in others],
                         known_bots=list(books),
                         others_fills=[f for n in others for f in books[n].fills])


def previous_report(store: Store, bot: Bot, session: str) -> dict[str, Any] | None:
    """The bot's last report of a session before `session` (None: none yet)."""
    folder = store.path("reconcile_report", **report_key(bot, session)).parent
    key = session.replace("-", "")
    earlier = sorted(p.stem for p in folder.glob("*.json") if p.stem.isdigit() and p.stem < key)
    if not earlier:
        return None
    return store.read_json("reconcile_report", bot=bot.name, yyyymmdd=earlier[-1])


def session_market(store: Store, symbols: set[str], session: str) -> shadow.SessionMarket:
    """Each symbol's last close before `session` (the decision price) and the session's open
    and close, from the stored bars (a session whose bars are not in yet has neither)."""
    day = pd.Timestamp(session)
    bars = store.read_daily_panel(sorted(symbols), end=day) if symbols else pd.DataFrame()
    if bars.empty:
        return shadow.SessionMarket({}, {}, {})
    before = bars[bars["date"] < day].groupby("symbol")["close"].last()
    today = bars[bars["date"] == day].set_index("symbol")
    return shadow.SessionMarket(before.astype(float).to_dict(),
                                today["open"].astype(float).to_dict(),
                                today["close"].astype(float).to_dict())


def carried(books: Books, session: str, prev: dict[str, Any] | None) -> tuple[Any, str | None]:
    """The previous report's shadow when the shadow carries on from it; else None and why it
    starts over (None: it starts here)."""
    if prev is None or not prev.get("shadow"):
        return None, None
    key, last = session.replace("-", ""), prev["session"].replace("-", "")
    missed = sorted({run_key(f.order_id)[:8] for f in books.fills
                     if last < run_key(f.order_id)[:8] < key})
    if missed:
        return None, (f"sessions {missed[0]}..{missed[-1]} traded without a report: the "
                      "shadow starts again from the live book")
    return prev["shadow"], None


def with_shadow(store: Store, settings: Settings, books: Books, session: str,
                report: dict[str, Any], knobs: BotKnobs) -> dict[str, Any]:
    """`report` with its shadow section and an issue for each fill at least
    AION_RECONCILE_SLIPPAGE_BP away from its shadow."""
    key = session.replace("-", "")
    fills = [f for f in books.through(session) if rec.in_session(f.order_id, books.bot.name,
                                                                  key)]
    prev, why = carried(books, session, previous_report(store, books.bot, session))
    before = books.book(_day_before(session))
    after = books.book(session)
    orders = shadow.orders_of(report, fills)
    opening = shadow.book_from(prev["book"]) if prev else before
    symbols = {o.symbol for o in orders} | set(opening.positions) | set(after.positions)
    opened, _ = market_hours.session_open_close(session)
    inputs = shadow.ShadowInputs(books.bot.name, session, orders, fills, before, after,
                                 session_market(store, symbols, session), prev, why)
    section = shadow.shadow_session(inputs, lambda prices: SimBroker(
        prices, opened.isoformat(), knobs.slippage_bps, knobs.fee_bps))
    limit = settings.aion_reconcile_slippage_bp
    extra = [{"kind": "slippage", "order_id": r["order_id"], "symbol": r["symbol"],
              "text": f"{r['order_id']}: filled {r['vs_shadow_bp']:+.1f} bp against its "
              f"shadow ({_bp(r['vs_open_bp'])} against the open, {_bp(r['vs_decision_bp'])} "
              f"against the decision price); AION_RECONCILE_SLIPPAGE_BP {limit:g}"}
             for r in section["fills"]
             if r["vs_shadow_bp"] is not None and abs(r["vs_shadow_bp"]) >= limit]
    issues = [*report["issues"], *extra]
    return {**report, "shadow": section, "issues": issues,
            "status": "differs" if issues else "ok"}


def _bp(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f} bp"


def _day_before(session: str) -> str:
    return (pd.Timestamp(session) - pd.Timedelta(days=1)).strftime("%Y-%m-%d")


def reconcile_bots(store: Store, settings: Settings, keys: list[str], day: date | None = None,
                   reader: StatementReader | None = None) -> list[str]:
    """Reconcile the bots `keys` (BOTS' keys) on `day` (default: each bot's last session);
    one line per bot, then each report's issues. Raises TemporaryError, writing nothing,
    when the broker cannot be read."""
    books = read_books(store, BOTS.values())
    wanted = [BOTS[k] for k in keys]
    sessions = {b.name: (f"{day:%Y-%m-%d}" if day else books[b.name].last_session)
                for b in wanted}
    lines = [f"{b.label}: has not traded yet: nothing to reconcile"
             for b in wanted if sessions[b.name] is None]
    todo = [b for b in wanted if sessions[b.name] is not None]
    if not todo:
        return lines
    statements = read_statements(reader or alpaca_reader(settings),
                                 (sessions[b.name] for b in todo))
    reports = []
    knobs = store.read_knobs(todo)
    for bot in todo:
        session = sessions[bot.name]
        account = on_account(books, statements[session])
        if bot.name not in account:
            lines.append(f"{bot.label} {session}: traded in simulation (no order of it at "
                         "the broker): nothing to reconcile")
            continue
        report = build_report(books, bot, session, statements[session], account)
        reports.append((bot, session, with_shadow(store, settings, books[bot.name], session,
                                                  report, knobs[bot.key])))
    for bot, session, report in reports:
        store.write_json("reconcile_report", report, **report_key(bot, session))
        lines += report_lines(store, bot, session, report)
    check_alerts(store, settings, track=False)  # a position or order to look at, a drift
    return lines


def report_key(bot: Bot, session: str) -> dict[str, str]:
    """The fields of PATHS["reconcile_report"] for `bot`'s `session` (YYYY-MM-DD)."""
    return {"bot": bot.name, "yyyymmdd": session.replace("-", "")}


def report_lines(store: Store, bot: Bot, session: str, report: dict[str, Any]) -> list[str]:
    s = report["summary"]
    head = (f"{bot.label} {session}: {report['status']}: {s['matched']} matched, "
            f"{len(report['issues'])} issues -> "
            f"{store.path('reconcile_report', **report_key(bot, session))}")
    shown = [f"  - {i['text']}" for i in report["issues"][:ISSUES_SHOWN]]
    more = len(report["issues"]) - ISSUES_SHOWN
    return [head, *shown, *([f"  ... and {more} more in the report"] if more > 0 else [])]
