"""Imports point down: the domain imports no store, no Streamlit, no SDK (DESIGN.md layers)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "aion_core"
ADAPTERS = {"aion_core/store.py", "aion_core/cli.py", "aion_core/views.py", "aion_core/auth.py",
            "aion_core/jobs_runner.py", "aion_core/config.py", "aion_core/__main__.py"}
ADAPTER_DIRS = ("aion_core/providers/", "aion_core/brokers/")
FORBIDDEN = ("streamlit", "yfinance", "fredapi", "alpaca", "aion_core.store", "jobs", "requests",
             "aion_core.providers", "aion_core.brokers", "aion_core.views")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_modules_import_no_adapter_ui_or_sdk():
    root = PKG.parent
    checked = 0
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel in ADAPTERS or rel.startswith(ADAPTER_DIRS):
            continue
        checked += 1
        bad = {n for n in _imports(path) for f in FORBIDDEN if n == f or n.startswith(f + ".")}
        assert not bad, f"{rel} imports {sorted(bad)}: the domain must stay pure"
    assert checked >= 3
