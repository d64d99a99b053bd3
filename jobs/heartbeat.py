"""The scheduler's heartbeat: what the app's sidebar and admin page read to know it is alive.

File: PATHS["scheduler_heartbeat"] (`logs/scheduler/heartbeat.json`), rewritten atomically
every minute and after every job event:

```
{"schema": 1, "pid": 1234, "at": "<UTC ISO-8601>", "started_at": "...",
 "status": "running" | "stopped", "timezone": "America/New_York", "test_seconds": null,
 "jobs": {"nightly": {"next_run": "<ISO-8601 with offset>" | null,
                      "last_result": {"status": "ok" | "partial" | "failed" | "skipped"
                                                | "missed" | "died" | "interrupted",
                                      "at": "<UTC ISO-8601>", "detail": "one line"} | null}}}
```
"partial": a nightly whose required step succeeded and another failed (its summary's status).
"died": a run whose process ended without a result (SIGKILL, out of memory, an abort), found
by its started marker (jobs/running.py) when the scheduler starts: `record_ended`.
A reader treats the scheduler as dead when `at` is more than a couple of minutes old or
`status` is "stopped". Last results survive a restart: they are read back from the previous
file, so the app never forgets that last night's run failed just because the service bounced.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aion_core.errors import AionError
from aion_core.runs import RunState
from aion_core.store import Store

log = logging.getLogger("aion.scheduler")

DETAIL_MAX = 300  # characters of a result's detail kept in the heartbeat


@dataclass(frozen=True)
class Outcome:
    """The result of one job run as the heartbeat shows it."""

    status: str  # ok | partial | failed | skipped | missed | died | interrupted
    detail: str = ""


def now_utc() -> datetime:
    return datetime.now(UTC)


def _instant(value: Any) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class Heartbeat:
    """Last results per job (thread-safe) and the heartbeat file built from them.

    `next_run` is a callable (job name -> datetime | None) so the file always shows the
    scheduler's own idea of the next fire, market-hours gate included.
    """

    def __init__(self, store: Store, names: Iterable[str], timezone: str,
                 next_run: Callable[[str], datetime | None],
                 test_seconds: float | None = None) -> None:
        self.store = store
        self.names = list(names)
        self.timezone = timezone
        self.next_run = next_run
        self.test_seconds = test_seconds
        self.started_at = now_utc()
        self.status = "running"
        self._lock = threading.Lock()
        self.results: dict[str, dict[str, Any] | None] = self._previous_results()

    def _previous_results(self) -> dict[str, dict[str, Any] | None]:
        try:
            old = self.store.read_json("scheduler_heartbeat") or {}
        except AionError as exc:  # a corrupt heartbeat is replaced, never fatal
            log.warning("ignoring the previous heartbeat: %s", exc)
            old = {}
        jobs = old.get("jobs") if isinstance(old, dict) else None
        jobs = jobs if isinstance(jobs, dict) else {}
        return {n: (jobs.get(n) or {}).get("last_result") for n in self.names}

    def record(self, name: str, outcome: Outcome, at: datetime | None = None) -> None:
        """Keep `outcome` as `name`'s last result, log it, and rewrite the file."""
        detail = " ".join(outcome.detail.split())[:DETAIL_MAX]
        level = logging.ERROR if outcome.status in ("failed", "missed", "died", "interrupted") \
            else logging.WARNING if outcome.status == "partial" else logging.INFO
        log.log(level, "job %s: %s %s", name, outcome.status, detail)
        with self._lock:
            self.results[name] = {"status": outcome.status,
                                  "at": (at or now_utc()).isoformat(), "detail": detail}
        self.write()

    def record_ended(self, states: Mapping[str, RunState | None]) -> list[str]:
        """Runs that ended without a result of their own (aion_core.runs: died, or raised or
        stopped in a process that then went away) become their job's last result, at the
        time they were last seen, unless a newer result is known; the jobs recorded."""
        out = []
        for name, state in states.items():
            if state is None or not state.ended or name not in self.names:
                continue
            prev = _instant((self.results.get(name) or {}).get("at"))
            if prev is not None and prev >= state.at:
                continue
            self.record(name, Outcome(state.status, f"{state.text} ({state.run_id})"),
                        at=state.at)
            out.append(name)
        return out

    def document(self) -> dict[str, Any]:
        jobs = {}
        for name in self.names:
            nxt = self.next_run(name) if self.status == "running" else None
            jobs[name] = {"next_run": nxt.isoformat() if nxt else None,
                          "last_result": self.results.get(name)}
        return {"schema": 1, "pid": os.getpid(), "at": now_utc().isoformat(),
                "started_at": self.started_at.isoformat(), "status": self.status,
                "timezone": self.timezone, "test_seconds": self.test_seconds, "jobs": jobs}

    def write(self) -> None:
        """Rewrite the heartbeat; a failure to write is logged, never raised into a job."""
        with self._lock:
            try:
                self.store.write_json("scheduler_heartbeat", self.document())
            except OSError as exc:
                log.error("cannot write the heartbeat: %s", exc)

    def stop(self) -> None:
        """Say "stopped" for good: a job still finishing after shutdown keeps it so."""
        self.status = "stopped"
        self.write()
