"""The Config page over the knob layers: each knob says where its value comes from (default,
knobs.env / dt_knobs.env, bots_config.json), a save keeps a value moved back to its default
over an env file's, and a bad env line is shown with its file, line and knob (issue 14)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from app_data import build_filled_root  # noqa: E402

from aion_core.bots.registry import BOTS  # noqa: E402
from aion_core.store import Store, write_text  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def filled(tmp_path, monkeypatch) -> Store:
    st.cache_data.clear()
    for name in ("ADMIN_PASSWORD_HASH", "ADMIN_COOKIE_KEY", "AION_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    store = Store(tmp_path / "filled")
    build_filled_root(store, n_symbols=8, sessions=60, history_days=5)
    monkeypatch.setenv("AION_DATA_DIR", str(store.root))
    return store


def _config_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/config.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _sources(at: AppTest) -> list[str]:
    return [c.value.removeprefix("from ") for c in at.caption if c.value.startswith("from ")]


def test_each_knob_names_the_layer_its_value_comes_from(filled: Store):
    write_text(filled.path("knobs_env"), "MAX_POSITIONS=7\nSWING_1W_STOP_LOSS=0.04\n")
    write_text(filled.path("dt_knobs_env"), "MAX_POSITIONS=2\n")
    filled.write_json("bots_config", {"swing": {"1w": {"aggression": 1.5, "stop_loss": 0.03}}})
    at = _config_page()
    sources = _sources(at)
    assert len(sources) == len(BOTS["1w"].schema())
    assert sources.count("knobs.env") == 1  # max_positions; stop_loss is bots_config's
    assert sources.count("bots_config.json") == 2
    assert sources.count("default") == len(sources) - 3
    assert at.slider(key="knob_1w_max_positions").value == 7
    assert at.slider(key="knob_1w_stop_loss").value == pytest.approx(0.03)
    at.segmented_control(key="config_bot").set_value("dt").run()
    assert _sources(at).count("dt_knobs.env") == 1
    assert at.slider(key="knob_dt_max_positions").value == 2


def test_a_save_keeps_a_value_moved_back_to_its_default_over_the_env_file(filled: Store):
    write_text(filled.path("knobs_env"), "MAX_POSITIONS=7\n")
    at = _config_page()
    at.slider(key="knob_1w_max_positions").set_value(10)  # the schema's default
    at.button(key="save_1w").click().run()
    assert not at.exception and at.success
    assert json.loads(filled.path("bots_config").read_text()) == {
        "swing": {"1w": {"max_positions": 10}}}
    assert "bots_config.json" in _sources(at)
    at.button(key="reset_1w").click().run()
    assert at.slider(key="knob_1w_max_positions").value == 7  # back to knobs.env's
    assert filled.read_knobs([BOTS["1w"]])["1w"].max_positions == 7


def test_a_bad_env_line_is_named_and_the_page_still_renders(filled: Store):
    write_text(filled.path("knobs_env"), "# swing\nSTOP_LOSS=2\n")
    at = _config_page()
    errors = " ".join(e.value for e in at.error)
    assert "knobs.env line 2" in errors and "stop_loss" in errors
    assert at.slider(key="knob_1w_stop_loss"), "the sliders still render"
    at.button(key="save_1w").click().run()
    assert any("Not saved" in e.value and "knobs.env line 2" in e.value for e in at.error)
    assert not filled.path("bots_config").exists()
