"""The Models page under AppTest: empty, filled and damaged data roots."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from app_data import add_models, build_filled_root  # noqa: E402

from aion_core.store import Store  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    st.cache_data.clear()
    monkeypatch.delenv("ADMIN_PASSWORD_HASH", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.fixture(scope="module")
def filled_root(tmp_path_factory) -> Path:
    store = Store(tmp_path_factory.mktemp("models_page") / "root")
    build_filled_root(store, history_days=40)
    add_models(store)
    return store.root


def _models_page(monkeypatch, root: Path) -> AppTest:
    monkeypatch.setenv("AION_DATA_DIR", str(root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/models.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Models"
    return at


def _charts(at: AppTest) -> list[str]:
    """The titles of the page's Plotly charts."""
    return [el.proto.spec for el in at.get("plotly_chart")]


def test_empty_root_names_the_command_that_fills_it(monkeypatch, tmp_path):
    at = _models_page(monkeypatch, tmp_path / "empty")
    infos = [i.value for i in at.info]
    assert infos and all("aion nightly" in i for i in infos), infos
    assert not at.error


def test_filled_root_shows_every_section(monkeypatch, filled_root):
    at = _models_page(monkeypatch, filled_root)
    assert not at.error and not at.info, ([e.value for e in at.error], [i.value for i in at.info])
    charts = " ".join(_charts(at))
    for title in ("Realised rank IC of the 1w", "Mean rank IC by horizon", "prediction decile",
                  "Reliability of confidence", "Feature importance across nightly runs",
                  "Feature drift of the 1w model", "Why SYM"):
        assert title in charts, title
    validation = at.dataframe[0].value
    assert validation["rounds"].tolist() == [10, 10, 10]  # the final models' rounds
    at.segmented_control(key="models_h").set_value("4w").run()
    assert not at.exception
    assert "Feature drift of the 4w model" in " ".join(_charts(at))


def test_damaged_files_are_named_and_the_rest_renders(monkeypatch, filled_root, tmp_path):
    import shutil

    root = tmp_path / "damaged"
    shutil.copytree(filled_root, root)
    store = Store(root)
    store.path("prediction_history").write_bytes(b"not parquet")
    store.path("ml_models", horizon="1w").write_text("garbage")
    with store.path("model_runs").open("a") as fh:
        fh.write('{"horizon": "1w", "as_of": 3}\n')
    at = _models_page(monkeypatch, root)
    errors = " ".join(e.value for e in at.error)
    for name in ("prediction_history.parquet", "lgbm_1w.txt", "model_runs.jsonl"):
        assert name in errors, errors
    assert "Feature drift of the 1w model" in " ".join(_charts(at))


def test_the_models_say_whether_their_figures_are_upper_bounds(monkeypatch, filled_root,
                                                               tmp_path):
    """Issue 26: models trained without a universe carry the survivorship line; with one,
    the line is gone and the page names the universe."""
    import shutil

    from aion_core.ml.universe import SURVIVORSHIP

    at = _models_page(monkeypatch, filled_root)
    assert [w.value for w in at.warning if SURVIVORSHIP in w.value] != []
    root = tmp_path / "root"
    shutil.copytree(filled_root, root)
    store = Store(root)
    for h in ("1w", "2w", "4w"):
        meta = store.read_json("ml_models_meta", horizon=h)
        if meta is not None:
            note = {"name": "sp500", "line": "Cross-sections hold the members of sp500 on "
                                            "each date."}
            store.write_json("ml_models_meta", {**meta, "universe": note}, horizon=h)
    st.cache_data.clear()
    at = _models_page(monkeypatch, root)
    assert not [w.value for w in at.warning if SURVIVORSHIP in w.value]
    assert any("members of sp500" in c.value for c in at.caption)
