"""The layering of DESIGN.md as rules on folders: imports point down only, and never in a circle.

    pages/, app.py            UI            -> aion_core.app (+ the registry, config, errors)
    aion_core/app/            the app's read side -> domain + store; no Streamlit, no jobs
    jobs/                     orchestration -> domain + adapters
    aion_core/store/, providers/, brokers/, sql_copy/, alerts/sender    adapters
    aion_core/ml/, bots/, knobs/, alerts/rules      the domain: pure, no adapter, no UI, no SDK

A new module is checked by the folder it lands in; no list of files to keep up to date.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SDKS = ("yfinance", "fredapi", "alpaca", "requests", "streamlit", "plotly", "apprise")
ADAPTERS = ("aion_core.store", "aion_core.providers", "aion_core.brokers", "aion_core.sql_copy",
            "aion_core.alerts.sender")
APP_SIDE = ("aion_core.app", "aion_core.cli", "pages", "jobs")
DOMAIN = (*SDKS, *ADAPTERS, *APP_SIDE)

#: folder -> what no module under it may import
RULES: dict[str, tuple[str, ...]] = {
    "aion_core/ml": (*DOMAIN, "aion_core.bots", "aion_core.alerts"),
    "aion_core/bots": (*DOMAIN, "aion_core.ml", "aion_core.alerts"),
    "aion_core/knobs": (*DOMAIN, "aion_core.ml", "aion_core.bots", "aion_core.alerts"),
    "aion_core/store": (*SDKS, *APP_SIDE, "aion_core.providers", "aion_core.brokers",
                        "aion_core.ml", "aion_core.sql_copy", "aion_core.alerts"),
    "aion_core/providers": ("streamlit", "plotly", *APP_SIDE, "aion_core.store",
                            "aion_core.brokers", "aion_core.ml", "aion_core.bots"),
    "aion_core/brokers": ("streamlit", "plotly", *APP_SIDE, "aion_core.store",
                          "aion_core.providers", "aion_core.ml"),
    "aion_core/ingest": (*SDKS, *APP_SIDE, "aion_core.store", "aion_core.providers",
                         "aion_core.brokers", "aion_core.ml", "aion_core.bots"),
    "aion_core/sql_copy": ("streamlit", "plotly", *APP_SIDE, "aion_core.providers",
                           "aion_core.brokers", "aion_core.ml"),
    "aion_core/app": ("streamlit", "plotly", "pages", "jobs", "aion_core.cli",
                      "aion_core.providers", "aion_core.brokers"),
    "jobs": ("streamlit", "plotly", "pages", "aion_core.app"),
}
#: The alerts package holds a pure half and an adapter half, named so.
MODULE_RULES: dict[str, tuple[str, ...]] = {
    "aion_core/alerts/rules.py": (*DOMAIN, "aion_core.bots"),
}
#: What the UI may import of aion_core: the app package, the bot registry, config, errors.
UI_ALLOWED = ("aion_core.app", "aion_core.bots.registry", "aion_core.config", "aion_core.errors")
UI_BANNED = ("jobs", "yfinance", "fredapi", "alpaca", "requests", "apprise")
#: Nothing in the package reaches up into the app or the jobs; the command line is the one
#: module whose work is to start jobs.
PACKAGE_RULE = ("streamlit", "plotly", "pages", "jobs")
COMMAND_LINE = "aion_core/cli.py"
#: Where the import graph is drawn for the circle check.
SOURCES = ("aion_core", "jobs", "pages", "app.py")


def _imports(path: Path) -> set[str]:
    """Every name imported anywhere in the module (a function's own imports included: a
    circle through a lazy import is still a circle of responsibilities)."""
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


def _ui_violations(path: Path) -> list[str]:
    names = _imports(path)
    outside = {n for n in names if n.startswith("aion_core.")
               and not any(n == a or n.startswith(a + ".") for a in UI_ALLOWED)}
    return sorted(outside | set(_violations(path, UI_BANNED)))


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(path: Path, modules: set[str]) -> set[str]:
    """The modules a module imports: `from a import b` is a.b when b is a module (a package
    importing its own submodules is not a circle), else a."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            subs = {f"{node.module}.{a.name}" for a in node.names}
            found.update(subs & modules or {node.module})
            found.update(s.rpartition(".")[0] for s in subs - modules)
    return found & modules


def import_graph(root: Path, sources: Iterable[str]) -> dict[str, set[str]]:
    """module -> the modules of `sources` it imports."""
    files = [p for s in sources for p in ((root / s).rglob("*.py") if (root / s).is_dir()
                                           else [root / s])]
    modules = {module_name(p, root): p for p in files}
    return {name: _targets(path, set(modules)) - {name} for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


@pytest.mark.parametrize("folder", sorted(RULES))
def test_each_folder_imports_only_downwards(folder):
    files = sorted((REPO / folder).rglob("*.py"))
    assert files, f"{folder} holds no module: the rule guards nothing"
    bad = {f.relative_to(REPO).as_posix(): v for f in files if (v := _violations(f, RULES[folder]))}
    assert not bad, f"imports against the layering of {folder}: {bad}"


@pytest.mark.parametrize("module", sorted(MODULE_RULES))
def test_the_pure_half_of_a_split_package_stays_pure(module):
    assert not _violations(REPO / module, MODULE_RULES[module])


def test_the_package_never_reaches_up_into_the_app_or_the_jobs():
    bad = {}
    for f in sorted((REPO / "aion_core").rglob("*.py")):
        rel = f.relative_to(REPO).as_posix()
        banned = PACKAGE_RULE if rel != COMMAND_LINE else PACKAGE_RULE[:3]
        if v := _violations(f, banned):
            bad[rel] = v
    assert not bad, bad


def test_the_pages_and_the_app_frame_read_through_the_app_package():
    files = [*sorted((REPO / "pages").glob("*.py")), REPO / "app.py"]
    bad = {f.name: v for f in files if (v := _ui_violations(f))}
    assert not bad, f"the UI reaches past aion_core.app: {bad}"


def test_no_import_circle_anywhere():
    graph = import_graph(REPO, SOURCES)
    assert "aion_core.cli" in graph and "jobs.nightly" in graph  # the graph is the real one
    assert circles(graph) == []


def test_the_rule_sees_a_violation(tmp_path):
    """The checker is not vacuous: a domain module importing the store is caught, and so is a
    page that reads the store itself."""
    bad = tmp_path / "bad.py"
    bad.write_text("from aion_core.store import Store\nimport streamlit as st\n")
    assert _violations(bad, RULES["aion_core/bots"]) == ["aion_core.store",
                                                         "aion_core.store.Store", "streamlit"]
    assert _ui_violations(bad) == ["aion_core.store", "aion_core.store.Store"]


def test_a_planted_circle_is_found(tmp_path):
    """Three modules in a ring (one of them through a function's lazy import) and one
    outside it: the ring is reported, the bystander is not."""
    pkg = tmp_path / "ring"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from ring import b\n")
    (pkg / "b.py").write_text("import ring.c\n")
    (pkg / "c.py").write_text("def f():\n    from ring.a import thing\n")
    (pkg / "d.py").write_text("from ring import a\n")
    assert circles(import_graph(tmp_path, ["ring"])) == [["ring.a", "ring.b", "ring.c"]]


def test_every_package_says_what_lives_there_and_what_it_may_import():
    inits = [*sorted((REPO / "aion_core").rglob("__init__.py")),
             *sorted((REPO / "jobs").rglob("__init__.py"))]
    inits = [p for p in inits if "migrations" not in p.parts]
    silent = [p.relative_to(REPO).as_posix() for p in inits
              if "import" not in (ast.get_docstring(ast.parse(p.read_text())) or "")
              .split("\n\n")[0].lower()]
    assert not silent, f"packages whose docstring does not say what they may import: {silent}"


def test_at_most_eight_modules_loose_at_the_top_of_the_package():
    loose = sorted(p.name for p in (REPO / "aion_core").glob("*.py")
                   if p.name not in ("__init__.py", "__main__.py"))
    assert len(loose) <= 8, loose
