"""A job's run as its started marker tells it: running, or died, and during which step.

A job writes PATHS["run_marker"] (`logs/running/<job>.json`, documents.RunMarker) when it
starts, rewrites it as each step starts, and removes it as it writes its own record of a
finished run (the nightly's summary), whatever that run's status; a run that raises records
how in the marker (`ended`). So a marker left behind without `ended` belongs to a run that is
still going, or to a process that died without a word: SIGKILL, the out-of-memory killer, a
C library's abort. `interpret` tells which, and every reader uses it (the app's sidebar, Logs
and Admin pages, the scheduler's heartbeat, the notifier):

- on this host, the marker's pid (and, on Linux, that process's start time, so a reused pid
  is not taken for the run) is alive: "running <step> since <time>"; gone: "died during
  <step> at <time>", the time being the last sign of life (the later of the step's start and
  the run's log's last write);
- on another host (the data root is shared), whose processes cannot be asked: running until
  STALE_ELSEWHERE has passed without a sign of life, died after that;
- a marker older than the job's last finished run (`finished`: that record, same `run_id` or
  started later) is what a run killed between its summary and the removal left: no state.

`interpret` is pure (the process check comes in as a `Probe`); `run_state` probes this host.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from aion_core.bots.registry import NIGHTLY_JOB

#: A run on another host with no sign of life for this long is taken for dead: a nightly's
#: longest step takes well under an hour at the scale the project measures (docs/SCALING.md).
STALE_ELSEWHERE = timedelta(hours=12)

Status = Literal["running", "died", "failed", "interrupted"]
#: Job -> the PATHS key of its record of a finished run, which supersedes an older marker.
FINISHED = {NIGHTLY_JOB: "nightly_summary"}


@dataclass(frozen=True)
class Probe:
    """What this machine can tell of a marker's process: `alive` None when the run is on
    another host; `last_seen` the run's last sign of life (its log's last write)."""

    alive: bool | None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class RunState:
    """A run that has not finished: `at` is since when it runs its step (running), or when it
    was last seen alive (died), or when it raised (failed, interrupted)."""

    job: str
    run_id: str
    status: Status
    step: str | None
    started_at: datetime
    at: datetime
    pid: int
    host: str
    log: str | None = None
    steps: tuple[Mapping[str, Any], ...] = ()
    detail: str = ""

    @property
    def ended(self) -> bool:
        return self.status != "running"

    @property
    def headline(self) -> str:
        """`died during train`, `running train`: the short form for lists and pills."""
        step = self.step or "start-up"
        return f"running {step}" if self.status == "running" else f"{self.status} during {step}"

    @property
    def when(self) -> str:
        """`at 2026-11-21 02:14 UTC` (`since ...` while running), and the detail if any."""
        more = f": {self.detail}" if self.detail else ""
        return f"{'since' if self.status == 'running' else 'at'} {stamp(self.at)}{more}"

    @property
    def text(self) -> str:
        """`died during train at 2026-11-21 02:14 UTC`, `running train since ...`."""
        return f"{self.headline} {self.when}"


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _instant(value: Any) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def superseded(marker: Mapping[str, Any], finished: Mapping[str, Any] | None) -> bool:
    """The job's last finished run is this marker's run, or a later one."""
    if not finished:
        return False
    if finished.get("run_id") and finished.get("run_id") == marker.get("run_id"):
        return True
    done, began = _instant(finished.get("started_at")), _instant(marker.get("started_at"))
    return done is not None and began is not None and done > began


def interpret(marker: Mapping[str, Any] | None, probe: Probe, now: datetime,
              finished: Mapping[str, Any] | None = None,
              stale_elsewhere: timedelta = STALE_ELSEWHERE) -> RunState | None:
    """The run a marker stands for (module docstring); None without one, or when `finished`
    supersedes it."""
    if not marker or superseded(marker, finished):
        return None
    started = _instant(marker.get("started_at")) or now
    step_at = _instant(marker.get("step_at")) or started
    base = {"job": str(marker.get("job")), "run_id": str(marker.get("run_id")),
            "step": marker.get("step"), "started_at": started, "pid": int(marker.get("pid", 0)),
            "host": str(marker.get("host")), "log": marker.get("log"),
            "steps": tuple(marker.get("steps") or ())}
    ended = marker.get("ended")
    if ended:
        return RunState(**base, status=ended.get("status", "failed"),
                        at=_instant(ended.get("at")) or step_at,
                        detail=str(ended.get("detail") or ""))
    seen = max(step_at, probe.last_seen or step_at)
    if probe.alive:
        return RunState(**base, status="running", at=step_at)
    if probe.alive is None:  # another host's run
        if now - seen < stale_elsewhere:
            return RunState(**base, status="running", at=step_at)
        return RunState(**base, status="died", at=seen,
                        detail=f"presumed, {base['host']} has given no sign of life since")
    return RunState(**base, status="died", at=seen)


def run_state(marker: Mapping[str, Any] | None, finished: Mapping[str, Any] | None = None,
              now: datetime | None = None,
              probe: Callable[[Mapping[str, Any]], Probe] | None = None) -> RunState | None:
    """`interpret` with this host's view of the marker's process (`local_probe`)."""
    if not marker:
        return None
    return interpret(marker, (probe or local_probe)(marker), now or datetime.now(UTC), finished)


# --------------------------------------------------------------------------- this host


def this_host() -> str:
    return socket.gethostname()


def local_probe(marker: Mapping[str, Any]) -> Probe:
    """Is the marker's process alive (None: not this host's), and when its log last grew."""
    seen = None
    try:
        if marker.get("log"):
            seen = datetime.fromtimestamp(Path(str(marker["log"])).stat().st_mtime, UTC)
    except OSError:
        pass
    if marker.get("host") != this_host():
        return Probe(None, seen)
    return Probe(process_alive(int(marker.get("pid", 0)), marker.get("proc_start")), seen)


def process_start(pid: int | str = "self") -> int | None:
    """The process's start time in clock ticks since boot (Linux), None where unknown: with
    the pid it names one process, where a pid alone may be reused."""
    stat = _proc_stat(pid)
    return stat[1] if stat else None


def _proc_stat(pid: int | str) -> tuple[str, int] | None:
    """(state, start time) from /proc/<pid>/stat; None without /proc or that process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()  # the command name may hold spaces and ")"
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def process_alive(pid: int, start: int | None = None) -> bool:
    """A live process `pid` of this host (not a zombie), the one started at `start` when
    given (process_start)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        pass
    except OSError:
        return False
    stat = _proc_stat(pid)
    if stat is None:  # no /proc here (or it ended this instant): the signal said alive
        return not Path("/proc/self/stat").exists()
    state, started = stat
    return state not in ("Z", "X") and (start is None or started == start)
