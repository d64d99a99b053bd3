"""The layering of DESIGN.md as rules on folders: imports point down only.

    pages/, app.py            UI            -> aion_core.views (+ config, registry, auth, ...)
    jobs/                     orchestration -> domain + adapters
    aion_core/store/, providers/, brokers/    adapters: the only code touching the outside
    aion_core/ml/, aion_core/bots/            the domain: pure, no adapter, no UI, no SDK

A new module is checked by the folder it lands in; no list of files to keep up to date.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SDKS = ("yfinance", "fredapi", "alpaca", "requests", "streamlit", "plotly")
ADAPTERS = ("aion_core.store", "aion_core.providers", "aion_core.brokers")
APP_SIDE = ("aion_core.views", "aion_core.views_calc", "aion_core.auth", "aion_core.jobs_runner",
            "aion_core.cli", "pages", "jobs")

#: folder -> what no module under it may import
RULES: dict[str, tuple[str, ...]] = {
    "aion_core/ml": (*SDKS, *ADAPTERS, *APP_SIDE, "aion_core.bots"),
    "aion_core/bots": (*SDKS, *ADAPTERS, *APP_SIDE, "aion_core.ml"),
    "aion_core/store": (*SDKS, *APP_SIDE, "aion_core.providers", "aion_core.brokers",
                        "aion_core.ml"),
    "aion_core/providers": ("streamlit", "plotly", *APP_SIDE, "aion_core.store",
                            "aion_core.brokers", "aion_core.ml", "aion_core.bots"),
    "aion_core/brokers": ("streamlit", "plotly", *APP_SIDE, "aion_core.store",
                          "aion_core.providers", "aion_core.ml"),
    "aion_core/ingest": (*SDKS, *APP_SIDE, "aion_core.store", "aion_core.providers",
                         "aion_core.brokers", "aion_core.ml", "aion_core.bots"),
    "jobs": ("streamlit", "plotly", "pages", "aion_core.views", "aion_core.views_calc"),
    "pages": ("jobs", "yfinance", "fredapi", "alpaca", *ADAPTERS[1:], "aion_core.ml"),
}
#: Nothing in the package reaches up into the app or the jobs; the command line is the one
#: module whose work is to start jobs.
PACKAGE_RULE = ("streamlit", "plotly", "pages", "jobs")
COMMAND_LINE = "aion_core/cli.py"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _violations(path: Path, banned: tuple[str, ...]) -> list[str]:
    return sorted(n for n in _imports(path) for b in banned if n == b or n.startswith(b + "."))


@pytest.mark.parametrize("folder", sorted(RULES))
def test_each_folder_imports_only_downwards(folder):
    files = sorted((REPO / folder).rglob("*.py"))
    assert files, f"{folder} holds no module: the rule guards nothing"
    bad = {f.relative_to(REPO).as_posix(): v for f in files if (v := _violations(f, RULES[folder]))}
    assert not bad, f"imports against the layering of {folder}: {bad}"


def test_the_package_never_reaches_up_into_the_app_or_the_jobs():
    bad = {}
    for f in sorted((REPO / "aion_core").rglob("*.py")):
        rel = f.relative_to(REPO).as_posix()
        banned = PACKAGE_RULE if rel != COMMAND_LINE else PACKAGE_RULE[:3]
        if v := _violations(f, banned):
            bad[rel] = v
    assert not bad, bad


def test_the_app_frame_is_ui_like_the_pages():
    assert not _violations(REPO / "app.py", RULES["pages"])


def test_the_rule_sees_a_violation(tmp_path):
    """The checker is not vacuous: a domain module importing the store is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("from aion_core.store import Store\nimport streamlit as st\n")
    assert _violations(bad, RULES["aion_core/bots"]) == ["aion_core.store",
                                                         "aion_core.store.Store", "streamlit"]
