"""Who may change what (issue 27, item 3), under AppTest: with ADMIN_PASSWORD_HASH set the
Config page is read-only until the admin logs in, and its save refuses a visitor even when the
request is crafted past the disabled widgets; without a password the page says anyone can; any
analyst may start research backtests, queued one running + run_now.MAX_WAITING waiting."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import bcrypt
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from app_data import build_filled_root  # noqa: E402

from aion_core.app import run_now  # noqa: E402
from aion_core.store import Store  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PASSWORD = "s3cret-password"
START = "FormSubmitter:bt_form-Start backtest"


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    st.cache_data.clear()
    for name in ("ADMIN_PASSWORD_HASH", "ADMIN_COOKIE_KEY", "ADMIN_TOKEN_TTL_S",
                 "AION_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.fixture
def filled(tmp_path) -> Store:
    store = Store(tmp_path / "filled")
    build_filled_root(store, n_symbols=6, sessions=60, history_days=5)
    return store


@pytest.fixture
def password(monkeypatch):
    # 4 rounds keep the test fast; the app checks any bcrypt cost the same way.
    monkeypatch.setenv("ADMIN_PASSWORD_HASH",
                       bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode())


def _page(monkeypatch, root: Path, page: str, login: bool = False) -> AppTest:
    monkeypatch.setenv("AION_DATA_DIR", str(root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if login:
        at.switch_page("pages/admin.py").run()
        at.text_input[0].input("admin")
        at.text_input[1].input(PASSWORD)
        at.button[0].click().run()
        assert at.session_state["admin_expires_at"] > time.time()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def crafted(widget):
    """`widget` as a client that ignores `disabled` sees it (a hand-made websocket message):
    AppTest itself refuses to touch a disabled one."""
    widget.proto.disabled = False
    return widget


def test_a_visitor_sees_the_knobs_read_only_and_a_crafted_save_changes_nothing(
        monkeypatch, filled, password):
    filled.write_json("bots_config", {"swing": {"1w": {"max_positions": 4}}})
    at = _page(monkeypatch, filled.root, "config")
    (line,) = [i.value for i in at.info]
    assert "needs the admin login" in line and "**Admin** page" in line
    slider = at.slider(key="knob_1w_max_positions")
    assert slider.disabled and at.button(key="save_1w").disabled
    assert not any(t.key == "json_1w" for t in at.text_area)  # no paste box either
    # A press past the disabled widgets: Streamlit drops a disabled widget's value, and
    # views.save_knobs / reset_knobs refuse a visitor themselves (tests/test_views.py).
    crafted(slider).set_value(17)
    crafted(at.button(key="save_1w")).click().run()
    crafted(at.button(key="reset_1w")).click().run()
    assert not at.success and not at.exception
    assert filled.read_json("bots_config") == {"swing": {"1w": {"max_positions": 4}}}


def test_the_admin_changes_the_knobs_after_logging_in(monkeypatch, filled, password):
    at = _page(monkeypatch, filled.root, "config", login=True)
    assert not at.info and not at.warning
    slider = at.slider(key="knob_1w_max_positions")
    assert not slider.disabled
    slider.set_value(17)
    at.button(key="save_1w").click().run()
    assert not at.error and at.success
    assert filled.read_json("bots_config") == {"swing": {"1w": {"max_positions": 17}}}


def test_without_a_password_the_page_says_anyone_can_change_the_knobs(monkeypatch, filled):
    at = _page(monkeypatch, filled.root, "config")
    (line,) = [w.value for w in at.warning]
    assert "anyone" in line and "ADMIN_PASSWORD_HASH" in line
    at.slider(key="knob_1w_max_positions").set_value(17)
    at.button(key="save_1w").click().run()
    assert filled.read_json("bots_config") == {"swing": {"1w": {"max_positions": 17}}}


def _running(store: Store, waiting: int = 0) -> None:
    """A backtest running (this process stands for its supervisor) and `waiting` queued."""
    store.write_json("job_status", {
        "job": run_now.BACKTEST_JOB, "status": "running", "pid": os.getpid(),
        "args": ["backtest"], "started_at": time.time(),
        "waiting": [{"args": ["backtest", str(i)], "queued_at": time.time()}
                    for i in range(waiting)]}, job=run_now.BACKTEST_JOB)


def test_a_visitor_queues_a_backtest_and_a_press_beyond_the_bound_is_refused(
        monkeypatch, filled, password):
    _running(filled)
    at = _page(monkeypatch, filled.root, "research")
    at.button(key=START).click().run()
    assert not at.error, [e.value for e in at.error]
    doc = filled.read_json("job_status", job=run_now.BACKTEST_JOB)
    assert len(doc["waiting"]) == 1 and doc["waiting"][0]["args"][0] == "backtest"
    assert any("1 more waiting" in c.value for c in at.caption)
    _running(filled, waiting=run_now.MAX_WAITING)
    at.button(key=START).click().run()
    (line,) = [e.value for e in at.error]
    assert line.startswith("Not started:") and f"{run_now.MAX_WAITING} are waiting" in line
    assert len(filled.read_json("job_status", job=run_now.BACKTEST_JOB)["waiting"]) == \
        run_now.MAX_WAITING


def test_the_admin_page_shows_a_replay_run_from_a_shell(monkeypatch, filled, password):
    """`make run` replays from a shell: the Admin page said "replay: never run" after it."""
    from datetime import UTC, date, datetime

    from jobs.replay import _record_run

    _record_run(filled, datetime.now(UTC), date(2026, 8, 1), date(2026, 11, 20), "ok",
                "replay 63 sessions")
    at = _page(monkeypatch, filled.root, "admin", login=True)
    jobs = " ".join(h.proto.body for h in at.get("html"))
    replay = jobs.split("<b>replay</b>")[1]
    assert "never run" not in replay and "(replay record)" in replay
