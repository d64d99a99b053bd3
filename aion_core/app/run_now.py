"""Run-now buttons: an `aion` command as a background process the admin page can watch.

`start_job` launches this module as a small supervisor (`python -m aion_core.app.run_now`),
detached from the Streamlit server, which runs `python -m aion_core <args>` with its output
going to PATHS["job_log"] and writes PATHS["job_status"] before and after:

```
{"job": "nightly", "status": "running" | "ok" | "failed", "pid": 1234, "args": [...],
 "started_at": epoch s, "finished_at": epoch s | null, "returncode": int | null}
```
The admin page also shows a job's last run when it ran elsewhere (the scheduler, a shell):
`last_run` reads the scheduler's heartbeat and the job's own record (RECORDS: the nightly
summary, the replay's record; the bots' states), so a nightly or a replay run from a shell
(`make run` replays) is not "never run" beside it.
A second start while the status says running and its supervisor is alive is refused; the
check and the launch happen under the status file's lock, so two quick presses cannot both
pass. A supervisor killed mid-run leaves "running" with a dead pid, read as "interrupted".

The Research page's backtests (QUEUED_JOBS) queue instead, since any analyst may start one
without a login: `submit_job` starts the run when none is going, else adds it to the status
document's `waiting` list, at most MAX_WAITING long; a press beyond that is refused with a
line saying so. One run at a time per data root, then: the supervisor, when its run ends,
takes the first waiting one and runs it, until none waits. Waiting runs left by a killed
supervisor go ahead of the next press's run.
The command runs with AION_DEBUG=1: its stderr is the job's log file, which is where
tracebacks belong (jobs/progress.py); its clear one-line error still comes last.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aion_core.bots.registry import (
    INTRADAY_BOT,
    INTRADAY_JOB,
    NIGHTLY_JOB,
    SWING_BOTS,
    SWING_JOB,
    Bot,
)
from aion_core.errors import AionError, CorruptFileError, RefusedError
from aion_core.runs import FINISHED, run_state
from aion_core.store import Store, locked, read_json, tail_lines, write_json

REPLAY_JOB = "replay"
MARKER = "started marker"
#: Sessions a run-now replay covers, ending at the last stored bar: `make run`'s window. A
#: replay is resumable (a session already traded is skipped), so pressing it again only
#: catches the bots up on sessions imported since.
REPLAY_SESSIONS = 63

#: The jobs an admin can start, and their `aion` arguments (a replay's dates are added when
#: it starts: `replay_args`).
JOBS: dict[str, list[str]] = {
    NIGHTLY_JOB: ["nightly"],
    SWING_JOB: ["bots", "run", "--horizon", "all"],
    INTRADAY_JOB: ["intraday", "cycle"],
    REPLAY_JOB: ["replay"],
}
#: Jobs a page starts with arguments of its own (not run-now buttons): the Research page's
#: backtest, `aion backtest` + the period, bots, knobs and cadence the analyst chose ...
BACKTEST_JOB = "backtest"
#: ... and the Bots page's admin-only "Exit now": `aion bots exit` + the bot, the symbol and
#: the time of the press (the request: pressing twice in one minute is one exit).
BOT_EXIT_JOB = "bot_exit"
PAGE_JOBS: dict[str, list[str]] = {BACKTEST_JOB: ["backtest"], BOT_EXIT_JOB: ["bots", "exit"]}
#: Page jobs that queue (`submit_job`) rather than refuse a press while one runs, and how
#: many may wait behind the running one: with one running and MAX_WAITING waiting, a press is
#: refused. Backtests need no login (they write their own folder, never the live state), so
#: this bound is what keeps a crowd of presses from queueing hours of work.
QUEUED_JOBS = (BACKTEST_JOB,)
MAX_WAITING = 3
#: Jobs that write a record of each finished run wherever they ran: its PATHS key and what
#: the Admin page calls it.
RECORDS: dict[str, tuple[str, str]] = {NIGHTLY_JOB: ("nightly_summary", "nightly summary"),
                                       REPLAY_JOB: ("replay_summary", "replay record")}
#: Bots whose state records a job's runs (`last_run.at`), wherever it ran from.
JOB_BOTS: dict[str, tuple[Bot, ...]] = {SWING_JOB: SWING_BOTS, INTRADAY_JOB: (INTRADAY_BOT,)}


@dataclass(frozen=True)
class LastRun:
    """A job's latest run known from any record: when (epoch s), how, and which record."""

    at: float
    status: str
    source: str  # "run now" | "scheduler" | "nightly summary" | "bot state" | MARKER
    detail: str = ""  # a started marker's: `running train since ...`, `died during train at ...`


@dataclass(frozen=True)
class JobView:
    """What the page shows of one job: its status document and the last lines of its log."""

    name: str
    status: str  # idle | running | ok | failed | interrupted
    doc: dict[str, Any]
    log_tail: list[str]
    last: LastRun | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A finished child of this process stays a zombie until reaped: reap it, then it is gone.
    try:
        done, _ = os.waitpid(int(pid), os.WNOHANG)
    except ChildProcessError:
        return True
    return done == 0


def job_view(store: Store, name: str, lines: int = 20) -> JobView:
    """The job's state as read from its files (missing -> idle)."""
    try:
        doc = read_json(store.path("job_status", job=name)) or {}
    except CorruptFileError:
        doc = {}
    status = doc.get("status", "idle")
    if status == "running" and not _alive(doc.get("pid")):
        status = "interrupted"
    tail = tail_lines(store.path("job_log", job=name), lines) or []
    return JobView(name, status, doc, tail, last_run(store, name, doc))


def _epoch(stamp: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(stamp)).timestamp() if stamp else None
    except ValueError:
        return None


def _record(read: Callable[[], Any], *keys: str) -> dict[str, Any]:
    """The dict at `keys` inside the document `read` returns; {} when it is missing or
    unreadable (a corrupt record must not hide the others: its own page reports it)."""
    try:
        doc = read()
    except (AionError, OSError):
        return {}
    for key in keys:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc if isinstance(doc, dict) else {}


def last_run(store: Store, name: str, doc: dict[str, Any] | None = None) -> LastRun | None:
    """The newest run of `name` any record knows of (a run-now's status `doc`, the scheduler's
    heartbeat, RECORDS, the bots' states); None when none does. A run that started
    and has not finished (its started marker, aion_core.runs: running, or died during a step)
    is the newest by construction: every run of the job rewrites that marker as it starts."""
    doc = doc or {}
    key, label = RECORDS.get(name, ("", ""))
    record = _record(lambda: store.read_json(key)) if key else {}
    finished = _record(lambda: store.read_json(FINISHED[name])) if name in FINISHED else {}
    state = run_state(_record(lambda: store.read_json("run_marker", job=name)) or None,
                      finished or None)
    if state is not None:
        return LastRun(state.at.timestamp(), state.status, MARKER, state.text)
    found = []
    if doc.get("started_at") and doc.get("status") not in (None, "running"):
        found.append(LastRun(float(doc.get("finished_at") or doc["started_at"]),
                             str(doc["status"]), "run now"))
    result = _record(lambda: store.read_json("scheduler_heartbeat"), "jobs", name,
                     "last_result")
    if _epoch(result.get("at")):
        found.append(LastRun(_epoch(result["at"]), str(result.get("status")), "scheduler"))
    if _epoch(record.get("finished_at")):
        found.append(LastRun(_epoch(record["finished_at"]), str(record.get("status")), label))
    for bot in JOB_BOTS.get(name, ()):
        run = _record(functools.partial(store.read_bot_state, bot), "last_run")
        if _epoch(run.get("at")):
            status = str(run.get("status") or "ok").split(":")[0].split(";")[0]
            found.append(LastRun(_epoch(run["at"]), status, "bot state"))
    return max(found, key=lambda r: r.at, default=None)


def replay_args(store: Store, sessions: int = REPLAY_SESSIONS) -> list[str]:
    """`replay --start --end` over the last `sessions` sessions of the stored bars."""
    symbols = store.daily_symbols()[:5]
    days = sorted({d for s in symbols for d in store.read_daily(s)["date"]})
    if not days:
        raise RefusedError("no daily bars to replay yet: run `aion demo-data` or "
                           "`aion import bars` first")
    start = days[-min(sessions, len(days))]
    return ["replay", "--start", f"{start:%Y-%m-%d}", "--end", f"{days[-1]:%Y-%m-%d}"]


def start_job(store: Store, name: str, python: str = sys.executable,
              extra: list[str] | None = None) -> int:
    """Launch job `name` in the background; returns the supervisor's pid.

    `extra`: arguments after the job's own (a page job's options). Raises RefusedError when
    it is already running.
    """
    if name not in JOBS and name not in PAGE_JOBS:
        raise RefusedError(f"unknown job {name!r}")
    status_path = store.path("job_status", job=name)
    with locked(status_path, timeout=5):
        if job_view(store, name, lines=0).running:
            raise RefusedError(f"{name} is already running; wait for it to finish")
        args = replay_args(store) if name == REPLAY_JOB \
            else [*{**JOBS, **PAGE_JOBS}[name], *(extra or [])]
        return _launch(store, name, args, python)


@dataclass(frozen=True)
class Submitted:
    """A page job's press: started now (`pid`, the supervisor's) or queued (`waiting`: its
    place in the queue, 1 = next)."""

    pid: int | None
    waiting: int = 0


def submit_job(store: Store, name: str, extra: list[str] | None = None,
               python: str = sys.executable) -> Submitted:
    """Start page job `name` (QUEUED_JOBS) with `extra` arguments, or queue it behind the
    running one; RefusedError when MAX_WAITING already wait."""
    if name not in QUEUED_JOBS:
        raise RefusedError(f"{name} does not queue; start it with start_job")
    args = [*PAGE_JOBS[name], *(extra or [])]
    status_path = store.path("job_status", job=name)
    with locked(status_path, timeout=5):
        view = job_view(store, name, lines=0)
        queue = [*waiting(view.doc), {"args": args, "queued_at": time.time()}]
        if view.running:
            if len(queue) > MAX_WAITING:
                raise RefusedError(
                    f"{name}: one is running and {MAX_WAITING} are waiting, the most this app "
                    "queues; start this one when one of them has finished")
            write_json(status_path, {**view.doc, "waiting": queue})
            return Submitted(None, len(queue))
        first, *rest = queue  # none running: the oldest waiting run goes first
        pid = _launch(store, name, first["args"], python, rest)
    return Submitted(pid) if not rest else Submitted(None, len(rest))


def waiting(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs queued in a status document, oldest first."""
    return list(doc.get("waiting") or [])


def _launch(store: Store, name: str, args: list[str], python: str,
            queue: list[dict[str, Any]] | None = None) -> int:
    """Start the supervisor of `args` and write its status; the caller holds the lock."""
    cmd = [python, "-m", "aion_core.app.run_now", "--data-dir", str(store.root), name, *args]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    write_json(store.path("job_status", job=name), {
        "job": name, "status": "running", "pid": proc.pid, "args": args,
        "started_at": time.time(), "finished_at": None, "returncode": None,
        **({"waiting": queue} if queue else {})})
    return proc.pid


def supervise(store: Store, name: str, args: list[str] | None = None,
              python: str = sys.executable) -> int:
    """Run the job (its `aion` arguments: `args`, else JOBS[name]) to its end with output in
    its log and record how it ended; then each run waiting in its queue, the same way.
    Returns the first run's exit code."""
    rc = first = _run_one(store, name, args or JOBS[name], python)
    while (queued := _next_waiting(store, name, rc)) is not None:
        rc = _run_one(store, name, queued, python)
    return first


def _run_one(store: Store, name: str, args: list[str], python: str) -> int:
    log_path = store.path("job_log", job=name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "AION_DEBUG": "1"}
    with open(log_path, "wb") as log:
        return subprocess.call([python, "-m", "aion_core", *args, "--data-dir",
                                str(store.root)], stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT, env=env)


def _next_waiting(store: Store, name: str, rc: int) -> list[str] | None:
    """Record the run that ended with `rc`; then, under the same lock, take the first waiting
    run and mark it running (its arguments), or None when none waits."""
    status_path = store.path("job_status", job=name)
    with locked(status_path, timeout=30):
        try:
            doc = read_json(status_path) or {"job": name}
        except CorruptFileError:
            doc = {"job": name}
        now = time.time()
        doc.update(status="ok" if rc == 0 else "failed", returncode=rc, finished_at=now,
                   pid=os.getpid())
        queue = waiting(doc)
        if queue:
            nxt, *rest = queue
            doc.update(status="running", args=nxt["args"], started_at=now, finished_at=None,
                       returncode=None, waiting=rest, last={
                           "status": doc["status"], "returncode": rc, "finished_at": now})
        write_json(status_path, doc)
    return list(queue[0]["args"]) if queue else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="supervise one admin job")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("job", choices=sorted({**JOBS, **PAGE_JOBS}))
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the `aion` arguments")
    ns = parser.parse_args(argv)
    return supervise(Store(ns.data_dir), ns.job, ns.args or None)


if __name__ == "__main__":
    sys.exit(main())
