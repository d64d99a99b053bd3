"""Run-now buttons: an `aion` command as a background process the admin page can watch.

`start_job` launches this module as a small supervisor (`python -m aion_core.jobs_runner`),
detached from the Streamlit server, which runs `python -m aion_core <args>` with its output
going to PATHS["job_log"] and writes PATHS["job_status"] before and after:

```
{"job": "nightly", "status": "running" | "ok" | "failed", "pid": 1234, "args": [...],
 "started_at": epoch s, "finished_at": epoch s | null, "returncode": int | null}
```
A second start while the status says running and its supervisor is alive is refused; the
check and the launch happen under the status file's lock, so two quick presses cannot both
pass. A supervisor killed mid-run leaves "running" with a dead pid, read as "interrupted".
The command runs with AION_DEBUG=1: its stderr is the job's log file, which is where
tracebacks belong (jobs/progress.py); its clear one-line error still comes last.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aion_core.bots.registry import NIGHTLY_JOB, SWING_JOB
from aion_core.errors import CorruptFileError, RefusedError
from aion_core.store import Store, locked, read_json, tail_lines, write_json

#: The jobs an admin can start, and their `aion` arguments.
JOBS: dict[str, list[str]] = {
    NIGHTLY_JOB: ["nightly"],
    SWING_JOB: ["bots", "run", "--horizon", "all"],
}


@dataclass(frozen=True)
class JobView:
    """What the page shows of one job: its status document and the last lines of its log."""

    name: str
    status: str  # idle | running | ok | failed | interrupted
    doc: dict[str, Any]
    log_tail: list[str]

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
    return JobView(name, status, doc, tail)


def start_job(store: Store, name: str, python: str = sys.executable) -> int:
    """Launch job `name` in the background; returns the supervisor's pid.

    Raises RefusedError when it is already running.
    """
    if name not in JOBS:
        raise RefusedError(f"unknown job {name!r}")
    status_path = store.path("job_status", job=name)
    with locked(status_path, timeout=5):
        if job_view(store, name, lines=0).running:
            raise RefusedError(f"{name} is already running; wait for it to finish")
        cmd = [python, "-m", "aion_core.jobs_runner", "--data-dir", str(store.root), name]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        write_json(status_path, {"job": name, "status": "running", "pid": proc.pid,
                                 "args": JOBS[name], "started_at": time.time(),
                                 "finished_at": None, "returncode": None})
    return proc.pid


def supervise(store: Store, name: str, python: str = sys.executable) -> int:
    """Run the job to its end with output in its log, then record how it ended."""
    status_path = store.path("job_status", job=name)
    log_path = store.path("job_log", job=name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    args = [*JOBS[name], "--data-dir", str(store.root)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "AION_DEBUG": "1"}
    with open(log_path, "wb") as log:
        rc = subprocess.call([python, "-m", "aion_core", *args], stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT, env=env)
    with locked(status_path, timeout=30):
        doc = read_json(status_path) or {"job": name, "args": JOBS[name]}
        doc.update(status="ok" if rc == 0 else "failed", returncode=rc,
                   finished_at=time.time(), pid=os.getpid())
        write_json(status_path, doc)
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="supervise one admin job")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("job", choices=sorted(JOBS))
    ns = parser.parse_args(argv)
    return supervise(Store(ns.data_dir), ns.job)


if __name__ == "__main__":
    sys.exit(main())
