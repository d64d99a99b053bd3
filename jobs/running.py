"""The started marker of a job's run: PATHS["run_marker"] (`logs/running/<job>.json`).

Written atomically when the run starts (run id, pid, host, the process's start time, the
run's log), rewritten as each step starts (the step, when, the steps done so far), and
removed as the run records its end: a run that finishes, whatever its status, removes it
right after writing its own record (the nightly's summary); a run that raises writes how
(`ended`: failed or interrupted, with the step and the one-line reason) and leaves it. A
process that dies without a word (SIGKILL, out of memory, an abort in C code) leaves it as it
was, which aion_core/runs.py then reads as "died during <step> at <time>".

`marked` is the whole protocol for any job; the nightly uses it. A marker that cannot be
written costs a warning, never the run.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aion_core.errors import AionError
from aion_core.runs import FINISHED, RunState, process_start, run_state, this_host
from aion_core.store import Store
from jobs.progress import describe

log = logging.getLogger("aion.running")


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


class MarkedRun:
    """One run's marker: `step` as each step starts, `finish` once its end is recorded."""

    def __init__(self, store: Store, job: str, run_id: str, log_path: Path | str | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.store, self.now = store, now or (lambda: datetime.now(UTC))
        self.path = store.path("run_marker", job=job)
        self.doc: dict[str, Any] = {
            "schema": 1, "job": job, "run_id": run_id, "pid": os.getpid(),
            "host": this_host(), "proc_start": process_start(),
            "started_at": _iso(self.now()), "step": None, "step_at": None,
            "log": str(log_path) if log_path else None, "steps": []}

    def _write(self) -> None:
        try:
            self.store.write_json("run_marker", self.doc, job=self.doc["job"])
        except (AionError, OSError) as exc:
            log.warning("cannot write the run marker %s: %s", self.path,
                        describe(exc, self.store.root))

    def start(self) -> None:
        self._write()

    def step(self, name: str, steps: Iterable[Mapping[str, Any]] = (), **info: Any) -> None:
        """Step `name` starts; `steps`: those done so far; `info`: fields worth showing."""
        self.doc.update(info, step=name, step_at=_iso(self.now()), steps=list(steps))
        self._write()

    def finish(self) -> None:
        """The run's end is recorded elsewhere: no marker any more."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot remove the run marker %s: %s", self.path, exc)

    def end(self, exc: BaseException) -> None:
        """The run raised: say so in the marker (the step it was in stays)."""
        status = "failed" if isinstance(exc, Exception) else "interrupted"
        detail = describe(exc, self.store.root) if isinstance(exc, Exception) \
            else type(exc).__name__
        self.doc["ended"] = {"status": status, "at": _iso(self.now()), "detail": detail[:300]}
        self._write()


@contextlib.contextmanager
def marked(store: Store, job: str, run_id: str, log_path: Path | str | None = None,
           now: Callable[[], datetime] | None = None) -> Iterator[MarkedRun]:
    """Mark a run of `job` for the block: removed when the block ends normally (call
    `finish` earlier, as the run writes its own record of its end), `ended` when it raises."""
    run = MarkedRun(store, job, run_id, log_path, now)
    run.start()
    try:
        yield run
    except BaseException as exc:
        run.end(exc)
        raise
    run.finish()


def unfinished(store: Store, job: str, now: datetime | None = None) -> RunState | None:
    """The job's run that started and has not finished, as aion_core.runs reads it: running,
    or died (failed, interrupted) during its step; None when there is none. A corrupt marker
    raises CorruptFileError."""
    key = FINISHED.get(job)
    return run_state(store.read_json("run_marker", job=job),
                     store.read_json(key) if key else None, now)


def interrupt_own(store: Store, jobs: Iterable[str], detail: str) -> list[str]:
    """Mark this process's unfinished runs interrupted (`detail`: why), for a process that
    is about to exit without them (the scheduler after its stop grace); their jobs."""
    out = []
    for job in jobs:
        try:
            doc = store.read_json("run_marker", job=job)
        except AionError:
            continue
        if not doc or doc.get("ended") or doc.get("pid") != os.getpid() \
                or doc.get("proc_start") != process_start():
            continue
        doc["ended"] = {"status": "interrupted", "at": _iso(datetime.now(UTC)),
                        "detail": detail}
        try:
            store.write_json("run_marker", doc, job=job)
        except OSError as exc:
            log.warning("cannot write the run marker of %s: %s", job, exc)
            continue
        out.append(job)
    return out
