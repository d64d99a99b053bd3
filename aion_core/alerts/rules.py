"""What Aion should tell someone about, and whether it already has: pure decisions.

The notifier (jobs/notify.py) reads the data root into `Inputs`; `evaluate` turns them into
the causes active now, each an `Alert` with a stable `key`; `due` and `remember` keep the
notifier's memory (documents.NotifyState) so that a cause notifies once while it lasts, again
only after RENOTIFY, and anew once it has cleared. No clock, no file, no network here: every
rule is a function of its arguments, so each cause is tested without a data root.

Causes (keys): `nightly:failed|partial` (the last nightly's status), `nightly:died` (the
last nightly started and its process ended without a summary: SIGKILL, out of memory, an
abort; `nightly:failed|interrupted` when it raised or its scheduler stopped without it: the
run's started marker, aion_core.runs), `nightly_stale` (no nightly started since the session
it should cover), `scheduler_stale` (a heartbeat that says
"running" but has not been rewritten for HEARTBEAT_STALE), `kill_switch`, `drawdown:<bot>`
(equity below its peak by the bot's `max_drawdown_alert` knob or more), `rank_ic:<horizon>`
(the realised rank IC of the last IC_WINDOW forecast dates averages below zero);
from each bot's last `aion reconcile` report: `reconcile_position:<SYMBOL>` (the broker holds
another quantity than the books of the bots on the account), `reconcile_order:<order id>`
(an order only at the broker: placed by hand or another tool, or an Aion order the journal
lacks), `reconcile_tracking:<bot>` (the live book's equity AION_RECONCILE_TRACKING_BP or more
away from its shadow's, either way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import pandas as pd

from aion_core import market_hours
from aion_core.ml.evaluation import daily_ic
from aion_core.ml.monitoring import ROLLING_DATES
from aion_core.runs import RunState

#: A nightly starts at 02:00 and takes minutes to an hour: 12 h after a session's close the
#: nightly covering it should have started, whatever the time zone of the schedule.
NIGHTLY_GRACE = timedelta(hours=12)
#: The scheduler rewrites its heartbeat every minute; five missed beats is a dead process.
HEARTBEAT_STALE = timedelta(minutes=5)
#: "Realised 20-session rank IC": the Models page's rolling window of forecast dates.
IC_WINDOW = ROLLING_DATES
#: A cause still active is repeated after this long: a reminder a day, never a flood.
RENOTIFY = timedelta(hours=24)
DETAIL_MAX = 200  # characters of a step's detail quoted in a message

Level = Literal["failure", "warning"]


@dataclass(frozen=True)
class Alert:
    """One active cause: `key` names it for the throttle, title and body are the message."""

    key: str
    title: str
    body: str
    level: Level = "warning"

    @property
    def part(self) -> str:
        """The rule that raised it (the key before ":"): what `Inputs.unknown` names."""
        return self.key.split(":", 1)[0]


@dataclass(frozen=True)
class BotBook:
    """What the drawdown rule needs of one bot: equity oldest first (USD), and its knob."""

    name: str
    equity: Sequence[float]
    limit: float


@dataclass(frozen=True)
class Inputs:
    """The data root as the rules see it; `unknown`: rules whose inputs could not be read
    (their causes keep their previous state instead of clearing)."""

    now: datetime
    summary: Mapping[str, Any] | None = None
    nightly_run: RunState | None = None
    """The nightly's run that started and has not finished (running, or died during a step)."""
    heartbeat: Mapping[str, Any] | None = None
    kill_switch: bool = False
    books: Sequence[BotBook] = ()
    track: pd.DataFrame | None = None
    reconciled: Sequence[Mapping[str, Any]] = ()
    """Each bot's last reconcile report (documents.ReconcileReport)."""
    tracking_limit_bp: float = 50.0
    unknown: frozenset[str] = field(default_factory=frozenset)


# --------------------------------------------------------------------------- the rules


def nightly_alerts(summary: Mapping[str, Any] | None,
                   run: RunState | None = None) -> list[Alert]:
    """The last nightly's status when it is failed or partial, with its steps that were not
    ok (a failed run published nothing; a partial one published on incomplete data). A run
    that started after that summary and ended without one (`run`: died, or raised, during a
    step) is the last nightly instead: a failure, since it published nothing."""
    if run is not None and run.ended:
        return [died_alert(run)]
    status = (summary or {}).get("status")
    if status not in ("failed", "partial"):
        return []
    steps = [f"- {s.get('name')}: {s.get('status')}: {str(s.get('detail') or '')[:DETAIL_MAX]}"
             for s in summary.get("steps", []) if s.get("status") not in ("ok", "skipped")]
    body = "\n".join([f"Nightly {summary.get('run_id')} (as of {summary.get('as_of')}) "
                      f"ended {status}.", *steps])
    return [Alert(f"nightly:{status}", f"Aion: nightly {status}", body,
                  "failure" if status == "failed" else "warning")]


def died_alert(run: RunState) -> Alert:
    """A nightly that started and ended without a summary, during which step, and when."""
    why = (" Nothing was logged because nothing could be: SIGKILL, the out-of-memory killer "
           "or an abort in C code end a process without a word, so its log stops at that "
           "step's start." if run.status == "died" else "")
    body = (f"Nightly {run.run_id} {run.text} (pid {run.pid} on {run.host}, started "
            f"{run.started_at.isoformat()}); it wrote no summary and published nothing new."
            f"{why} Its log: {run.log}.")
    return Alert(f"nightly:{run.status}", f"Aion: nightly {run.headline}", body, "failure")


def nightly_stale(summary: Mapping[str, Any] | None, now: datetime,
                  run: RunState | None = None) -> list[Alert]:
    """No nightly has started since the close of the session it should cover by now.

    Judged on when the last run started (a summary's, or an unfinished `run`'s), not on its
    as_of: a run that started and failed or died is `nightly:*`, not stale. A root that never
    ran a nightly has nothing to be late for."""
    starts = [pd.Timestamp(t) for t in ((summary or {}).get("started_at"),
                                        run.started_at if run is not None else None) if t]
    if not starts:
        return []
    expected = market_hours.last_completed_session(now - NIGHTLY_GRACE)
    _, close = market_hours.session_open_close(expected)
    started = max(starts)
    if started >= close:
        return []
    body = (f"No nightly has started since {expected.date()}'s close; the last started "
            f"{started.isoformat()} (as of {(summary or {}).get('as_of')}). Is the scheduler "
            "running?")
    return [Alert("nightly_stale", "Aion: nightly is stale", body, "failure")]


def heartbeat_stale(heartbeat: Mapping[str, Any] | None, now: datetime) -> list[Alert]:
    """A scheduler that says it is running but has not beaten for HEARTBEAT_STALE (a stop
    by signal writes "stopped": that is a decision, not a fault)."""
    if not heartbeat or heartbeat.get("status") != "running" or not heartbeat.get("at"):
        return []
    age = pd.Timestamp(now) - pd.Timestamp(heartbeat["at"])
    if age < HEARTBEAT_STALE:
        return []
    body = (f"The scheduler's heartbeat is {int(age.total_seconds() // 60)} minutes old "
            f"(pid {heartbeat.get('pid')}, last at {heartbeat['at']}): no job is firing.")
    return [Alert("scheduler_stale", "Aion: scheduler heartbeat is stale", body, "failure")]


def kill_switch_alerts(on: bool) -> list[Alert]:
    if not on:
        return []
    return [Alert("kill_switch", "Aion: kill switch engaged",
                  "The admin kill switch is on: the bots place no order until it is turned "
                  "off on the Admin page.")]


def drawdown_alerts(books: Sequence[BotBook]) -> list[Alert]:
    """Each bot whose last equity is `limit` (a fraction) or more below its peak so far."""
    out = []
    for book in books:
        if len(book.equity) < 2:
            continue
        peak, last = max(book.equity), book.equity[-1]
        drawdown = 1.0 - last / peak if peak > 0 else 0.0
        if drawdown >= book.limit:
            out.append(Alert(
                f"drawdown:{book.name}", f"Aion: {book.name} drawdown {drawdown:.1%}",
                f"{book.name}: equity {last:,.0f} is {drawdown:.1%} below its peak "
                f"{peak:,.0f} (max_drawdown_alert {book.limit:.0%})."))
    return out


def realised_rank_ic(track: pd.DataFrame, window: int = IC_WINDOW) -> dict[str, float]:
    """Mean daily rank IC of each horizon's last `window` forecast dates whose outcome is
    known, for horizons with that many dates (fewer would be noise, not a verdict).

    track: monitoring.track_frame rows (`date, symbol, horizon, expected_return, realised`,
    returns as fractions); evaluation.daily_ic is the Models page's definition."""
    out = {}
    for horizon, rows in track.groupby("horizon", sort=True):
        ic = daily_ic(rows, "expected_return").sort_values("date")["rank_ic"].tail(window)
        if len(ic) == window:
            out[str(horizon)] = float(ic.mean())
    return out


def rank_ic_alerts(track: pd.DataFrame | None, window: int = IC_WINDOW) -> list[Alert]:
    if track is None or track.empty:
        return []
    return [Alert(f"rank_ic:{h}", f"Aion: {h} model's realised rank IC below zero",
                  f"The {h} model's realised rank IC over its last {window} forecast dates "
                  f"averages {ic:+.3f}: its ranking has been worse than random.")
            for h, ic in realised_rank_ic(track, window).items() if ic < 0]


RECONCILE_PARTS = ("reconcile_position", "reconcile_order", "reconcile_tracking")


def reconcile_alerts(reports: Sequence[Mapping[str, Any]], limit_bp: float) -> list[Alert]:
    """From each bot's last reconcile report: every position that differs (once per symbol:
    the bots share the account), every order only at the broker, and a live book whose
    cumulative tracking difference to its shadow is `limit_bp` or more either way."""
    found: dict[str, Alert] = {}
    for r in reports:
        where = f"{r['bot']}, session {r['session']}"
        for p in r.get("positions") or []:
            why = (f" Explained by {', '.join(p['explained_by'])}, only at the broker."
                   if p.get("explained_by") else "")
            found.setdefault(f"reconcile_position:{p['symbol']}", Alert(
                f"reconcile_position:{p['symbol']}",
                f"Aion: {p['symbol']} differs at the broker",
                f"The broker holds {p['broker_qty']:g} {p['symbol']}, the bots' books "
                f"{p['journal_qty']:g} ({p['kind']}; reconciled with {where}).{why}"))
        for o in r.get("only_at_broker") or []:
            name = o.get("order_id") or o.get("broker_id")
            found.setdefault(f"reconcile_order:{name}", Alert(
                f"reconcile_order:{name}", f"Aion: an order only at the broker ({o['symbol']})",
                f"Order {name}: {o['side']} {o['filled_qty']:g}/{o['qty']:g} {o['symbol']} "
                f"({o['status']}), placed by {o['placed_by']}, is not in any journal "
                f"({where})."))
        track = (r.get("shadow") or {}).get("tracking_bp")
        if track is not None and abs(track) >= limit_bp:
            found[f"reconcile_tracking:{r['bot']}"] = Alert(
                f"reconcile_tracking:{r['bot']}",
                f"Aion: {r['bot']} is {track:+.0f} bp from its shadow",
                f"{r['bot']}'s live equity is {track:+.1f} bp from its shadow simulation's "
                f"since {r['shadow'].get('start')} ({where}; AION_RECONCILE_TRACKING_BP "
                f"{limit_bp:g}).")
    return list(found.values())


def evaluate(inputs: Inputs) -> list[Alert]:
    """Every cause active now, in a fixed order."""
    return [*nightly_alerts(inputs.summary, inputs.nightly_run),
            *nightly_stale(inputs.summary, inputs.now, inputs.nightly_run),
            *heartbeat_stale(inputs.heartbeat, inputs.now),
            *kill_switch_alerts(inputs.kill_switch), *drawdown_alerts(inputs.books),
            *rank_ic_alerts(inputs.track),
            *reconcile_alerts(inputs.reconciled, inputs.tracking_limit_bp)]


# --------------------------------------------------------------------------- the throttle


def due(alerts: Sequence[Alert], state: Mapping[str, Any] | None, now: datetime,
        renotify: timedelta = RENOTIFY) -> list[Alert]:
    """The alerts to send now: causes never sent, or last sent `renotify` ago or more."""
    causes = (state or {}).get("causes", {})

    def waiting(alert: Alert) -> bool:
        sent = (causes.get(alert.key) or {}).get("sent_at")
        return sent is None or pd.Timestamp(now) - pd.Timestamp(sent) >= renotify

    return [a for a in alerts if waiting(a)]


def remember(state: Mapping[str, Any] | None, alerts: Sequence[Alert], sent: set[str],
             now: datetime, unknown: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The next NotifyState: the active causes (sent now or kept from before); a cause no
    longer active is dropped, so it notifies again when it returns, unless its rule could
    not judge this time (`unknown`: a file that failed to read clears nothing)."""
    old = dict((state or {}).get("causes", {}))
    stamp = now.isoformat()
    causes = {key: cause for key, cause in old.items() if key.split(":", 1)[0] in unknown}
    for alert in alerts:
        before = old.get(alert.key) or {}
        causes[alert.key] = {"since": before.get("since", stamp),
                             "sent_at": stamp if alert.key in sent else before.get("sent_at"),
                             "title": alert.title}
    return {"schema": 1, "causes": causes}
