"""The data root's JSON documents as pydantic models: CONTRACT.md's formats in code.

Every JSON read and write of a keyed file (`files.read_json` / `write_json`, and each line of
a trade log) is checked here, by the file's place in the root, before anyone uses it. A
document that does not fit raises CorruptFileError naming the file and the field, so a page
shows one error box and a job stops with one line, instead of a KeyError three calls later.

The models are strict (a string is not a number, 1 is not `true`), refuse NaN and infinity,
and allow extra keys: a newer writer may add a field an older reader ignores, but it may
never change the type of one a reader uses. Only what readers rely on is required.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from aion_core.config import DT_PATHS, PATHS
from aion_core.errors import CorruptFileError, KnobError
from aion_core.knobs.schema import validate_bots_config

Finite = Annotated[float, Field(allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Doc(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- bots


class Position(Doc):
    qty: Finite
    avg_price: Finite
    entry_date: str | None = None
    last_price: Finite | None = None


class EquityPoint(Doc):
    """A session's point (`date`, the swing bots) or a cycle's (`at`, the intraday bot)."""

    date: str | None = None
    at: str | None = None
    equity: Finite
    cash: Finite | None = None

    @model_validator(mode="after")
    def _stamped(self) -> EquityPoint:
        if self.date is None and self.at is None:
            raise ValueError("an equity point needs a `date` or an `at`")
        return self


class BotState(Doc):
    """A swing bot's or the intraday bot's state (CONTRACT.md "Bot state")."""

    bot: str
    as_of: str | None = None
    initial_cash: Positive
    cash: Finite
    positions: dict[str, Position]
    equity_history: list[EquityPoint] = []
    pending_signals: list[dict[str, Any]] = []
    last_run: dict[str, Any] | None = None
    idle_sessions: int = Field(0, ge=0)  # sessions in a row without a fill (swing bots)


class IntradayState(BotState):
    last_cycle: str | None = None


class TradeLine(Doc):
    """One trade log line: a fill. A zero or negative quantity or price is no fill."""

    ts: str
    bot: str
    symbol: str
    side: Literal["buy", "sell"]
    qty: Positive
    price: Positive
    fees: NonNegative
    reason: str
    order_id: str = Field(min_length=1)
    realized_pnl: Finite = 0.0


# --------------------------------------------------------------------------- the nightly


class Prediction(Doc):
    expected_return: Finite
    confidence: Probability
    score: Finite
    rank: int


class SymbolEntry(Doc):
    last_close: Finite | None = None
    predictions: dict[str, Prediction]


class RollingBrain(Doc):
    """rolling_brain.json.gz; the aion brain is the same with `regime` and `portfolio`."""

    as_of: str
    generated_at: str
    horizons: list[str]
    models: dict[str, dict[str, Any]]
    symbols: dict[str, SymbolEntry]


class AionBrain(RollingBrain):
    regime: dict[str, Any] | None = None
    portfolio: dict[str, Any] | None = None


class ModelMeta(Doc):
    """lgbm_<h>.json: what the nightly needs to load the model beside it and trust it."""

    horizon: str
    model: Literal["gbm", "composite"] = "gbm"
    slope: Finite | None = None
    features: list[str] = Field(min_length=1)
    trained_through: str
    num_rounds: int = Field(ge=0)
    validation: dict[str, Any] = {}
    calibration: dict[str, Any] | None = None


class IntradayModelDoc(Doc):
    """dt_brain.json.gz: the intraday model as JSON (no pickle)."""

    trained_through: str
    model: dict[str, Any]
    sessions: list[str] = []
    validation: dict[str, Any] = {}
    profile: dict[str, Any] | None = None


class Step(Doc):
    name: str
    status: str
    seconds: Finite | None = None
    detail: str | None = None


class NightlySummary(Doc):
    run_id: str
    started_at: str
    finished_at: str | None = None
    as_of: str | None = None
    status: Literal["ok", "partial", "failed"]
    steps: list[Step]
    metrics: dict[str, dict[str, Finite | None]] = {}


# --------------------------------------------------------------------------- jobs and admin


class LastResult(Doc):
    status: str
    at: str
    detail: str = ""


class HeartbeatJob(Doc):
    next_run: str | None = None
    last_result: LastResult | None = None


class Heartbeat(Doc):
    pid: int
    at: str
    started_at: str | None = None
    status: str
    jobs: dict[str, HeartbeatJob]


class WaitingRun(Doc):
    """A page job's run queued behind the running one (aion_core.app.run_now.submit_job)."""

    args: list[str]
    queued_at: Finite


class ReplaySummary(Doc):
    """logs/replay/last_replay.json: how the last `aion replay` ended, wherever it ran
    (jobs/replay.py run_replay); the Admin page's last run of the replay."""

    job: Literal["replay"]
    started_at: str
    finished_at: str
    status: Literal["ok", "failed"]
    start: str
    end: str
    detail: str = ""


class JobStatus(Doc):
    job: str
    status: str = Field(min_length=1)
    pid: int | None = None
    started_at: Finite | None = None
    finished_at: Finite | None = None
    returncode: int | None = None
    waiting: list[WaitingRun] = []


class RunEnd(Doc):
    """How a run that raised ended (a run that finishes removes its marker instead)."""

    status: Literal["failed", "interrupted"]
    at: str
    detail: str = ""


class RunMarker(Doc):
    """logs/running/<job>.json: a run that started and has not finished (jobs/running.py);
    aion_core.runs reads it as running, or as died when its process is gone."""

    job: str
    run_id: str
    pid: int
    host: str
    started_at: str
    step: str | None = None
    step_at: str | None = None
    log: str | None = None
    proc_start: int | None = None
    steps: list[Step] = []
    ended: RunEnd | None = None


class AdminSettings(Doc):
    kill_switch: bool = False


class EvaluationReport(Doc):
    id: str
    horizons: dict[str, dict[str, Any]]


class ModelRun(Doc):
    """One nightly's final model of one horizon (a line of model_runs.jsonl): the track of
    feature importance across runs, which lgbm_<h>.json (overwritten nightly) cannot keep."""

    horizon: str
    as_of: str
    trained_through: str
    num_rounds: int
    importance_type: str = "gain"
    feature_importance: dict[str, Finite]


class BacktestMetrics(Doc):
    """A backtest's metrics.json (CONTRACT.md "Backtest report"): figures by bot, and the
    benchmark's; a figure is None where it is undefined (a profit factor without a loss)."""

    start: str
    end: str
    bots: dict[str, dict[str, Finite | None]]
    benchmark: dict[str, Finite | None]


class BacktestRun(Doc):
    """A backtest's run.json: what was run (jobs/replay.py run_document)."""

    id: str
    created_at: str
    start: str
    end: str
    bots: list[str]
    retrain_every: int
    knobs: dict[str, dict[str, Any]]


class TrialLine(Doc):
    """A line of research/trials.jsonl: one evaluation or backtest as a trial (jobs/trials.py),
    so that every later figure can be deflated for the tries before it."""

    kind: Literal["evaluate", "backtest"]
    id: str
    at: str
    recipe: str
    start: str
    end: str
    symbols: int
    code_version: str
    options: dict[str, Any] = {}
    figures: dict[str, Any] = {}


# --------------------------------------------------------------------------- data imports

Count = Annotated[int, Field(ge=0)]


class ImportFinding(Doc):
    """What one check of `aion import` found in one item (aion_core.ingest.quality)."""

    check: str
    action: str
    rows: Count = 0
    dates: list[str] = []
    detail: str = ""


class ImportFile(Doc):
    """One file an import read or refused; `notes` say what its parse dropped, each line
    starting with the count (`20780 item(s) without a time, ticker or text, ... dropped`)."""

    path: str
    status: str
    rows: Count = 0
    reason: str = ""
    notes: list[str] = []


class ImportItem(Doc):
    """One symbol, series or day of an import."""

    status: str
    rows_read: Count = 0
    rows_kept: Count = 0
    rows_added: Count = 0
    findings: list[ImportFinding] = []
    reason: str = ""
    files: list[str] = []


class ImportReport(Doc):
    """logs/imports/<kind>_<time>.json: the report of one `aion import` (jobs/imports.py)."""

    import_id: str = Field(min_length=1)
    kind: str
    status: Literal["ok", "partial", "failed"]
    started_at: str = ""
    finished_at: str = ""
    totals: dict[str, Count] = {}
    files: list[ImportFile] = []
    items: dict[str, ImportItem] = {}


class NotifyCause(Doc):
    """A cause that is active now: since when, and when it was last sent (None: not yet)."""

    since: str
    sent_at: str | None = None
    title: str = ""


class NotifyState(Doc):
    """logs/notify/state.json: the notifier's memory, so that one cause notifies once."""

    causes: dict[str, NotifyCause] = {}


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Interval(Doc):
    """A membership interval: from `start` (its first session in the index) until `end` (the
    date it left, exclusive; None = still a member)."""

    ticker: str = Field(min_length=1)
    start: str = Field(pattern=_DAY.pattern)
    end: str | None = Field(None, pattern=_DAY.pattern)

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"{self.ticker}: end {self.end} is not after start {self.start}")
        return self


class Universe(Doc):
    """raw/universe.json: the index membership `aion import universe` stored (jobs/universe.py;
    aion_core.ml.universe reads it)."""

    name: str = Field(min_length=1)
    source: str = ""
    imported_at: str = ""
    intervals: list[Interval]
    aliases: dict[str, str] = {}


class ReconcileIssue(Doc):
    kind: str
    order_id: str | None = None
    symbol: str | None = None
    text: str


class ReconcileReport(Doc):
    """ml_data/reconcile/<bot>/<YYYYMMDD>.json: one bot's session against the broker and its
    shadow simulation (aion_core.bots.reconcile, jobs/reconcile.py); reports, never fixes."""

    bot: str
    session: str = Field(pattern=_DAY.pattern)
    status: Literal["ok", "differs"]
    matched: list[dict[str, Any]]
    only_at_broker: list[dict[str, Any]]
    only_in_journal: list[dict[str, Any]]
    partial: list[dict[str, Any]]
    rejected_or_cancelled: list[dict[str, Any]]
    positions: list[dict[str, Any]] | None
    cash: dict[str, Finite]
    issues: list[ReconcileIssue]
    summary: dict[str, int | None]
    shadow: dict[str, Any] | None = None


def _knobs(doc: Any) -> None:
    """bots_config.json is checked whole by the one knob schema the bots and the page use
    (a KnobError: a setting to fix, not a file to restore)."""
    validate_bots_config(doc)


#: PATHS / DT_PATHS key -> the model of its documents (JSONL keys: of each line).
MODELS: dict[str, type[Doc] | Callable[[Any], None]] = {
    "bot_state": BotState, "dt_state_file": IntradayState,
    "bot_trades": TradeLine, "dt_trades_file": TradeLine,
    "rolling_brain": RollingBrain, "aion_brain": AionBrain,
    "nightly_summary": NightlySummary, "scheduler_heartbeat": Heartbeat,
    "replay_summary": ReplaySummary,
    "job_status": JobStatus, "admin_settings": AdminSettings,
    "evaluation_report": EvaluationReport, "bots_config": _knobs,
    "ml_models_meta": ModelMeta, "dt_brain_file": IntradayModelDoc,
    "backtest_metrics": BacktestMetrics, "backtest_run": BacktestRun,
    "model_runs": ModelRun, "notify_state": NotifyState, "run_marker": RunMarker,
    "research_trials": TrialLine, "universe": Universe, "import_report": ImportReport,
    "reconcile_report": ReconcileReport,
}


@cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    """One regex per keyed file, matching the end of a path: `{field}` is one name part."""
    out = []
    for key in MODELS:
        template = PATHS.get(key) or DT_PATHS[key]
        parts = re.split(r"\{[a-z_]+\}", template)
        out.append((re.compile("(^|/)" + "[^/]+".join(map(re.escape, parts)) + "$"), key))
    return out


@lru_cache(maxsize=4096)  # read_jsonl checks every line: a year's trade log asks 15,000 times
def key_of(path: Path | str) -> str | None:
    """The PATHS key whose documents `path` holds, None for a file with no model."""
    text = Path(path).as_posix()
    return next((key for pattern, key in _patterns() if pattern.search(text)), None)


@cache
def _adapter(model: type[Doc]) -> TypeAdapter:
    return TypeAdapter(model)


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "the document"


def check(path: Path | str, doc: Any, line: int | None = None) -> None:
    """Raise CorruptFileError(path, "<field>: <why>") when `doc` does not fit its model.

    `line`: the JSONL line number, named in the message."""
    key = key_of(path)
    if key is None:
        return
    model = MODELS[key]
    at = f"line {line}: " if line is not None else ""
    if not isinstance(model, type):
        try:
            model(doc)
        except KnobError as exc:
            raise KnobError(f"{path}: {exc}", knob=exc.knob, path=path) from None
        return
    if not isinstance(doc, dict):
        raise CorruptFileError(path, f"{at}expected a JSON object, got {type(doc).__name__}")
    try:
        _adapter(model).validate_python(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        got = first.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {_short(got)})"
        raise CorruptFileError(path, f"{at}field {_where(first['loc'])}: {first['msg']}{shown}"
                               ) from None


def _short(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
