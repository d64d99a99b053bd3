"""Fault injection: each document of a filled root damaged each way a careless user, an
older version or a disk can damage it, then every page visited and the bot jobs run.

A page never crashes: it shows an error box naming the file and renders the rest; a job
either runs (the document was not its to read) or stops with one line, never a traceback
(issue 12, finding 4 and part 7). Kills at random moments are in test_kills.py and
test_kills_trading.py.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from faults import CASES, corrupt
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from app_data import END, build_filled_root  # noqa: E402

from aion_core import store as st_store  # noqa: E402
from aion_core.cli import app  # noqa: E402
from aion_core.store import Store  # noqa: E402
from aion_core.store.documents import MODELS, key_of  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["dashboard", "bots", "predictions", "models", "research", "config", "logs", "admin"]
HUGE_LIMIT = 1 << 20
JOBS = {"bots": ["bots", "run"],
        "intraday": ["intraday", "cycle", "--at", f"{END:%Y-%m-%d}T15:00:00+00:00"]}
# Each page's reads are cached per file version; the app's refresh fragments are not run.
# Not in a filled root: evaluation reports and backtest runs (test_research_page damages
# those), the intraday model (trained from minute bars the filled root does not hold) and
# the notifier's state (written only when AION_NOTIFY_URLS is set; test_notify) and the trial
# registry (written by evaluate and backtest; test_trials).
KEYS = sorted(set(MODELS) - {"evaluation_report", "backtest_metrics", "backtest_run",
                             "dt_brain_file", "notify_state", "research_trials"})


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A filled root holding one document of every kind the pages and the bots read."""
    store = Store(tmp_path_factory.mktemp("faults") / "root")
    build_filled_root(store, n_symbols=8, sessions=90, history_days=10)
    store.write_json("bots_config", {"swing": {"1w": {"max_positions": 4}}})
    store.write_json("admin_settings", {"kill_switch": False})
    store.write_json("universe", {"name": "test", "intervals": [  # every name, always
        {"ticker": s, "start": "1990-01-02", "end": None} for s in store.daily_symbols()]})
    store.write_json("import_report", {  # what `aion import` writes (a real root's)
        "import_id": "bars_20260101T000000", "kind": "bars", "status": "ok",
        "totals": {"files": 1, "items": 1, "imported": 1},
        "files": [{"path": "/in/bars.csv", "status": "read", "rows": 30, "notes": []}],
        "items": {"AAA": {"status": "imported", "rows_read": 30, "findings": [
            {"check": "zero_volume", "action": "flagged", "rows": 1,
             "dates": ["2016-01-04"]}]}}}, import_id="bars_20260101T000000")
    store.write_json("reconcile_report", {  # what `aion reconcile` writes of a live bot
        "schema": 1, "bot": "swing_1w", "session": "2026-01-02", "status": "differs",
        "matched": [], "only_in_journal": [], "partial": [], "rejected_or_cancelled": [],
        "only_at_broker": [{"order_id": "3f1c", "broker_id": "b1", "symbol": "XOM",
                            "side": "buy", "qty": 5, "filled_qty": 5, "price": 110.0,
                            "status": "filled", "submitted_at": "", "placed_by": "outside"}],
        "positions": [], "cash": {"beyond_fees": 0.0},
        "issues": [{"kind": "only_at_broker", "order_id": "3f1c", "symbol": "XOM",
                    "text": "3f1c: only at the broker"}], "summary": {"matched": 0},
        "shadow": {"start": "2026-01-02", "tracking_bp": -2.5, "tracking_day_bp": -2.5,
                   "live_equity": 99_975.0, "shadow_equity": 100_000.0, "fills": [
                       {"order_id": "swing_1w-20260102-AAA-buy", "symbol": "AAA",
                        "side": "buy", "qty": 10, "price": 100.3, "shadow_price": 100.05,
                        "vs_shadow_bp": 25.0, "vs_open_bp": 30.0, "vs_decision_bp": 31.0}]}},
        bot="swing_1w", yyyymmdd="20260102")
    store.write_json("replay_summary", {  # what `aion replay` leaves for the Admin page
        "schema": 1, "job": "replay", "started_at": "2026-01-02T07:00:00+00:00",
        "finished_at": "2026-01-02T07:01:00+00:00", "status": "ok", "start": "2025-10-01",
        "end": "2026-01-02", "detail": "63 sessions replayed"})
    store.write_json("job_status", {"job": "nightly", "status": "ok", "pid": 1,
                                    "started_at": 1.0e9, "finished_at": 1.0e9 + 60,
                                    "returncode": 0}, job="nightly")
    # A nightly that died during training (a pid no process has): what the pages show then.
    store.write_json("run_marker", {"job": "nightly", "run_id": "nightly-20260101T070000Z",
                                    "pid": 2 ** 22 + 1, "host": "elsewhere",
                                    "started_at": "2026-01-01T07:00:00+00:00",
                                    "step": "train", "step_at": "2026-01-01T07:00:20+00:00"},
                     job="nightly")
    return store.root


def _document(root: Path, key: str) -> Path:
    """The one document of `key` to damage (a swing bot's last trade log for the logs)."""
    found = sorted(p for p in root.rglob("*.json*") if p.suffix != ".lock" and key_of(p) == key)
    assert found, f"the template has no {key} document"
    return found[-1]


@pytest.fixture
def damaged_root(template, tmp_path, monkeypatch, request) -> tuple[Path, Path]:
    key, case = request.param
    monkeypatch.setattr(st_store.files, "MAX_JSON_BYTES", HUGE_LIMIT)
    for name in ("ADMIN_PASSWORD_HASH", "ADMIN_COOKIE_KEY", "ADMIN_TOKEN_TTL_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "root"
    shutil.copytree(template, root, symlinks=True)
    (tmp_path / "outside").mkdir()
    path = _document(root, key)
    corrupt(path, case, tmp_path / "outside", 2 * HUGE_LIMIT)
    return root, path


def _visit(monkeypatch, root: Path) -> dict[str, list[str]]:
    """Each page's error boxes; fails on any exception a page lets out."""
    st.cache_data.clear()
    monkeypatch.setenv("AION_DATA_DIR", str(root))
    at = AppTest.from_file(APP, default_timeout=60)
    errors = {}
    for page in PAGES:  # the first run draws the frame and its first page, the dashboard
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title, page
        errors[page] = [e.value for e in at.error]
    return errors


@pytest.mark.slow
@pytest.mark.parametrize("damaged_root", [(k, c) for k in KEYS for c in CASES],
                         indirect=True, ids=[f"{k}-{c}" for k in KEYS for c in CASES])
def test_pages_and_jobs_hold_against_a_damaged_document(damaged_root, monkeypatch):
    root, path = damaged_root
    errors = _visit(monkeypatch, root)
    shown = " ".join(e for page in errors.values() for e in page)
    assert "Traceback" not in shown
    for name, args in JOBS.items():
        result = CliRunner().invoke(app, [*args, "--data-dir", str(root)])
        out = result.output
        assert result.exit_code in (0, 1), (name, result.exit_code, out)
        assert "Traceback" not in out and "internal error" not in out, (name, out)
        if result.exit_code:
            assert len([line for line in out.splitlines() if line.strip()]) == 1, (name, out)


@pytest.mark.slow
@pytest.mark.parametrize("damaged_root", [("aion_brain", c) for c in CASES], indirect=True,
                         ids=list(CASES))
def test_a_damaged_brain_is_named_on_the_predictions_page(damaged_root, monkeypatch):
    """The brain the pages read: its damage is named, not just survived."""
    root, path = damaged_root
    errors = _visit(monkeypatch, root)
    assert any(path.name in e for e in errors["predictions"]), errors["predictions"]


@pytest.mark.slow
@pytest.mark.parametrize("damaged_root", [("ml_models_meta", c) for c in CASES],
                         indirect=True, ids=list(CASES))
def test_a_damaged_model_metadata_is_named_on_the_models_page(damaged_root, monkeypatch):
    root, path = damaged_root
    errors = _visit(monkeypatch, root)
    assert any(path.name in e for e in errors["models"]), errors["models"]


@pytest.mark.slow
@pytest.mark.parametrize("damaged_root", [("rolling_brain", c) for c in CASES], indirect=True,
                         ids=list(CASES))
def test_a_damaged_brain_is_named_by_the_bots(damaged_root):
    root, path = damaged_root
    result = CliRunner().invoke(app, ["bots", "run", "--data-dir", str(root)])
    assert result.exit_code == 1 and path.name in result.output, result.output


@pytest.mark.slow
@pytest.mark.parametrize("damaged_root", [("rolling_brain", "truncated")], indirect=True)
def test_the_logs_page_never_shows_a_file_a_link_points_to(damaged_root, tmp_path,
                                                           monkeypatch):
    """Finding 1: `nightly_20991231.log -> /etc/passwd` and `?day=2099-12-31`."""
    root, _ = damaged_root
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "logs" / "nightly" / "nightly_20991231.log").symlink_to(secret)
    monkeypatch.setenv("AION_DATA_DIR", str(root))
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["day"] = "2099-12-31"
    at.switch_page("pages/logs.py").run()
    assert not at.exception
    shown = [str(e.value) for e in [*at.markdown, *at.error, *at.code, *at.text]]
    assert not any("root:x" in s for s in shown)
    assert any("outside the data root" in e.value for e in at.error), [e.value for e in at.error]


# --------------------------------------------------------------------------- issue 27


@pytest.fixture
def root_copy(template, tmp_path, monkeypatch) -> Store:
    """A private copy of the filled template, no admin password, no stray .env."""
    for name in ("ADMIN_PASSWORD_HASH", "ADMIN_COOKIE_KEY", "ADMIN_TOKEN_TTL_S",
                 "AION_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(template, tmp_path / "root", symlinks=True)
    return Store(tmp_path / "root")


@pytest.mark.parametrize("key", ["knobs_env", "dt_knobs_env"])
def test_a_folder_at_a_knobs_env_file_is_the_command_lines_one_line_on_each_page(
        root_copy, monkeypatch, key):
    """Item 5: a directory where knobs.env belongs crashed the Config, Bots and Research
    pages with IsADirectoryError; each now shows the line the command line prints."""
    folder = root_copy.path(key)
    folder.mkdir(parents=True)
    line = f"{folder} is a folder where a file belongs: remove or rename it"
    result = CliRunner().invoke(app, ["bots", "run", "--data-dir", str(root_copy.root)])
    assert result.exit_code == 1 and result.output.strip() == f"aion: error: {line}"
    errors = _visit(monkeypatch, root_copy.root)
    for page in ("config", "bots", "research"):
        assert any(line in e for e in errors[page]), (page, errors[page])


def _imported(tmp_path: Path) -> Store:
    """A root holding one real `aion import bars` report (30 sessions of one symbol)."""
    from aion_core import market_hours
    from jobs.imports import import_bars

    store = Store(tmp_path / "imported")
    days = market_hours.sessions("2016-01-04", "2016-03-31")[:30]
    pd.DataFrame({"symbol": "AAA", "date": days, "open": 10.0, "high": 11.0, "low": 9.0,
                  "close": 10.0, "volume": 100.0}).to_csv(tmp_path / "bars.csv", index=False)
    import_bars(store, [tmp_path / "bars.csv"])
    return store


def _logs_page(monkeypatch, store: Store) -> AppTest:
    for name in ("ADMIN_PASSWORD_HASH", "AION_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AION_DATA_DIR", str(store.root))
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/logs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("bad", ['{"status": 1, "files": "x"}', "[1, 2]",
                                 '{"import_id": "bars_x", "kind": "bars", "status": "ok", '
                                 '"items": {"AAA": {"status": "imported", "findings": 5}}}'])
def test_a_wrong_shaped_import_report_is_named_and_the_others_render(tmp_path, monkeypatch,
                                                                     bad):
    """Item 6: `{"status":1,"files":"x"}` in logs/imports/ crashed the Logs page."""
    store = _imported(tmp_path)
    (good,) = store.import_ids()
    path = store.path("import_report", import_id="bars_20991231T000000")
    path.write_text(bad)
    at = _logs_page(monkeypatch, store)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and path.name in errors[0], errors
    (runs,) = [d.value for d in at.dataframe if "import" in d.value.columns]
    assert list(runs["import"]) == [good]
    assert at.selectbox(key="logs_import").value == good


def _labels(errors: list[str]) -> list[str]:
    """The bold labels of error boxes (`**label**: message`)."""
    return [e.split("**")[1] for e in errors if e.startswith("**")]


@pytest.mark.parametrize("bad", ["knobs_env", "bots_config"])
def test_each_knob_error_is_labelled_with_the_file_it_came_from(root_copy, monkeypatch, bad):
    """Item 11: the Research page filed knobs.env and bots_config.json errors under "Daily
    bars", the Bots page labelled knobs.env errors "bots_config.json"."""
    if bad == "knobs_env":
        root_copy.path("knobs_env").write_text("MAX_POSITIONS=8\nLEVERAGE=3\n")
    else:  # written past the store, which refuses to write an invalid one
        root_copy.path("bots_config").write_text('{"swing": {"1w": {"max_alloc": 0.9}}}')
    name = root_copy.path(bad).name
    errors = _visit(monkeypatch, root_copy.root)
    for page in ("bots", "research", "config"):
        labels = _labels(errors[page])
        assert any(name in label for label in labels), (page, errors[page])
        assert not any("Daily bars" in label for label in labels), (page, labels)
        other = {"knobs.env", "bots_config.json"} - {name}
        assert not any(o in label for o in other for label in labels), (page, labels)


def test_the_logs_page_counts_what_a_news_import_dropped(tmp_path, monkeypatch):
    """The newcomer's F: the Logs page said "Every row passed every check" for a news import
    whose report dropped 20,780 items; it shows the report's own dropped count now."""
    from jobs.imports import import_news

    rows = [{"published_at": "2016-01-05 10:00", "ticker": "AAA", "headline": "good news"},
            *({"published_at": "2016-01-05 11:00", "ticker": "", "headline": f"x{i}"}
              for i in range(5))]
    pd.DataFrame(rows).to_csv(tmp_path / "news.csv", index=False)
    store = Store(tmp_path / "news")
    report = import_news(store, [tmp_path / "news.csv"], tz="UTC")
    assert report.status == "ok" and report.files[0]["notes"][0].startswith("5 item(s)")
    at = _logs_page(monkeypatch, store)
    assert not any("passed every check" in c.value for c in at.caption)
    (runs,) = [d.value for d in at.dataframe if "import" in d.value.columns]
    assert runs["dropped"].tolist() == [5]
    (found,) = [d.value for d in at.dataframe if "action" in d.value.columns]
    assert found[["action", "rows"]].values.tolist() == [["dropped", 5]]
    assert found["detail"].iloc[0] == report.files[0]["notes"][0]
