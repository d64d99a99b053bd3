"""The notifier: after the nightly, the bots and each intraday cycle, and every few minutes
in the scheduler, read the data root, decide the causes (aion_core.alerts.rules), send the new
ones (aion_core.alerts.sender) and remember them in PATHS["notify_state"].

`check_alerts` never raises and does nothing without AION_NOTIFY_URLS: a notification is a
courtesy of the job that calls it, and the files stay the record. Each part of the data root
is read on its own, so a corrupt bot state silences its own rule (its causes keep their
previous state) and nothing else. The check, the sends and the state write run under the
state file's lock, so the scheduler and a command run at the same moment notify once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd

from aion_core.alerts import rules
from aion_core.alerts.rules import Alert, BotBook, Inputs
from aion_core.alerts.sender import AppriseSender, secret_values, split_urls
from aion_core.bots.registry import BOTS, NIGHTLY_JOB
from aion_core.config import Settings
from aion_core.errors import AionError
from aion_core.ml.monitoring import realised_returns, track_frame
from aion_core.store import Store, read_parquet
from jobs.progress import describe
from jobs.running import unfinished

log = logging.getLogger("aion.notify")

HISTORY_COLUMNS = ["as_of", "symbol", "horizon", "expected_return", "confidence"]
#: Forecast dates read for the rank IC: the window plus the longest horizon (20 sessions)
#: whose outcomes are not known yet, with a margin for dates of too few names.
HISTORY_DATES = rules.IC_WINDOW + 20 + 10
_FAILED = object()  # a part of the data root that could not be read


class Sender(Protocol):
    def send(self, alert: Alert) -> bool: ...


def check_alerts(store: Store, settings: Settings, now: datetime | None = None,
                 sender: Sender | None = None, track: bool = True) -> list[str]:
    """Send the causes due now; one line per alert sent. Never raises (logs a warning).

    `track=False` leaves the realised rank IC out (kept as it was): it reads the whole
    prediction history and every close, and only a nightly changes it, so the 15-minute
    intraday cycle need not pay for it."""
    urls = split_urls(settings.aion_notify_urls)
    if not urls and sender is None:
        return []
    try:
        sender = sender or AppriseSender(urls, secret_values(settings))
        return _check(store, now or datetime.now(UTC), sender, track,
                      settings.aion_reconcile_tracking_bp)
    except Exception as exc:  # noqa: BLE001 - a notification never fails its job
        log.warning("notifications skipped: %s", describe(exc, store.root))
        return []


def _check(store: Store, now: datetime, sender: Sender, track: bool = True,
           tracking_limit_bp: float = 50.0) -> list[str]:
    inputs = gather(store, now, track, tracking_limit_bp)
    found = rules.evaluate(inputs)
    with store.file_lock("notify_state"):
        state = _part(lambda: store.read_json("notify_state"), "the notify state", None)
        sent: set[str] = set()
        for alert in rules.due(found, state, now):
            if not sender.send(alert):
                break  # down or silent: the rest wait for the next check, not on this job
            sent.add(alert.key)
        store.write_json("notify_state", rules.remember(state, found, sent, now,
                                                         inputs.unknown))
    return [f"notified: {a.title}" for a in found if a.key in sent]


def gather(store: Store, now: datetime, track: bool = True,
           tracking_limit_bp: float = 50.0) -> Inputs:
    """The rules' inputs from the data root; a part that cannot be read, or is not read
    (`track=False`), is `unknown`, so its causes keep their state."""
    unknown: set[str] = set() if track else {"rank_ic"}

    def part(fn: Callable[[], Any], what: str, rules: tuple[str, ...], empty: Any) -> Any:
        value = _part(fn, what, _FAILED)
        if value is _FAILED:
            unknown.update(rules)
            return empty
        return value

    return Inputs(
        now=now,
        summary=part(lambda: store.read_json("nightly_summary"), "the nightly summary",
                     ("nightly", "nightly_stale"), None),
        nightly_run=part(lambda: unfinished(store, NIGHTLY_JOB, now), "the nightly's run marker",
                         ("nightly", "nightly_stale"), None),
        heartbeat=part(lambda: store.read_json("scheduler_heartbeat"), "the heartbeat",
                       ("scheduler_stale",), None),
        kill_switch=part(store.kill_switch_on, "the admin settings", ("kill_switch",), False),
        books=part(lambda: bot_books(store), "the bots' books", ("drawdown",), ()),
        track=part(lambda: recent_track(store), "the prediction history", ("rank_ic",), None)
        if track else None,
        reconciled=part(lambda: last_reconciled(store), "the reconcile reports",
                        rules.RECONCILE_PARTS, ()),
        tracking_limit_bp=tracking_limit_bp,
        unknown=frozenset(unknown))


def _part(fn: Callable[[], Any], what: str, failed: Any) -> Any:
    try:
        return fn()
    except (AionError, OSError, ValueError) as exc:
        log.warning("notifications: cannot read %s: %s", what, exc)
        return failed


def bot_books(store: Store) -> list[BotBook]:
    """Each bot with a state: its equity history and its max_drawdown_alert knob."""
    knobs = store.read_knobs(BOTS.values())
    books = []
    for bot in BOTS.values():
        state = store.read_bot_state(bot)
        if state:
            equity = [float(p["equity"]) for p in state.get("equity_history", [])]
            books.append(BotBook(bot.name, equity, knobs[bot.key].max_drawdown_alert))
    return books


def last_reconciled(store: Store) -> list[dict[str, Any]]:
    """Each bot's last reconcile report (`aion reconcile`), by session."""
    out = []
    for bot in BOTS.values():
        folder = store.path("reconcile_report", bot=bot.name, yyyymmdd="20000101").parent
        days = sorted(p.stem for p in folder.glob("*.json") if p.stem.isdigit()) \
            if folder.is_dir() else []
        if days:
            out.append(store.read_json("reconcile_report", bot=bot.name, yyyymmdd=days[-1]))
    return [r for r in out if r]


def recent_track(store: Store) -> pd.DataFrame | None:
    """The last HISTORY_DATES forecast dates beside their outcomes (monitoring.track_frame);
    None before the first prediction or without bars."""
    history = read_parquet(store.path("prediction_history"), columns=HISTORY_COLUMNS)
    bars = store.read_daily_panel()
    if history is None or history.empty or bars.empty:
        return None
    history["as_of"] = pd.to_datetime(history["as_of"])
    dates = history["as_of"].drop_duplicates().nlargest(HISTORY_DATES)
    history = history[history["as_of"] >= dates.min()]
    return track_frame(history, realised_returns(bars[bars["date"] >= dates.min()]))
