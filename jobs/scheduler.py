"""The scheduler sidecar (`aion scheduler`): APScheduler 3 firing the pipeline on NYSE time.

Jobs (these names appear in `--dry-run`, the heartbeat and the lock files):

- nightly: 02:00 in `AION_TIMEZONE`, on mornings after a NYSE session;
  runs `jobs.nightly.run_nightly(store, settings)`, then on success
  `jobs.intraday.train_intraday_model(store, settings)` (the intraday model, on past minutes).
- swing_bots: 09:00 New York on sessions, only if the last nightly succeeded for the last
  completed session; runs `jobs.bots.run_bots(store, settings, ["1w", "2w", "4w"])` through
  AION_BROKER (sim unless set), and when that is Alpaca, `jobs.reconcile.reconcile_bots`
  right after (its failure is a line in the outcome, not the job's).
- intraday: every 15 minutes while NYSE is open, from the first completed minute (09:45 ..
  15:45; 12:45 on early closes);
  runs `jobs.intraday.run_intraday_cycle(store, settings, at=now)`.

Why gated triggers: a plain cron of `*/15` in hours 9-15 fires at 09:00 and on holidays and
after early closes. `GatedTrigger` wraps the cron and skips every fire time the market-hours
helper rejects, so APScheduler's own next-run time, the heartbeat and `--dry-run` show only
fires where the job really runs.

Every job is added with `max_instances=1`, `coalesce=True` and a `misfire_grace_time` (nightly
1 h, swing_bots 30 min, intraday 5 min: a cycle later than that is stale, the next comes in 15).

Locks: `Store.job_lock(job)` (PATHS["job_lock"], `logs/jobs/<job>.lock`) for job in nightly,
swing_bots, intraday. Whoever STARTS a job takes it: the scheduler here (a held lock is
recorded as "skipped"), and the `aion nightly` / `aion bots run` / `aion intraday cycle`
commands, which is what the admin page's run-now buttons launch, so a run from the page and a
scheduled run never overlap. The job functions themselves never take it.

Errors: while a job runs, what its thread logs also goes to its log file (PATHS["job_log"],
`logs/jobs/<job>.log`), and an exception it raises is logged there with its traceback. A
listener on EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES records them in the
heartbeat (jobs/heartbeat.py), which logs one line on stderr pointing at that file; the
scheduler keeps running.

Notifications: with AION_NOTIFY_URLS set, a `notify` job runs `jobs.notify.check_alerts`
every NOTIFY_EVERY_S (the jobs check after each run too; this catches what no run reports,
such as a nightly that never started). It never raises and is not in the heartbeat.

Stopping: SIGTERM and SIGINT call `shutdown(wait=False)`, the heartbeat says "stopped", and a
job already running gets STOP_GRACE_S to finish; after that the process exits without it
(`_exit_without_jobs`). Why not ask the job to stop instead: the longest work (a LightGBM fit, an
HTTP call) is C code that no flag reaches, so a bound needs a hard stop anyway, and a hard stop
is safe here: every file is written whole or not at all (atomic rename) and every lock is an
flock the kernel drops with the process, so it leaves exactly what the SIGKILL systemd sends
after TimeoutStopSec (60 s) would leave, earlier and with the heartbeat written. The run's
started marker (jobs/running.py) then says "interrupted during <step>", and so does the
heartbeat's last result.

Dead runs: a run that dies with its process (SIGKILL, out of memory, an abort in C code; a
nightly here dies with the scheduler) leaves its started marker; when the scheduler starts,
`record_unfinished` makes "died during <step> at <time>" that job's last result.

Test schedule (tests and demos only): `AION_SCHEDULER_TEST_SECONDS=N` replaces every trigger
by "every N seconds, no market-hours gate" and writes the heartbeat every N seconds; point
`--data-dir` at a tiny data root when using it. Never set it in production.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from logging.handlers import RotatingFileHandler
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_START,
    JobEvent,
)
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from aion_core import market_hours
from aion_core.alerts.sender import split_urls
from aion_core.bots.registry import INTRADAY_JOB, JOB_NAMES, NIGHTLY_JOB, SWING_BOTS, SWING_JOB
from aion_core.config import Settings
from aion_core.errors import AionError, BusyError, ConfigurationError
from aion_core.runs import RunState
from aion_core.store import Store
from jobs.heartbeat import Heartbeat, Outcome, now_utc
from jobs.notify import check_alerts
from jobs.progress import FILE_ONLY, LOG_FORMAT, describe
from jobs.running import interrupt_own, unfinished

log = logging.getLogger("aion.scheduler")

TEST_SECONDS_ENV = "AION_SCHEDULER_TEST_SECONDS"
HEARTBEAT_EVERY_S = 60
MAX_SKIPPED_FIRES = 5_000  # a gate rejecting this many fires in a row means "never"
STOP_GRACE_S = 20.0  # a running job's time to finish after SIGTERM (systemd allows 60 s)
NOTIFY_EVERY_S = 300  # the notifier's own check (jobs/notify.py): stale nightly, kill switch
JOB_LOG_BYTES = 2_000_000  # a job's log file is rotated (one old copy kept) past this size
_TICK = timedelta(microseconds=1)

JobFn = Callable[[Store, Settings, datetime], Outcome]


class JobFailed(AionError):
    """A job function reported failure without raising (e.g. nightly status "failed")."""


class GatedTrigger(BaseTrigger):
    """`trigger`'s fire times, keeping only those where `gate(fire_time)` is true."""

    def __init__(self, trigger: BaseTrigger, gate: Callable[[datetime], bool]) -> None:
        self.trigger = trigger
        self.gate = gate

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        t = self.trigger.get_next_fire_time(previous_fire_time, now)
        for _ in range(MAX_SKIPPED_FIRES):
            try:
                if t is None or self.gate(t):
                    return t
            except ConfigurationError as exc:  # beyond the exchange calendar's range
                log.error("no further fire time: %s", exc)
                return None
            t = self.trigger.get_next_fire_time(t, t + _TICK)
        return None

    def __str__(self) -> str:
        return f"gated[{self.trigger}]"


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: its name, when it fires, what it runs, how late it may start."""

    name: str
    trigger: BaseTrigger
    run: JobFn
    misfire_grace_time: int


# --------------------------------------------------------------------------- gates


def after_session(t: datetime) -> bool:
    """Nightly gate: the day before `t` (New York) was a session, so there is new data."""
    day = t.astimezone(ZoneInfo(market_hours.NY)).date()
    return market_hours.is_session(day - timedelta(days=1))


def after_first_minute(t: datetime) -> bool:
    """Intraday gate: NYSE is open at `t` and at least one minute bar has completed (a cycle
    at the opening bell has nothing to act on, so it would not really run)."""
    if not market_hours.is_open(t):
        return False
    opened, _ = market_hours.session_open_close(market_hours.session_at(t))
    return market_hours.utc(t) > opened


def on_session(t: datetime) -> bool:
    return market_hours.is_session(t.astimezone(ZoneInfo(market_hours.NY)).date())


# --------------------------------------------------------------------------- the jobs


def _nightly(store: Store, settings: Settings, at: datetime) -> Outcome:
    from jobs.nightly import failed_steps, run_nightly

    summary = run_nightly(store, settings)
    failures = failed_steps(summary)  # one line each; the tracebacks are in the run's log
    fatal = failures.pop() if summary.get("status") == "failed" else None  # the required step's
    for line in failures:
        log.warning(line)
    if fatal:
        raise JobFailed(fatal)
    detail = f"nightly {summary.get('status')}: as_of {summary.get('as_of')}"
    from jobs.intraday import train_intraday_model

    if failures:
        detail += f"; {failures[0]}"
    # A partial nightly (an optional step failed) is recorded as such, never as ok.
    status = "partial" if summary.get("status") == "partial" else "ok"
    return Outcome(status, f"{detail}; {train_intraday_model(store, settings)}")


def _swing_bots(store: Store, settings: Settings, at: datetime) -> Outcome:
    """Trade only on a fresh, successful nightly: stale predictions are worse than none."""
    expected = market_hours.last_completed_session(at).date().isoformat()
    summary = store.read_json("nightly_summary") or {}
    if summary.get("status") not in ("ok", "partial") or summary.get("as_of") != expected:
        return Outcome("skipped", f"no successful nightly for {expected} (last: "
                                  f"{summary.get('status')} as_of {summary.get('as_of')})")
    from jobs.bots import run_bots

    keys = [b.key for b in SWING_BOTS]
    lines = run_bots(store, settings, keys, broker=settings.aion_broker)
    if settings.aion_broker != "sim":
        lines += _reconcile(store, settings, keys)
    return Outcome("ok", "; ".join(lines))


def _reconcile(store: Store, settings: Settings, keys: list[str]) -> list[str]:
    """After a run through Alpaca: each bot's session against the broker and its shadow. A
    broker that cannot be read costs the reports (the last ones are kept), never the run."""
    from jobs.reconcile import reconcile_bots

    try:
        return [line for line in reconcile_bots(store, settings, keys)
                if not line.startswith("  ")]  # the heartbeat gets the headlines
    except AionError as exc:
        log.warning("reconcile: %s", exc)
        return [f"reconcile failed: {exc}"]


def _intraday(store: Store, settings: Settings, at: datetime) -> Outcome:
    from jobs.intraday import run_intraday_cycle

    return Outcome("ok", run_intraday_cycle(store, settings, at=at))


def job_specs(settings: Settings, test_seconds: float | None = None) -> list[JobSpec]:
    """The production schedule, or every job every `test_seconds` without gates (tests)."""
    runs: dict[str, JobFn] = {NIGHTLY_JOB: _nightly, SWING_JOB: _swing_bots,
                              INTRADAY_JOB: _intraday}
    grace = {NIGHTLY_JOB: 3600, SWING_JOB: 1800, INTRADAY_JOB: 300}
    if test_seconds:
        return [JobSpec(n, IntervalTrigger(seconds=test_seconds, timezone=settings.aion_timezone),
                        runs[n], grace[n]) for n in JOB_NAMES]
    ny = market_hours.NY
    triggers = {
        NIGHTLY_JOB: GatedTrigger(CronTrigger(hour=2, minute=0, timezone=settings.aion_timezone),
                                after_session),
        SWING_JOB: GatedTrigger(CronTrigger(day_of_week="mon-fri", hour=9, minute=0,
                                               timezone=ny), on_session),
        INTRADAY_JOB: GatedTrigger(CronTrigger(day_of_week="mon-fri", hour="9-15", minute="*/15",
                                             timezone=ny), after_first_minute),
    }
    return [JobSpec(n, triggers[n], runs[n], grace[n]) for n in JOB_NAMES]


def test_seconds_from_env() -> float | None:
    raw = os.environ.get(TEST_SECONDS_ENV, "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigurationError(f"{TEST_SECONDS_ENV} must be a number, got {raw!r}") from None
    if seconds <= 0:
        raise ConfigurationError(f"{TEST_SECONDS_ENV} must be positive, got {raw!r}")
    return seconds


# --------------------------------------------------------------------------- running a job


def run_job(store: Store, settings: Settings, spec: JobSpec,
            at: datetime | None = None) -> Outcome:
    """Run `spec` under its lock, logging to its log file; "skipped" when another run
    (scheduler or admin) holds the lock.

    Exceptions propagate, after their traceback went to the job's log: the scheduler's
    listener records them.
    """
    try:
        with store.job_lock(spec.name), _job_log(store, spec.name):
            return spec.run(store, settings, at or now_utc())
    except BusyError as exc:
        return Outcome("skipped", str(exc))


@contextlib.contextmanager
def _job_log(store: Store, name: str) -> Iterator[None]:
    """This thread's log records, tracebacks included, also into the job's log file (other
    jobs may be running in other threads meanwhile: theirs go to their own files)."""
    path = store.path("job_log", job=name)
    handler = RotatingFileHandler(path, maxBytes=JOB_LOG_BYTES, backupCount=1, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    thread = threading.get_ident()
    handler.addFilter(lambda record: record.thread == thread)
    logging.getLogger().addHandler(handler)
    try:
        yield
    except Exception as exc:
        log.error("job %s failed: %s", name, describe(exc, store.root), exc_info=True,
                  extra=FILE_ONLY)
        raise
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _listener(heartbeat: Heartbeat) -> Callable[[JobEvent], None]:
    def on_event(event: JobEvent) -> None:
        if event.job_id not in heartbeat.names:
            return  # the heartbeat's own job
        if event.code == EVENT_JOB_EXECUTED:
            outcome = event.retval if isinstance(event.retval, Outcome) else Outcome("ok")
        elif event.code == EVENT_JOB_ERROR:  # the traceback is in the job's log (_job_log)
            exc = event.exception
            where = "" if isinstance(exc, AionError) else \
                f" (see {heartbeat.store.path('job_log', job=event.job_id)})"
            run = _own_ended_run(heartbeat.store, event.job_id)  # names the step it was in
            outcome = Outcome("failed", (run.text if run else
                                         describe(exc, heartbeat.store.root)) + where)
        elif event.code == EVENT_JOB_MISSED:
            outcome = Outcome("missed", f"missed its {event.scheduled_run_time} fire "
                                        "(later than misfire_grace_time)")
        else:  # EVENT_JOB_MAX_INSTANCES
            outcome = Outcome("skipped", "the previous run is still going")
        heartbeat.record(event.job_id, outcome)

    return on_event


def _own_ended_run(store: Store, job: str) -> RunState | None:
    """The job's run that this process started and that raised, from its started marker."""
    try:
        run = unfinished(store, job)
    except AionError:
        return None
    return run if run is not None and run.ended and run.pid == os.getpid() else None


def record_unfinished(store: Store, heartbeat: Heartbeat) -> list[str]:
    """At start: each job's run that ended without a result (its process died: SIGKILL, out
    of memory, an abort; or a scheduler stopped without it) becomes the job's last result in
    the heartbeat, "died during <step> at <time>", unless a newer result is known."""
    states: dict[str, RunState | None] = {}
    for name in heartbeat.names:
        try:
            states[name] = unfinished(store, name)
        except AionError as exc:  # a corrupt marker: its readers name it
            log.warning("cannot read the run marker of %s: %s", name, exc)
    return heartbeat.record_ended(states)


def build_scheduler(store: Store, settings: Settings, specs: list[JobSpec],
                    scheduler_cls: type[BaseScheduler] = BlockingScheduler,
                    test_seconds: float | None = None) -> tuple[BaseScheduler, Heartbeat]:
    """A scheduler with `specs`, the error listener and the heartbeat job, not yet started."""
    scheduler = scheduler_cls(timezone=settings.aion_timezone)
    triggers = {s.name: s.trigger for s in specs}
    tz = ZoneInfo(settings.aion_timezone)

    def next_run(name: str) -> datetime | None:
        # From the trigger, not scheduler.get_job: listeners run while shutdown() holds the
        # scheduler's job-store lock, and asking it for a job there deadlocks.
        t = triggers[name].get_next_fire_time(None, now_utc().astimezone(tz))
        return t.astimezone(tz) if t else None

    heartbeat = Heartbeat(store, [s.name for s in specs], settings.aion_timezone, next_run,
                          test_seconds)
    for spec in specs:
        scheduler.add_job(run_job, spec.trigger, args=(store, settings, spec), id=spec.name,
                          name=spec.name, replace_existing=True, max_instances=1, coalesce=True,
                          misfire_grace_time=spec.misfire_grace_time)
    every = min(HEARTBEAT_EVERY_S, test_seconds or HEARTBEAT_EVERY_S)
    scheduler.add_job(heartbeat.write, IntervalTrigger(seconds=every), id="heartbeat",
                      max_instances=1, coalesce=True, misfire_grace_time=max(1, int(every)))
    if split_urls(settings.aion_notify_urls):  # a stale nightly has no job of its own
        scheduler.add_job(check_alerts, IntervalTrigger(seconds=NOTIFY_EVERY_S),
                          args=(store, settings), id="notify", max_instances=1, coalesce=True)
    scheduler.add_listener(_listener(heartbeat),
                           EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
                           | EVENT_JOB_MAX_INSTANCES)
    return scheduler, heartbeat


def run_scheduler(store: Store, settings: Settings) -> None:
    """Block, firing the jobs, until SIGTERM or SIGINT; the heartbeat then says "stopped",
    and a job still running after STOP_GRACE_S is left behind (module docstring)."""
    test_seconds = test_seconds_from_env()
    specs = job_specs(settings, test_seconds)
    scheduler, heartbeat = build_scheduler(store, settings, specs, BlockingScheduler,
                                           test_seconds)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %s: shutting down", signal.Signals(signum).name)
        if scheduler.running:  # a second signal during shutdown is not an error
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _quiet_apscheduler()
    if test_seconds:
        log.warning("%s=%s: TEST schedule, every job every %ss", TEST_SECONDS_ENV,
                    test_seconds, test_seconds)
    log.info("scheduler started (pid %d, %s) on %s", os.getpid(), settings.aion_timezone, store)
    record_unfinished(store, heartbeat)  # a run the last scheduler process died in, say
    # The first heartbeat, as soon as the next-run times are known.
    scheduler.add_listener(lambda _e: heartbeat.write(), mask=EVENT_SCHEDULER_START)
    try:
        scheduler.start()
    finally:
        heartbeat.stop()
    if not _jobs_end_within(STOP_GRACE_S):
        if interrupt_own(store, heartbeat.names, f"the scheduler stopped and the run did not "
                                                 f"end within {STOP_GRACE_S:.0f} s"):
            record_unfinished(store, heartbeat)  # the heartbeat says which step was cut
        _exit_without_jobs()
    log.info("scheduler stopped")


def _quiet_apscheduler() -> None:
    """APScheduler's own lines repeat what the heartbeat logs once per job event (a raising
    job's with a second traceback): they reach stderr only with AION_DEBUG=1."""
    def file_only(record: logging.LogRecord) -> bool:
        record.__dict__.update(FILE_ONLY)  # a filter may mark the records it passes
        return True

    for name in ("apscheduler.scheduler", "apscheduler.executors.default"):
        logging.getLogger(name).addFilter(file_only)


def _jobs_end_within(seconds: float) -> bool:
    """Wait up to `seconds` for the threads a normal exit would wait for: the executor's
    (after shutdown, only those still running or about to run a job). True when all ended."""
    deadline = time.monotonic() + seconds
    others = [t for t in threading.enumerate()
              if t is not threading.current_thread() and not t.daemon]
    for thread in others:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in others)


def _exit_without_jobs() -> None:
    """End the process now, leaving the running jobs unfinished. Their files keep their last
    good version and the kernel releases their locks (module docstring), so nothing is
    cleaned up; only what was printed is flushed."""
    log.warning("a job is still running %.0f s after the stop: exiting without it (its files "
                "keep their last good version; its next run starts over)", STOP_GRACE_S)
    log.info("scheduler stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# --------------------------------------------------------------------------- dry run


def upcoming(specs: list[JobSpec], start: datetime, count: int) -> list[tuple[datetime, str]]:
    """The next `count` fires at or after `start`, merged across jobs in time order."""
    heap: list[tuple[datetime, int]] = []
    for i, spec in enumerate(specs):
        t = spec.trigger.get_next_fire_time(None, start)
        if t is not None:
            heap.append((t, i))
    heapq.heapify(heap)
    fires: list[tuple[datetime, str]] = []
    while heap and len(fires) < count:
        t, i = heapq.heappop(heap)
        fires.append((t, specs[i].name))
        nxt = specs[i].trigger.get_next_fire_time(t, t + _TICK)
        if nxt is not None:
            heapq.heappush(heap, (nxt, i))
    return fires


def dry_run(settings: Settings, start: datetime | None = None, count: int = 10) -> list[str]:
    """`<ISO-8601 time with UTC offset> <job>` lines for the next `count` real fires."""
    tz = ZoneInfo(settings.aion_timezone)
    begin = (start or now_utc()).astimezone(tz)
    specs = job_specs(settings, test_seconds_from_env())
    # astimezone normalises a wall time that fell in a DST gap to the instant it fires at.
    return [f"{t.astimezone(tz).isoformat()} {name}" for t, name in upcoming(specs, begin, count)]

