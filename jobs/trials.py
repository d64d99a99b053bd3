"""The trial registry: every `aion evaluate` and `aion backtest` is one line of
research/trials.jsonl (what was tried, on which window and symbols, with which code, and its
headline figures), so that a figure is read against the number of tries that produced it.

A backtest's Sharpe ratios are deflated for the trials whose window overlaps its own
(Bailey & Lopez de Prado's DSR, aion_core.bots.performance): the variance of the Sharpe
ratios those trials recorded is the spread that selection among them feeds on. Research
honesty needs every try counted, so the registry is written by the jobs themselves, never
by hand, and nothing removes a line.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aion_core import __version__
from aion_core.bots import performance
from aion_core.store import Store, append_jsonl, read_jsonl

REPO = Path(__file__).resolve().parents[1]


@cache
def code_version() -> str:
    """The package version and, in a git checkout, the commit (with `+dirty` for local
    changes): a trial is repeatable only with the code that ran it."""
    try:
        sha = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty=+dirty",
                              "--abbrev=12"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+{sha.stdout.strip()}" if sha.returncode == 0 else __version__


def recipe_hash(options: dict[str, Any]) -> str:
    """A fingerprint of what was tried (the options that define it, not when or where)."""
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


def record_trial(store: Store, kind: str, trial_id: str, options: dict[str, Any],
                 start: str, end: str, symbols: int, figures: dict[str, Any]) -> dict[str, Any]:
    """Append one trial (a rerun of the same id with the same recipe and code is the same
    trial: not counted again); returns the line."""
    line = {"kind": kind, "id": trial_id, "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "recipe": recipe_hash(options), "start": start, "end": end, "symbols": symbols,
            "code_version": code_version(), "options": options, "figures": figures}
    same = ("kind", "id", "recipe", "code_version")
    if not any(all(t.get(k) == line[k] for k in same) for t in trials(store)):
        append_jsonl(store.path("research_trials"), [line])
    return line


def trials(store: Store) -> list[dict[str, Any]]:
    """Every recorded trial, oldest first ([] before the first)."""
    path = store.path("research_trials")
    return list(read_jsonl(path).records) if path.exists() else []


def overlapping(lines: list[dict[str, Any]], start: str, end: str) -> list[dict[str, Any]]:
    """The trials whose window shares at least one day with [start, end]."""
    return [t for t in lines if t["start"] <= end and t["end"] >= start]


def deflated(store: Store, run_id: str, start: str, end: str, returns: dict[str, pd.Series]
             ) -> dict[str, Any]:
    """Backtest `run_id`'s bots' Sharpe ratios of `returns` (per session) deflated for the
    other backtests on an overlapping window (`deflate`): a rerun of a killed run is that run,
    not a trial more."""
    return deflate(store, "backtest", run_id, start, end,
                   {bot: performance.sharpe_moments(r) for bot, r in returns.items()})


def deflate(store: Store, kind: str, trial_id: str, start: str, end: str,
            moments: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Each series' per-session Sharpe ratio (`moments`: performance.sharpe_moments), its PSR
    and its DSR given the recorded trials of `kind` on an overlapping window (a former run
    of `trial_id` is this one, not another) and these: `trials` counts their Sharpe ratios
    (each bot of each backtest, each horizon of each evaluation: a configuration one could
    pick, traded or not), `sharpe_variance` is the variance of the defined ones."""
    earlier = [t for t in overlapping(trials(store), start, end)
               if t["kind"] == kind and t["id"] != trial_id]
    tried = [s for t in earlier for s in (t["figures"].get("sharpe_per_session") or {}).values()]
    tried += [m["sharpe"] for m in moments.values()]
    n_trials = max(len(tried), 1)
    sharpes = [s for s in tried if s is not None and np.isfinite(s)]
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else float("nan")
    out: dict[str, Any] = {"trials": n_trials, "sharpe_variance": _finite(variance),
                           "bots" if kind == "backtest" else "horizons": {}}
    for name, m in moments.items():
        args = (m["sharpe"], m["n"], m["skew"], m["kurtosis"])
        out["bots" if kind == "backtest" else "horizons"][name] = {
            "sharpe_per_session": _finite(m["sharpe"]), "sessions": m["n"],
            "psr": _finite(performance.probabilistic_sharpe(*args)),
            "dsr": _finite(performance.deflated_sharpe(*args, n_trials, variance))}
    return out


def _finite(value: float) -> float | None:
    """None for a figure that is undefined (a flat curve's Sharpe): JSON has no NaN."""
    return float(value) if np.isfinite(value) else None


def lines_for_people(lines: list[dict[str, Any]]) -> list[str]:
    """`aion trials`: one line per trial, oldest first."""
    out = []
    for t in lines:
        figures = "; ".join(f"{k} {json.dumps(v, separators=(',', ':'))}"
                            for k, v in sorted(t["figures"].items()))
        out.append(f"{t['at']} {t['kind']:<8} {t['id']} {t['start']}..{t['end']} "
                   f"{t['symbols']} symbols, recipe {t['recipe']}, code {t['code_version']}"
                   + (f": {figures}" if figures else ""))
    return out
