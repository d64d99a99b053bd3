"""A run that dies is recorded as dead (issue 22, part 2): the started marker a job writes
(jobs/running.py), its one reading (aion_core.runs), and every reader of it: the sidebar and
the Logs page (AppTest), the Admin page's last run, the scheduler's heartbeat, the notifier.

The dead run is real: `python -m aion_core nightly` on a small synthetic root, SIGKILLed as
soon as its log says `step train: start` (the way tests/kills.py starts and kills a job).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from kills import JOBS, _start, unreadable  # noqa: E402

from aion_core import runs  # noqa: E402
from aion_core.alerts import rules  # noqa: E402
from aion_core.alerts.rules import Alert  # noqa: E402
from aion_core.app.run_now import MARKER, last_run  # noqa: E402
from aion_core.config import Settings, load_settings  # noqa: E402
from aion_core.runs import Probe, interpret  # noqa: E402
from aion_core.store import Store  # noqa: E402
from jobs import nightly  # noqa: E402
from jobs.heartbeat import Heartbeat  # noqa: E402
from jobs.notify import check_alerts  # noqa: E402
from jobs.running import MarkedRun, interrupt_own, marked, unfinished  # noqa: E402
from jobs.scheduler import record_unfinished  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
NOW = datetime(2026, 11, 21, 7, 30, tzinfo=UTC)
NIGHTLY = next(j for j in JOBS if j.name == "nightly")


def marker(**over) -> dict:
    doc = {"schema": 1, "job": "nightly", "run_id": "nightly-20261121T070000Z", "pid": 4242,
           "host": "box", "started_at": "2026-11-21T07:00:00+00:00", "step": "train",
           "step_at": "2026-11-21T07:05:00+00:00", "log": None, "steps": [
               {"name": "features", "status": "ok", "seconds": 300.0, "detail": "x"}]}
    return {**doc, **over}


# --------------------------------------------------------------------------- the reading


def test_a_marker_whose_process_is_gone_reads_as_died_during_its_step():
    run = interpret(marker(), Probe(False, NOW - timedelta(minutes=3)), NOW)
    assert run.status == "died" and run.step == "train" and run.ended
    assert run.at == NOW - timedelta(minutes=3)  # the last sign of life: the log's last write
    assert run.text == "died during train at 2026-11-21 07:27 UTC"
    assert [s["name"] for s in run.steps] == ["features"]
    # Without a later sign of life, the step's start is the last one known.
    assert interpret(marker(), Probe(False), NOW).text == "died during train at " \
                                                          "2026-11-21 07:05 UTC"
    assert interpret(marker(step=None), Probe(False), NOW).headline == "died during start-up"


def test_a_marker_whose_process_is_alive_reads_as_running():
    run = interpret(marker(), Probe(True, NOW), NOW)
    assert run.status == "running" and not run.ended
    assert run.text == "running train since 2026-11-21 07:05 UTC"


def test_another_hosts_run_is_running_until_it_is_silent_too_long():
    elsewhere = Probe(None, NOW - timedelta(minutes=10))  # its log grew at 07:20
    assert interpret(marker(), elsewhere, NOW).status == "running"
    assert interpret(marker(), elsewhere, NOW + timedelta(hours=11)).status == "running"
    gone = interpret(marker(), elsewhere, NOW + runs.STALE_ELSEWHERE)
    assert gone.status == "died" and gone.text.startswith("died during train at 2026-11-21 07:20")
    assert "box" in gone.detail


def test_a_run_that_raised_reads_as_failed_with_its_reason():
    ended = {"status": "failed", "at": "2026-11-21T07:06:00+00:00", "detail": "disk full"}
    run = interpret(marker(ended=ended), Probe(True), NOW)  # the process lives on: a scheduler
    assert run.status == "failed" and run.text == ("failed during train at 2026-11-21 07:06 UTC"
                                                   ": disk full")


def test_a_finished_run_supersedes_the_marker_it_left():
    same = {"run_id": "nightly-20261121T070000Z", "started_at": "2026-11-21T07:00:00+00:00"}
    later = {"run_id": "nightly-20261122T070000Z", "started_at": "2026-11-22T07:00:00+00:00"}
    earlier = {"run_id": "nightly-20261120T070000Z", "started_at": "2026-11-20T07:00:00+00:00"}
    assert interpret(marker(), Probe(False), NOW, same) is None
    assert interpret(marker(), Probe(False), NOW, later) is None
    assert interpret(marker(), Probe(False), NOW, earlier).status == "died"
    assert interpret(None, Probe(False), NOW) is None


def test_the_local_probe_knows_a_live_process_a_dead_one_and_a_reused_pid():
    me = marker(host=runs.this_host(), pid=os.getpid(), proc_start=runs.process_start())
    assert runs.local_probe(me).alive is True
    assert runs.local_probe({**me, "proc_start": (me["proc_start"] or 0) + 1}).alive is False
    assert runs.local_probe({**me, "pid": 0}).alive is False
    assert runs.local_probe({**me, "host": "another-box"}).alive is None


# --------------------------------------------------------------------------- the writing


def test_a_run_is_marked_running_with_its_step_and_a_finished_run_replaces_the_marker(
        demo_root, monkeypatch):
    """The nightly in this process: during training its marker reads "running train" (its
    pid is alive), and the summary replaces a marker a killed run had left."""
    demo_root.write_json("run_marker", marker(pid=2 ** 22 + 1, host=runs.this_host()),
                         job="nightly")
    assert unfinished(demo_root, "nightly").status == "died"
    seen = []
    train = nightly.train_step

    def spying(run):
        seen.append(unfinished(demo_root, "nightly"))
        return train(run)

    monkeypatch.setattr(nightly, "train_step", spying)
    settings = load_settings(demo_root.root, env_file=None)
    summary = nightly.run_nightly(demo_root, settings, skip_fetch=True)
    [during] = seen
    assert during.status == "running" and during.step == "train"
    assert during.pid == os.getpid() and during.run_id == summary["run_id"]
    assert [s["name"] for s in during.steps] == ["collect", "features"]
    assert summary["status"] == "ok"
    assert not demo_root.path("run_marker", job="nightly").exists()
    assert unfinished(demo_root, "nightly") is None


def test_a_run_that_raises_leaves_failed_during_its_step(demo_root, monkeypatch):
    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(nightly, "_summary", boom)
    settings = load_settings(demo_root.root, env_file=None)
    with pytest.raises(OSError):
        nightly.run_nightly(demo_root, settings, skip_fetch=True)
    run = unfinished(demo_root, "nightly")
    assert run.status == "failed" and run.step == "summary"
    assert "disk full" in run.text
    [alert] = rules.nightly_alerts(None, run)
    assert alert.key == "nightly:failed" and alert.level == "failure"


def test_marked_removes_on_success_and_interrupt_own_ends_only_this_process_runs(store):
    with marked(store, "swing_bots", "bots-1") as run:
        run.step("trade")
        assert unfinished(store, "swing_bots").headline == "running trade"
    assert unfinished(store, "swing_bots") is None
    MarkedRun(store, "intraday", "cycle-1").start()
    store.write_json("run_marker", marker(pid=1, host=runs.this_host()), job="nightly")
    assert interrupt_own(store, ["intraday", "nightly"], "the scheduler stopped") == ["intraday"]
    run = unfinished(store, "intraday")
    assert run.status == "interrupted" and run.text.endswith(": the scheduler stopped")


# --------------------------------------------------------------------------- a real SIGKILL


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory, _demo_template: Path) -> Path:
    """A data root whose `aion nightly` was SIGKILLed as its training started."""
    where = tmp_path_factory.mktemp("killed")
    root = where / "data"
    shutil.copytree(_demo_template, root)
    logs = root / "logs" / "nightly"
    proc = _start(NIGHTLY, root, where / "out")
    try:
        deadline = time.monotonic() + 180
        while not any("step train: start" in p.read_text() for p in logs.glob("*.log")):
            assert proc.poll() is None, "the nightly ended before its training"
            assert time.monotonic() < deadline, "no training within 180 s"
            time.sleep(0.002)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return root


@pytest.fixture
def dead(killed: Path, tmp_path: Path) -> Store:
    """A private copy of the killed root (the readers below write heartbeats, states)."""
    shutil.copytree(killed, tmp_path / "data")
    return Store(tmp_path / "data")


def test_a_sigkilled_nightly_reads_as_died_during_train(dead):
    assert unreadable(dead.root) == []  # the marker is a whole, valid document
    run = unfinished(dead, "nightly")
    assert run is not None and run.status == "died" and run.step == "train", run
    assert run.text.startswith("died during train at ")
    assert [s["name"] for s in run.steps] == ["collect", "features"]
    assert dead.read_json("nightly_summary") is None
    last = last_run(dead, "nightly")
    assert (last.status, last.source) == ("died", MARKER)
    assert last.detail.startswith("died during train at")


@pytest.fixture
def app_env(monkeypatch, tmp_path):
    st.cache_data.clear()
    for name in ("ADMIN_PASSWORD_HASH", "ADMIN_COOKIE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def _html(at: AppTest) -> str:
    return " ".join(h.proto.body for h in at.get("html"))


def test_the_sidebar_and_the_logs_page_show_the_nightly_died_during_train(
        dead, app_env, monkeypatch):
    monkeypatch.setenv("AION_DATA_DIR", str(dead.root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    sidebar = _html(at)
    assert ">died during train</span> <small>at 20" in sidebar and "not run yet" not in sidebar
    at.switch_page("pages/logs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    [option] = at.selectbox(key="logs_day").options
    assert option.endswith("· died during train")
    assert any("died during train at" in w.value for w in at.warning)
    page = _html(at)
    assert ">died during train</span> <small>at 20" in page
    assert "No nightly summary" not in page
    [steps] = [d.value for d in at.dataframe if "traceback" in d.value.columns]
    assert list(steps["name"]) == ["collect", "features", "train"]
    assert steps["status"].iloc[-1] == "died"


def test_the_scheduler_records_the_death_when_it_starts_once(dead):
    def beat() -> Heartbeat:
        return Heartbeat(dead, ["nightly", "swing_bots"], "America/New_York", lambda _n: None)

    first = beat()
    assert record_unfinished(dead, first) == ["nightly"]
    result = dead.read_json("scheduler_heartbeat")["jobs"]["nightly"]["last_result"]
    assert result["status"] == "died" and result["detail"].startswith("died during train at")
    assert record_unfinished(dead, beat()) == []  # known already: not recorded again


def test_a_died_nightly_is_notified_like_a_failed_one(dead):
    class Sender:
        sent: list[Alert] = []

        def send(self, alert: Alert) -> bool:
            self.sent.append(alert)
            return True

    sender = Sender()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    check_alerts(dead, settings, datetime.now(UTC), sender=sender, track=False)
    [alert] = [a for a in sender.sent if a.part == "nightly"]
    assert alert.key == "nightly:died" and alert.level == "failure"
    assert alert.title == "Aion: nightly died during train"
    assert "died during train at" in alert.body and "SIGKILL" in alert.body
    assert "nightly_stale" not in [a.key for a in sender.sent]  # it did start


def test_a_died_run_replaces_the_summary_alert_and_counts_as_a_start():
    old = {"run_id": "n-1", "started_at": "2026-11-19T07:00:00+00:00", "status": "failed",
           "steps": []}
    run = interpret(marker(), Probe(False), NOW)
    assert [a.key for a in rules.nightly_alerts(old, run)] == ["nightly:died"]
    assert [a.key for a in rules.nightly_alerts(old, replace(run, status="running"))] == [
        "nightly:failed"]  # while a new run goes, the last outcome stands
    assert rules.nightly_stale(old, NOW) != [] and rules.nightly_stale(old, NOW, run) == []


def test_a_running_nightly_shows_its_step_and_a_corrupt_marker_is_named(
        tmp_path, app_env, monkeypatch):
    from app_data import build_filled_root

    store = Store(tmp_path / "filled")
    build_filled_root(store, n_symbols=4, sessions=40, history_days=5)
    live = marker(pid=os.getpid(), host=runs.this_host(), proc_start=runs.process_start(),
                  started_at="2026-11-22T07:00:00+00:00", step_at="2026-11-22T07:05:00+00:00",
                  log=str(store.path("nightly_logs", yyyymmdd="20261122")))
    store.write_json("run_marker", live, job="nightly")
    monkeypatch.setenv("AION_DATA_DIR", str(store.root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert ">running train</span> <small>since 2026-11-22 07:05 UTC" in _html(at)
    assert any("Last finished run: ok" in c.value for c in at.caption)
    store.path("run_marker", job="nightly").write_text("{not json")
    at.switch_page("pages/logs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("nightly.json" in e.value for e in at.error)
    assert "Last nightly run" in [h.value for h in at.subheader]  # the rest still renders
