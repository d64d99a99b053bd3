"""Run-now jobs: a background process whose status and log the admin page reads."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from aion_core.app import run_now
from aion_core.bots.registry import NIGHTLY_JOB, SWING_JOB
from aion_core.errors import RefusedError


def _wait(store, name: str, timeout: float = 60.0) -> run_now.JobView:
    end = time.time() + timeout
    while time.time() < end:
        view = run_now.job_view(store, name)
        if not view.running:
            return view
        time.sleep(0.2)
    raise AssertionError(f"{name} still running after {timeout} s")


def test_idle_before_any_run(store):
    view = run_now.job_view(store, SWING_JOB)
    assert view.status == "idle" and view.log_tail == []


def test_second_press_refused_then_result_recorded(store):
    pid = run_now.start_job(store, SWING_JOB)
    assert pid > 0
    assert run_now.job_view(store, SWING_JOB).running
    with pytest.raises(RefusedError, match="already running"):
        run_now.start_job(store, SWING_JOB)
    view = _wait(store, SWING_JOB)
    # An empty data root has no predictions: the CLI says so and exits non-zero.
    assert view.status in ("ok", "failed")
    assert (view.doc["returncode"] == 0) == (view.status == "ok")
    assert view.doc["finished_at"] >= view.doc["started_at"]
    assert view.log_tail, "the command's output lands in the job log"
    run_now.start_job(store, SWING_JOB)  # a finished job can be started again
    _wait(store, SWING_JOB)


def test_dead_supervisor_reads_as_interrupted(store):
    store.write_json("job_status", {"job": "nightly", "status": "running", "pid": 2 ** 22 + 7,
                                    "started_at": 0.0}, job="nightly")
    assert run_now.job_view(store, "nightly").status == "interrupted"


def test_unknown_job_refused(store):
    with pytest.raises(RefusedError):
        run_now.start_job(store, "rm")


def test_a_failed_run_keeps_its_traceback_in_the_job_log_and_ends_with_the_clear_line(store):
    """The job log is the run's stderr: the page shows its tail, so the line that says what
    to do comes last, and the traceback is there for whoever debugs."""
    run_now.start_job(store, NIGHTLY_JOB)
    view = _wait(store, NIGHTLY_JOB)
    assert view.status == "failed"
    text = store.path("job_log", job=NIGHTLY_JOB).read_text()
    assert "Traceback" in text
    assert view.log_tail[-1].startswith("aion: error: nightly step features failed: the data "
                                        f"root {store.root} holds no daily bars")


def test_a_run_made_elsewhere_is_the_last_run_and_the_newest_record_wins(store):
    """A nightly from a shell writes no run-now status: its summary still dates it."""
    assert run_now.last_run(store, NIGHTLY_JOB) is None
    store.write_json("nightly_summary", {"run_id": "r", "status": "partial", "steps": [],
                                         "started_at": "2026-11-20T02:00:00+00:00",
                                         "finished_at": "2026-11-20T02:05:00+00:00"})
    last = run_now.job_view(store, NIGHTLY_JOB).last
    assert (last.status, last.source) == ("partial", "nightly summary")
    store.write_json("job_status", {"job": "nightly", "status": "ok", "pid": 1,
                                    "started_at": 0.0, "finished_at": 1.0}, job="nightly")
    assert run_now.last_run(store, NIGHTLY_JOB).source == "nightly summary"


def test_intraday_and_replay_can_be_run_now(demo_root):
    assert {"intraday", "replay"} <= set(run_now.JOBS)
    args = run_now.replay_args(demo_root, sessions=10)
    assert args[0] == "replay" and args[1] == "--start" and args[3] == "--end"
    assert args[2] < args[4]


def test_replay_refused_on_an_empty_root(store):
    with pytest.raises(RefusedError, match="no daily bars"):
        run_now.replay_args(store)


# --------------------------------------------------------------------------- the backtest queue

BACKTEST = run_now.BACKTEST_JOB


def _backtest_running(store) -> None:
    """A backtest running; this test process stands for its supervisor (alive)."""
    store.write_json("job_status", {"job": BACKTEST, "status": "running", "pid": os.getpid(),
                                    "args": ["backtest"], "started_at": time.time()},
                     job=BACKTEST)


def test_backtests_queue_behind_the_running_one_up_to_the_bound(store):
    """One running + MAX_WAITING waiting; a press beyond is refused with a line saying so,
    and the queue is left as it was (issue 27, item 3)."""
    _backtest_running(store)
    for place in range(1, run_now.MAX_WAITING + 1):
        press = run_now.submit_job(store, BACKTEST, extra=["--help", f"{place}"])
        assert press == run_now.Submitted(None, place)
    with pytest.raises(RefusedError, match=f"{run_now.MAX_WAITING} are waiting, the most"):
        run_now.submit_job(store, BACKTEST, extra=["--help"])
    queue = run_now.waiting(store.read_json("job_status", job=BACKTEST))
    assert [q["args"] for q in queue] == [["backtest", "--help", f"{i}"]
                                          for i in range(1, run_now.MAX_WAITING + 1)]
    with pytest.raises(RefusedError, match="does not queue"):
        run_now.submit_job(store, NIGHTLY_JOB)


def test_the_supervisor_runs_the_waiting_backtests_in_turn(store):
    _backtest_running(store)
    for _ in range(2):
        run_now.submit_job(store, BACKTEST, extra=["--help"])
    assert run_now.supervise(store, BACKTEST, ["backtest", "--help"]) == 0
    doc = store.read_json("job_status", job=BACKTEST)
    assert doc["status"] == "ok" and not run_now.waiting(doc)
    assert doc["last"]["status"] == "ok"  # the run before the last one
    assert "Usage" in store.path("job_log", job=BACKTEST).read_text()


def test_a_press_after_a_killed_supervisor_starts_the_oldest_waiting_run_first(store):
    store.write_json("job_status", {"job": BACKTEST, "status": "running", "pid": 2 ** 22 + 7,
                                    "started_at": 0.0, "waiting": [
                                        {"args": ["backtest", "old"], "queued_at": 1.0}]},
                     job=BACKTEST)
    press = run_now.submit_job(store, BACKTEST, extra=["new"], python=shutil.which("true"))
    assert press == run_now.Submitted(None, 1)
    doc = store.read_json("job_status", job=BACKTEST)
    assert doc["args"] == ["backtest", "old"]
    assert [q["args"] for q in doc["waiting"]] == [["backtest", "new"]]
