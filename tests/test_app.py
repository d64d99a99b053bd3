"""The app end to end under AppTest: every page from app.py, the Config page's save, the gate."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import bcrypt
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from app_data import build_filled_root  # noqa: E402

from aion_core.store import Store  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["bots", "predictions", "models", "config", "logs", "admin", "research"]
PASSWORD = "s3cret-password"


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    st.cache_data.clear()
    for name in ("ADMIN_PASSWORD_HASH", "ADMIN_COOKIE_KEY", "ADMIN_TOKEN_TTL_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def _app(monkeypatch, root: Path) -> AppTest:
    monkeypatch.setenv("AION_DATA_DIR", str(root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    return at


@pytest.fixture
def filled(tmp_path) -> Store:
    store = Store(tmp_path / "filled")
    build_filled_root(store, n_symbols=8, sessions=90, history_days=10)
    return store


def _visit_all(at: AppTest) -> dict[str, AppTest]:
    assert not at.exception, at.exception
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title, page
    return at


def test_every_page_renders_on_an_empty_root(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path / "empty")
    infos = " ".join(i.value for i in at.info)
    assert "aion nightly" in infos and "aion replay" in infos
    _visit_all(at)


def test_every_page_renders_on_a_filled_root(monkeypatch, filled):
    at = _app(monkeypatch, filled.root)
    assert len(at.metric) >= 4, "a card per bot"
    assert not at.error and not at.info
    _visit_all(at)


def test_a_corrupt_file_is_named_and_the_rest_renders(monkeypatch, filled):
    brain = filled.path("aion_brain")
    brain.write_bytes(b"\x1f\x8b garbage")
    at = _app(monkeypatch, filled.root)
    errors = " ".join(e.value for e in at.error)
    assert "aion_brain.json.gz" in errors
    assert len(at.metric) >= 4, "the bot cards still render"
    _visit_all(at)


def test_config_saves_a_changed_slider(monkeypatch, filled):
    at = _app(monkeypatch, filled.root)
    at.switch_page("pages/config.py").run()
    at.slider(key="knob_1w_max_positions").set_value(17)
    at.button(key="save_1w").click().run()
    assert not at.exception
    assert at.success, "a confirmation"
    doc = json.loads(filled.path("bots_config").read_text())
    assert doc["swing"]["1w"] == {"max_positions": 17}


def test_config_refuses_an_out_of_range_value(monkeypatch, filled):
    at = _app(monkeypatch, filled.root)
    at.switch_page("pages/config.py").run()
    # A slider cannot leave its range, so an out-of-range value comes in as pasted JSON.
    at.text_area(key="json_1w").input('{"max_alloc": 0.9}')
    at.button(key="apply_json_1w").click().run()
    assert any("max_alloc" in e.value for e in at.error)  # refused, with the reason
    assert not filled.path("bots_config").exists()
    at.text_area(key="json_1w").input('{"max_alloc": 0.2}')
    at.button(key="apply_json_1w").click().run()
    assert filled.read_json("bots_config") == {"swing": {"1w": {"max_alloc": 0.2}}}


def test_config_reset_restores_defaults(monkeypatch, filled):
    filled.write_json("bots_config", {"swing": {"4w": {"max_positions": 3}, "1w": {
        "aggression": 1.5}}})
    at = _app(monkeypatch, filled.root)
    at.switch_page("pages/config.py").run()
    at.segmented_control(key="config_bot").set_value("4w").run()
    assert at.slider(key="knob_4w_max_positions").value == 3
    at.button(key="reset_4w").click().run()
    assert at.slider(key="knob_4w_max_positions").value == 10
    assert json.loads(filled.path("bots_config").read_text()) == {
        "swing": {"1w": {"aggression": 1.5}}}


# --------------------------------------------------------------------------- the admin gate


@pytest.fixture
def admin_env(monkeypatch):
    # 4 rounds keep the test fast; the app checks any bcrypt cost the same way.
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    monkeypatch.setenv("ADMIN_PASSWORD_HASH", hashed)
    return hashed


def _admin(monkeypatch, root: Path) -> AppTest:
    at = _app(monkeypatch, root)
    at.switch_page("pages/admin.py").run()
    return at


def _login(at: AppTest, password: str, user: str = "admin") -> AppTest:
    at.text_input[0].input(user)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def _behind_gate(at: AppTest) -> bool:
    return any(s.value == "Settings" for s in at.subheader) or bool(at.toggle)


def test_admin_without_a_hash_explains_how_to_set_one(monkeypatch, tmp_path):
    at = _admin(monkeypatch, tmp_path / "r")
    assert any("hash-password" in c.value for c in at.code)
    assert not _behind_gate(at)


def test_admin_gate(monkeypatch, filled, admin_env):
    at = _admin(monkeypatch, filled.root)
    assert not _behind_gate(at) and len(at.text_input) == 2
    _login(at, "wrong-password")
    assert any("Wrong" in e.value for e in at.error) and not _behind_gate(at)
    _login(at, PASSWORD)
    assert not at.exception and _behind_gate(at)
    shown = " ".join(str(df.value) for df in at.dataframe)
    assert admin_env not in shown and "(set)" in shown  # the hash is masked
    at.button(key="admin_logout").click().run()
    assert not _behind_gate(at)


def test_five_wrong_passwords_lock_that_session_only(monkeypatch, filled, admin_env):
    at = _admin(monkeypatch, filled.root)
    for _ in range(5):
        _login(at, "wrong-password")
    assert any("locked" in e.value for e in at.error)
    assert not at.run().text_input and not _behind_gate(at)
    fresh = _admin(monkeypatch, filled.root)  # another session: not a stranger's hostage
    assert len(fresh.text_input) == 2 and not fresh.error


def test_session_expires_after_the_ttl(monkeypatch, filled, admin_env):
    at = _admin(monkeypatch, filled.root)
    _login(at, PASSWORD)
    assert _behind_gate(at)
    expires = at.session_state["admin_expires_at"]
    assert 3590 < expires - time.time() <= 3600
    at.session_state["admin_expires_at"] = time.time() - 1  # the TTL has passed
    at.run()
    assert any("expired" in w.value for w in at.warning)
    assert not _behind_gate(at)


def test_kill_switch_written(monkeypatch, filled, admin_env):
    at = _admin(monkeypatch, filled.root)
    _login(at, PASSWORD)
    at.toggle(key="admin_kill").set_value(True).run()
    assert filled.read_json("admin_settings") == {"kill_switch": True}


# --------------------------------------------------------------------------- newcomer fixes


def _column_config(at: AppTest, columns: list[str]) -> dict:
    """The column config of the one table showing exactly `columns`."""
    (table,) = [d for d in at.dataframe if list(d.value.columns) == columns]
    return json.loads(table.proto.columns or "{}")


def test_why_no_trade_shows_the_screen_or_says_the_state_predates_it(monkeypatch, filled):
    at = _app(monkeypatch, filled.root)
    at.switch_page("pages/bots.py").run()
    assert any(s.value == "Why no trade" for s in at.subheader)
    config = _column_config(at, ["rank", "symbol", "side", "excess_bp", "confidence", "why"])
    assert config["confidence"]["type_config"]["format"] == "percent"
    assert "Entry bar" in [m.label for m in at.metric]
    at.segmented_control(key="bots_pick").set_value("4w").run()  # an older state
    assert any("predates" in c.value for c in at.caption)


def test_a_bot_idle_for_sessions_shows_a_warning_badge_not_ok(monkeypatch, filled):
    at = _app(monkeypatch, filled.root)  # the filled root's 1w bot has gone 7 sessions idle
    cards = " ".join(h.proto.body for h in at.get("html"))
    assert ">idle 7 sessions</span>" in cards and "see why no trade" in cards
    assert cards.count(">idle ") == 1
    assert re.search(r"<b>swing_2w</b><span [^>]+>ok</span>", cards)  # 0 sessions idle
    at.switch_page("pages/bots.py").run()
    head = " ".join(h.proto.body for h in at.get("html"))
    assert ">idle 7 sessions</span>" in head and "see why no trade" in head


def test_open_positions_show_their_stop_and_target_under_the_knobs(monkeypatch, filled):
    filled.write_json("bots_config", {"swing": {"1w": {"stop_loss": 0.2, "take_profit": 0.3}}})
    at = _app(monkeypatch, filled.root)
    at.switch_page("pages/bots.py").run()
    (pos,) = [d.value for d in at.dataframe if "stop" in d.value.columns]
    assert (pos["stop"] - pos["avg_price"] * 0.8).abs().max() < 1e-9  # all long
    assert (pos["target"] - pos["avg_price"] * 1.3).abs().max() < 1e-9
    at.segmented_control(key="bots_pick").set_value("2w").run()  # take_profit 0: no target
    (pos,) = [d.value for d in at.dataframe if "stop" in d.value.columns]
    assert "target" not in pos and pos["stop"].notna().all()


def test_the_bots_page_shows_the_books_beta_and_active_risk(monkeypatch, filled):
    at = _app(monkeypatch, filled.root)
    at.switch_page("pages/bots.py").run()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Beta"] != "—" and shown["Active risk"].endswith("%")


def test_the_price_chart_marks_the_bots_fills_of_the_symbol(monkeypatch, filled):
    at = _app(monkeypatch, filled.root)
    at.switch_page("pages/predictions.py").run()
    symbol = at.selectbox(key="pred_symbol").value
    (chart, *_) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    marks = {t["name"]: t for t in chart["data"] if t.get("mode") == "markers"}
    assert marks["bot buys"]["marker"]["symbol"] == "triangle-up"
    assert marks["bot sells"]["marker"]["symbol"] == "triangle-down"
    assert "reason" in marks["bot buys"]["hovertemplate"]
    assert any(f"fills of {symbol}" in c.value for c in at.caption)


def test_exit_now_is_for_the_admin_only_and_starts_the_exit_job(monkeypatch, filled,
                                                                 admin_env):
    from aion_core.app import run_now

    started = []
    monkeypatch.setattr(run_now, "start_job", lambda store, name, extra=None: started.append(
        (name, extra)))
    at = _app(monkeypatch, filled.root)
    at.switch_page("pages/bots.py").run()
    assert not any(b.key == "exit_1w" for b in at.button)  # a visitor: no button
    at.switch_page("pages/admin.py").run()
    _login(at, PASSWORD)
    at.switch_page("pages/bots.py").run()
    symbol = at.selectbox(key="exit_pick_1w").value
    at.button(key="exit_1w").click().run()
    assert not at.exception
    ((name, extra),) = started
    assert name == run_now.BOT_EXIT_JOB and extra[:4] == ["--bot", "1w", "--symbol", symbol]
    assert extra[4] == "--at" and datetime.fromisoformat(extra[5]).tzinfo is not None
    filled.write_json("job_status", {"job": name, "status": "ok", "pid": 1}, job=name)
    filled.path("job_log", job=name).write_text("swing_1w: sold 50 SYM000 at $10.00\n")
    at.run()
    assert any("sold 50 SYM000" in m.value for m in at.success)  # the result line


def test_realised_pnl_says_it_is_net_of_the_fees_beside_it(monkeypatch, filled):
    at = _app(monkeypatch, filled.root)
    at.switch_page("pages/bots.py").run()
    config = _column_config(at, ["ts", "symbol", "side", "qty", "price", "realized_pnl",
                                 "fees", "reason", "order_id"])
    assert "net" in config["realized_pnl"]["label"].lower()
    assert "Realised PnL" in config["fees"]["help"]
    assert any("net of fees" in c.value for c in at.caption)


def test_dashboard_ranks_one_horizon_and_cards_show_risk(monkeypatch, filled):
    at = _app(monkeypatch, filled.root)
    (table,) = [d for d in at.dataframe if "horizon" in d.value.columns]
    assert set(table.value["horizon"]) == {"1w"}
    at.segmented_control(key="dash_horizon").set_value("4w").run()
    (table,) = [d for d in at.dataframe if "horizon" in d.value.columns]
    assert set(table.value["horizon"]) == {"4w"}
    cards = " ".join(h.proto.body for h in at.get("html"))
    for label in ("Sharpe", "Max DD", "Exposure"):
        assert label in cards


def test_admin_names_the_user_shows_runs_made_elsewhere_and_runs_every_job(
        monkeypatch, filled, admin_env):
    filled.path("scheduler_heartbeat").unlink()  # no scheduler: the nightly ran from a shell
    at = _admin(monkeypatch, filled.root)
    assert "admin" in at.text_input[0].label
    assert any("user name is **admin**" in c.value for c in at.caption)
    _login(at, PASSWORD)
    jobs = " ".join(h.proto.body for h in at.get("html"))
    # The filled root's nightly ran outside the admin page: its summary says when.
    assert "nightly" in jobs and "nightly summary" in jobs
    assert "never run" not in jobs.split("<b>swing_bots</b>")[0]
    for name in ("nightly", "swing_bots", "intraday", "replay"):
        assert at.button(key=f"run_{name}")


def _failed_night(store: Store) -> None:
    """A second nightly log, whose train step failed with a traceback, and its summary."""
    lines = ["2026-11-18 06:00:00 INFO jobs.nightly: nightly-x: as_of latest, skip_fetch True",
             "2026-11-18 06:00:09 INFO jobs.nightly: step features: ok in 9.00 s: as_of "
             "2026-11-17: 900 rows x 40 features",
             "2026-11-18 06:00:10 ERROR jobs.nightly: step train failed: boom",
             "Traceback (most recent call last):", '  File "model.py", line 1, in fit',
             "ValueError: boom", "2026-11-18 06:00:11 INFO jobs.nightly: step predict: skipped"]
    store.path("nightly_logs", yyyymmdd="20261118").write_text("\n".join(lines) + "\n")
    summary = store.read_json("nightly_summary")
    summary["steps"][2] |= {"status": "failed", "detail": "boom"}
    summary["log"] = str(store.path("nightly_logs", yyyymmdd="20261118"))
    store.write_json("nightly_summary", summary)


def test_logs_offer_only_days_with_a_log_every_job_and_a_failed_steps_traceback(
        monkeypatch, filled):
    _failed_night(filled)
    for job in ("swing_bots", "scheduler"):
        filled.path("job_log", job=job).parent.mkdir(parents=True, exist_ok=True)
        filled.path("job_log", job=job).write_text(f"2026-11-21 10:00:00 INFO {job}: hello\n")
    at = _app(monkeypatch, filled.root)
    at.switch_page("pages/logs.py").run()
    assert not at.exception
    assert at.segmented_control(key="logs_source").options == [
        "nightly runs", "swing_bots", "scheduler"]
    picker = at.selectbox(key="logs_day")
    assert picker.options == ["2026-11-21", "2026-11-18 · as of 2026-11-17"]
    (steps,) = [d for d in at.dataframe if "traceback" in d.value.columns]
    link = steps.value.set_index("name")["traceback"]
    assert link["train"] == "logs?log=nightly+runs&day=2026-11-18&step=train"
    assert link.drop("train").isna().all()
    at.segmented_control(key="logs_source").set_value("scheduler").run()
    assert "scheduler: hello" in " ".join(h.proto.body for h in at.get("html"))


def test_the_traceback_link_opens_the_failed_steps_traceback(monkeypatch, filled):
    _failed_night(filled)
    at = _app(monkeypatch, filled.root)
    at.query_params.update({"log": "nightly runs", "day": "2026-11-18", "step": "train"})
    at.switch_page("pages/logs.py").run()
    assert not at.exception
    assert at.selectbox(key="logs_day").value.isoformat() == "2026-11-18"
    (code,) = [c.value for c in at.code]
    assert code.startswith("2026-11-18 06:00:10 ERROR") and code.endswith("ValueError: boom")
