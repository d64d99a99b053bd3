"""Loaders for the app: every file a page reads, through `aion_core.store`.

Each loader is registered with the files it reads (`@loader(name, files)`), and it reads
exactly those paths, so the app can cache its result keyed on their modification times
(`source_key`) and the two can never disagree: an auto-refresh re-reads only what a job
rewrote. A missing file loads as None or an empty frame ("nothing yet"); a corrupt one raises
CorruptFileError naming it, which the page shows in an error box while the rest renders. No
Streamlit here, so all of it is tested plainly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from aion_core import runs
from aion_core.app.auth import Access, require_knobs
from aion_core.app.calc import trades_frame
from aion_core.bots.registry import BOTS, INTRADAY_JOB, NIGHTLY_JOB, SWING_JOB, Bot
from aion_core.config import HORIZONS
from aion_core.errors import CorruptFileError

# The names the pages use of the layers below, so that they import nothing but this package
# (and the registry, config and errors): tests/test_layers.py. Store, RunState and
# validate_bots_config below are theirs too.
from aion_core.knobs.schema import Knob as Knob
from aion_core.knobs.schema import knob_layers, validate_bots_config, validate_knobs, with_overrides
from aion_core.runs import RunState
from aion_core.runs import stamp as stamp  # for the pages too, as Knob above
from aion_core.store import Store, read_json, read_jsonl, read_parquet, tail_lines
from aion_core.store.documents import check as check_document

LOG_LINES = 1000
_LOG_NAME = re.compile(r"^nightly_(\d{8})\.log$")

#: Commands that fill each kind of file, for empty states (jobs by their one name).
FILL = {
    "market": "aion demo-data",
    "brain": "aion nightly",
    SWING_JOB: "aion replay --start YYYY-MM-DD --end YYYY-MM-DD",
    INTRADAY_JOB: "aion intraday cycle",
    NIGHTLY_JOB: "aion nightly",
    "scheduler": "aion scheduler",
}


def fingerprint(paths: Iterable[Path]) -> tuple[tuple[str, int], ...]:
    """(path, mtime_ns) of each file, -1 when missing: the cache key of what they hold."""
    out = []
    for p in paths:
        try:
            out.append((str(p), os.stat(p).st_mtime_ns))
        except FileNotFoundError:
            out.append((str(p), -1))
    return tuple(out)


@dataclass(frozen=True)
class Loader:
    """files(store, *args) -> the paths it reads; read(store, paths, *args) -> the value.

    `version` is part of the key under which the app shares the value between its processes
    (aion_core.app.cache): bump it when the value's shape changes without the loader's own code
    changing (a helper it calls now returns other columns), so no process reads the old one.
    `check(paths, value)` raises when a value from that shared cache does not fit what the
    loader returns beyond its type hint: the documents in it are re-checked against the
    schemas their files are read with (store.documents), which a value read back from Redis
    skipped. Read's return annotation is the rest of its shape (cache.fits).
    """

    files: Callable[..., list[Path]]
    read: Callable[..., Any]
    version: int = 1
    check: Callable[[list[Path], Any], None] | None = None


#: Every loader by name. Folders count as files: adding or atomically replacing a file
#: inside one changes the folder's mtime.
LOADERS: dict[str, Loader] = {}


def loader(name: str, files: Callable[..., list[Path]], version: int = 1,
           check: Callable[[list[Path], Any], None] | None = None) -> Callable[[Callable],
                                                                             Callable]:
    """Register `read` as loader `name` of the paths `files` gives."""
    def register(read: Callable) -> Callable:
        LOADERS[name] = Loader(files, read, version, check)
        return read
    return register


def document_at(index: int) -> Callable[[list[Path], Any], None]:
    """A Loader.check: the value, when not None, is the document of the file `paths[index]`."""
    def check(paths: list[Path], value: Any) -> None:
        if value is not None:
            check_document(paths[index], value)
    return check


def documents_at(index: int, part: Callable[[Any], list[Any]] = list,
                 ) -> Callable[[list[Path], Any], None]:
    """A Loader.check: each of `part(value)` is a document of the kind `paths[index]` holds
    (the files of a folder listing: one schema for all)."""
    def check(paths: list[Path], value: Any) -> None:
        for doc in part(value):
            check_document(paths[index], doc)
    return check


def source_key(store: Store, name: str, *args: Any) -> tuple[tuple[str, int], ...]:
    """The cache key of `load(name, *args)`: the fingerprint of the files it reads."""
    return fingerprint(LOADERS[name].files(store, *args))


def load(store: Store, name: str, *args: Any) -> Any:
    """Run loader `name` on `store`."""
    entry = LOADERS[name]
    return entry.read(store, entry.files(store, *args), *args)


# --------------------------------------------------------------------------- small documents


# A brain read back from the cache is checked as the rolling brain, which the aion brain
# extends: either file may have made it.
@loader("brain", lambda s: [s.path("aion_brain"), s.path("rolling_brain")],
        check=document_at(1))
def load_brain(store: Store, paths: list[Path]) -> dict[str, Any] | None:
    """The aion brain when the nightly wrote it, else the rolling brain it is built from."""
    full, rolling = paths
    return read_json(full if full.exists() else rolling)


@loader("knob_env", lambda s: [s.path("knobs_env"), s.path("dt_knobs_env")],
        check=lambda paths, value: validate_bots_config(value))
def load_knob_env(store: Store, paths: list[Path]) -> dict[str, Any]:
    """knobs.env and dt_knobs.env as one bots_config-shaped document (Store.read_knob_env)."""
    return store.read_knob_env()


@loader("doc", lambda s, key: [s.path(key)], check=document_at(0))
def load_doc(store: Store, paths: list[Path], key: str) -> Any | None:
    """Any keyed JSON document (summary, heartbeat, bots_config, admin_settings)."""
    return read_json(paths[0])


@loader("run_marker", lambda s, job: [s.path("run_marker", job=job)], check=document_at(0))
def load_run_marker(store: Store, paths: list[Path], job: str) -> dict[str, Any] | None:
    """A job's started marker (logs/running/<job>.json), None when no run is unfinished."""
    return read_json(paths[0])


def run_state(marker: Mapping[str, Any] | None,
              finished: Mapping[str, Any] | None = None) -> RunState | None:
    """The unfinished run a marker stands for, judged now: running or died during its step
    (aion_core.runs). Never cached: a process dies without touching a file."""
    return runs.run_state(marker, finished)


@loader("bars_sources", lambda s: [s.path("bars_provenance"), s.path("synthetic_spec")])
def load_bars_sources(store: Store, paths: list[Path]) -> list[str]:
    """Where the daily bars came from (synthetic, import, yfinance): the synthetic badge."""
    return store.bars_sources()


def _each_meta(paths: list[Path], value: dict[str, Any]) -> None:
    for h, path in zip(HORIZONS, paths, strict=True):
        document_at(0)([path], value.get(h))


@loader("model_meta", lambda s: [s.path("ml_models_meta", horizon=h) for h in HORIZONS],
        check=_each_meta)
def load_model_meta(store: Store, paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Each horizon's model metadata (features, validation, importance), when trained."""
    docs = {h: read_json(path) for h, path in zip(HORIZONS, paths, strict=True)}
    return {h: doc for h, doc in docs.items() if doc is not None}


# --------------------------------------------------------------------------- bots


def _bot_files(store: Store, key: str) -> list[Path]:
    bot = BOTS[key]
    return [bot.state_path(store.root), *store.bot_trade_files(bot)]


@loader("bot", _bot_files, check=lambda paths, value: document_at(0)(paths, value[0]))
def load_bot(store: Store, paths: list[Path], key: str) -> tuple[dict[str, Any] | None,
                                                                 pd.DataFrame]:
    """Bot `key`'s state document and its trades (views_calc.trades_frame, newest first)."""
    state_path, *trade_logs = paths
    records = [r for path in trade_logs for r in read_jsonl(path).records]
    return read_json(state_path), trades_frame(records)


def _reconcile_folder(store: Store, key: str) -> list[Path]:
    return [store.path("reconcile_report", bot=BOTS[key].name, yyyymmdd="20000101").parent]


def _each_report(paths: list[Path], value: list[dict[str, Any]]) -> None:
    """A Loader.check: each report is the document of its own file in the folder."""
    for doc in value:
        check_document(paths[0] / f"{str(doc.get('session', '')).replace('-', '')}.json", doc)


@loader("reconcile", _reconcile_folder, check=_each_report)
def load_reconcile(store: Store, paths: list[Path], key: str) -> list[dict[str, Any]]:
    """Bot `key`'s reconcile reports (`aion reconcile`), oldest session first; [] for a bot
    never reconciled. Folders count as files here: a new or replaced report changes it."""
    folder, name = paths[0], BOTS[key].name
    days = sorted(p.stem for p in folder.glob("*.json") if re.fullmatch(r"\d{8}", p.stem)) \
        if folder.is_dir() else []
    reports = [store.read_json("reconcile_report", bot=name, yyyymmdd=day) for day in days]
    return [r for r in reports if r]


# --------------------------------------------------------------------------- market data


@loader("bars", lambda s, sym: [s.path("raw_daily", symbol=sym)])
def load_bars(store: Store, paths: list[Path], symbol: str) -> pd.DataFrame | None:
    """One symbol's daily bars (the contract's columns, however the file stores them), None
    when absent; a file lacking a column raises CorruptFileError naming it."""
    return store.read_daily(symbol)


@loader("closes", lambda s: [s.path("raw_daily", symbol="X").parent])
def load_closes(store: Store, paths: list[Path]) -> pd.DataFrame | None:
    """Closes of the whole universe (index session dates, one column per symbol, USD)."""
    return store.read_closes()


@loader("prediction_history", lambda s, sym: [s.path("prediction_history")])
def load_prediction_history(store: Store, paths: list[Path], symbol: str) -> pd.DataFrame:
    """One symbol's past predictions: as_of, horizon, expected_return, confidence, score, rank."""
    frame = read_parquet(paths[0], filters=[("symbol", "==", symbol)])
    cols = ["as_of", "horizon", "expected_return", "confidence", "score", "rank"]
    if frame is None:
        return pd.DataFrame(columns=cols)
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame.reindex(columns=cols).sort_values("as_of").reset_index(drop=True)


# --------------------------------------------------------------------------- nightly logs


def parse_log_day(text: str | date) -> date:
    """A log date from the picker or strictly `YYYY-MM-DD`; anything else is refused.

    The result is a date, never a string, so nothing a visitor types reaches a path.
    """
    if isinstance(text, date):
        return text
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return datetime.strptime(text.strip(), "%Y-%m-%d").date()


IMPORTS_SHOWN = 20


def _each_report(paths: list[Path], value: tuple[list[dict[str, Any]], list[str]]) -> None:
    for report in value[0]:  # any name in the folder stands for the reports' schema
        check_document(paths[0] / "report.json", report)


@loader("imports", lambda s: [s.path("import_report", import_id="bars_20000101T000000").parent],
        version=2, check=_each_report)
def load_imports(store: Store, paths: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """The last IMPORTS_SHOWN import reports, newest first, each checked against its schema
    (store.documents.ImportReport); and the ones that cannot be read, each named with why
    (one bad report hides no other)."""
    reports, broken = [], []
    for i in store.import_ids()[:IMPORTS_SHOWN]:
        try:
            report = store.read_json("import_report", import_id=i)
        except CorruptFileError as exc:
            broken.append(f"{exc.path}: {exc.reason}")
            continue
        if report is not None:
            reports.append(report)
    return reports, broken


@loader("log_days", lambda s: [s.path("nightly_logs", yyyymmdd="20000101").parent])
def log_days(store: Store, paths: list[Path]) -> list[date]:
    """Days that have a nightly log, newest first."""
    folder = paths[0]
    if not folder.is_dir():
        return []
    days = [datetime.strptime(m.group(1), "%Y%m%d").date()
            for p in folder.iterdir() if (m := _LOG_NAME.match(p.name))]
    return sorted(days, reverse=True)


@loader("log", lambda s, day, n=LOG_LINES: [s.path("nightly_logs", yyyymmdd=day)])
def load_log(store: Store, paths: list[Path], day: date, n: int = LOG_LINES) -> list[str] | None:
    """The last `n` lines of that night's log (None when there is no log that day)."""
    return tail_lines(paths[0], n)


#: Every job with a log at PATHS["job_log"] (`logs/jobs/<job>.log`), in the Logs page's order:
#: written by the scheduler's job threads, the admin's run-now, and `make run` (scheduler).
LOG_JOBS = (NIGHTLY_JOB, SWING_JOB, INTRADAY_JOB, "replay", "evaluate", "backtest",
            "bot_exit", "scheduler")
_AS_OF = re.compile(r"\bas_of (\d{4}-\d{2}-\d{2})\b")
AS_OF_BYTES = 1 << 16  # the features step, which names the as-of, runs in the first lines


@loader("nightly_runs", lambda s: [s.path("nightly_logs", yyyymmdd="20000101").parent])
def nightly_runs(store: Store, paths: list[Path]) -> list[dict[str, Any]]:
    """Each nightly log, newest first: `day` (the run's UTC date, which names the file) and
    `as_of` (the session its data ended on, from the log's own lines; None before the
    features step logged it). A run after midnight covers the day before: the page says so
    rather than filing a night under a date whose data it does not hold."""
    runs = []
    for day in log_days(store, paths):
        path = store.path("nightly_logs", yyyymmdd=day)
        try:
            with path.open("rb") as fh:
                head = fh.read(AS_OF_BYTES).decode(errors="replace")
        except FileNotFoundError:  # deleted since the folder was listed
            continue
        found = _AS_OF.findall(head)
        runs.append({"day": day, "as_of": found[-1] if found else None})
    return runs


@loader("job_logs", lambda s: [s.path("job_log", job="nightly").parent])
def job_logs(store: Store, paths: list[Path]) -> list[str]:
    """The jobs of LOG_JOBS that have a log file, in that order."""
    return [job for job in LOG_JOBS if store.path("job_log", job=job).is_file()]


@loader("job_log", lambda s, job, n=LOG_LINES: [s.path("job_log", job=job)])
def load_job_log(store: Store, paths: list[Path], job: str,
                 n: int = LOG_LINES) -> list[str] | None:
    """The last `n` lines of a job's log (None when it has none)."""
    return tail_lines(paths[0], n)


# --------------------------------------------------------------------------- the UI's writes


def save_knobs(store: Store, bot: Bot, values: dict[str, Any], who: Access) -> dict[str, Any]:
    """Store one bot's knob values as overrides of the layers below bots_config.json (the
    schema defaults and knobs.env / dt_knobs.env); returns them.

    `who` must be allowed to change the live knobs (auth.Access: an admin session when a
    password is set), else RefusedError and nothing is written: the page's read-only widgets
    are a courtesy, this is the check. Validated next (KnobError names the knob and the
    reason, nothing is written); then merged into bots_config.json under its lock, so a
    concurrent bot run or a second analyst never sees a half-applied change and other bots'
    overrides are kept. A value is kept when it differs from what the env files and
    defaults give, not from the default alone: a knob moved back to its default over an env
    file's value must stay there.
    """
    require_knobs(who)
    clean = validate_knobs(bot.section, values, bot.horizon)
    below = knob_layers(None, bot.section, bot.horizon, store.read_knob_env())
    overrides = {k: v for k, v in clean.items() if v != below[k][0]}

    def merge(old: Any) -> dict[str, Any]:
        base = validate_bots_config(old) if isinstance(old, dict) else {}
        return with_overrides(base, bot.section, bot.horizon, overrides)

    store.update_json("bots_config", merge)
    return overrides


def reset_knobs(store: Store, bot: Bot, who: Access) -> None:
    """Remove one bot's bots_config.json overrides: its knobs are back to the env files'
    values, and the schema defaults where those set none. `who` as for `save_knobs`."""
    require_knobs(who)
    store.update_json("bots_config", lambda old: with_overrides(
        old if isinstance(old, dict) else {}, bot.section, bot.horizon, None))


def set_kill_switch(store: Store, on: bool) -> None:
    """The global kill switch every bot run checks before placing an order."""
    store.update_json("admin_settings", lambda old: {**(old if isinstance(old, dict) else {}),
                                                     "kill_switch": bool(on)})
