"""Loaders for the app: every file a page reads, through `aion_core.store`.

Each loader `load_<what>(store, ...)` has a twin in SOURCES listing the files it reads, so the
app can cache the result keyed on those files' modification times (`fingerprint`): an
auto-refresh then re-reads only what a job rewrote. A missing file loads as None or an empty
frame ("nothing yet"); a corrupt one raises CorruptFileError naming it, which the page shows
in an error box while the rest renders. No Streamlit here, so all of it is tested plainly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from aion_core.config import HORIZONS, knob_schema, validate_bots_config, validate_knobs
from aion_core.errors import CorruptFileError
from aion_core.store import Store, read_json, read_jsonl, read_parquet, tail_lines
from aion_core.views_calc import trades_frame

#: The bots the app shows: swing horizons plus the intraday bot.
BOTS: dict[str, str] = {**{h: f"swing_{h}" for h in HORIZONS}, "dt": "intraday"}
LOG_LINES = 1000
_LOG_NAME = re.compile(r"^nightly_(\d{8})\.log$")

#: Commands that fill each kind of file, for empty states.
FILL = {
    "market": "aion demo-data",
    "brain": "aion nightly",
    "bots": "aion replay --start YYYY-MM-DD --end YYYY-MM-DD",
    "dt": "aion intraday cycle",
    "logs": "aion nightly",
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


# --------------------------------------------------------------------------- small documents


def brain_path(store: Store) -> Path:
    """The aion brain when the nightly wrote it, else the rolling brain it is built from."""
    full = store.path("aion_brain")
    return full if full.exists() else store.path("rolling_brain")


def load_brain(store: Store) -> dict[str, Any] | None:
    return read_json(brain_path(store))


def load_doc(store: Store, key: str) -> Any | None:
    """Any keyed JSON document (summary, heartbeat, bots_config, admin_settings)."""
    return store.read_json(key)


def load_model_meta(store: Store) -> dict[str, dict[str, Any]]:
    """Each horizon's model metadata (features, validation, importance), when trained."""
    out = {}
    for h in HORIZONS:
        doc = store.read_json("ml_models_meta", horizon=h)
        if doc is not None:
            out[h] = doc
    return out


# --------------------------------------------------------------------------- bots


def _bot_state_path(store: Store, bot: str) -> Path:
    return store.path("dt_state_file") if bot == "dt" else store.path("bot_state", horizon=bot)


def _trade_files(store: Store, bot: str) -> list[Path]:
    if bot == "dt":
        return [store.path("dt_trades_file")]
    folder = store.path("bot_trades", horizon=bot, yyyymmdd="20000101").parent
    return sorted(folder.glob("trades_*.jsonl")) if folder.is_dir() else []


def load_bot(store: Store, bot: str) -> tuple[dict[str, Any] | None, pd.DataFrame]:
    """A bot's state document and its trades (views_calc.trades_frame, newest first)."""
    state = read_json(_bot_state_path(store, bot))
    records: list[dict[str, Any]] = []
    for path in _trade_files(store, bot):
        records.extend(read_jsonl(path).records)
    return state, trades_frame(records)


# --------------------------------------------------------------------------- market data


def load_bars(store: Store, symbol: str) -> pd.DataFrame | None:
    """One symbol's daily bars (`date, open, high, low, close, volume`), None when absent."""
    return store.read_daily(symbol)


def load_closes(store: Store) -> pd.DataFrame | None:
    """Closes of the whole universe (index session dates, one column per symbol, USD).

    Reads only the two columns it needs from each file, for the benchmark curve.
    """
    frames = {}
    for sym in store.daily_symbols():
        path = store.path("raw_daily", symbol=sym)
        try:
            table = pq.read_table(path, columns=["date", "close"])
        except (OSError, ValueError) as exc:
            raise CorruptFileError(path, str(exc).splitlines()[0][:200]) from exc
        frames[sym] = pd.Series(table.column("close").to_numpy(),
                                index=pd.DatetimeIndex(table.column("date").to_numpy()))
    return pd.DataFrame(frames).sort_index() if frames else None


def load_prediction_history(store: Store, symbol: str) -> pd.DataFrame:
    """One symbol's past predictions: as_of, horizon, expected_return, confidence, score, rank."""
    frame = read_parquet(store.path("prediction_history"), filters=[("symbol", "==", symbol)])
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


def log_days(store: Store) -> list[date]:
    """Days that have a nightly log, newest first."""
    folder = store.path("nightly_logs", yyyymmdd="20000101").parent
    if not folder.is_dir():
        return []
    days = [datetime.strptime(m.group(1), "%Y%m%d").date()
            for p in folder.iterdir() if (m := _LOG_NAME.match(p.name))]
    return sorted(days, reverse=True)


def load_log(store: Store, day: date, n: int = LOG_LINES) -> list[str] | None:
    """The last `n` lines of that night's log (None when there is no log that day)."""
    return tail_lines(store.path("nightly_logs", yyyymmdd=day), n)


# --------------------------------------------------------------------------- the UI's writes


def _bot_overrides(doc: dict[str, Any], section: str, horizon: str | None,
                   values: dict[str, Any] | None) -> dict[str, Any]:
    """`doc` with one bot's overrides replaced by `values` (None or {} removes them)."""
    doc = dict(doc)
    if section == "swing":
        swing = dict(doc.get("swing") or {})
        swing.pop(horizon, None)
        if values:
            swing[horizon] = values
        doc["swing"] = swing
        if not swing:
            doc.pop("swing")
    else:
        doc.pop("dt", None)
        if values:
            doc["dt"] = values
    return doc


def save_knobs(store: Store, section: str, horizon: str | None,
               values: dict[str, Any]) -> dict[str, Any]:
    """Store one bot's knob values as overrides of the schema defaults; returns them.

    Validated first (KnobError names the knob and the reason, nothing is written); then
    merged into bots_config.json under its lock, so a concurrent bot run or a second
    analyst never sees a half-applied change and other bots' overrides are kept.
    """
    clean = validate_knobs(section, values, horizon)
    defaults = {k.name: k.default for k in knob_schema(section, horizon)}
    overrides = {k: v for k, v in clean.items() if v != defaults[k]}

    def merge(old: Any) -> dict[str, Any]:
        base = validate_bots_config(old) if isinstance(old, dict) else {}
        return _bot_overrides(base, section, horizon, overrides)

    store.update_json("bots_config", merge)
    return overrides


def reset_knobs(store: Store, section: str, horizon: str | None) -> None:
    """Remove one bot's overrides: its knobs are back to the schema defaults."""
    store.update_json("bots_config", lambda old: _bot_overrides(
        old if isinstance(old, dict) else {}, section, horizon, None))


def set_kill_switch(store: Store, on: bool) -> None:
    """The global kill switch every bot run checks before placing an order."""
    store.update_json("admin_settings", lambda old: {**(old if isinstance(old, dict) else {}),
                                                     "kill_switch": bool(on)})


# --------------------------------------------------------------------------- cache keys


def _log_dir(store: Store) -> Path:
    return store.path("nightly_logs", yyyymmdd="20000101").parent


def _daily_dir(store: Store) -> Path:
    return store.path("raw_daily", symbol="X").parent


#: loader name -> (loader, files whose mtimes key its cache). Folders count too: adding or
#: atomically replacing a file inside one changes the folder's mtime.
SOURCES: dict[str, tuple[Callable[..., Any], Callable[..., list[Path]]]] = {
    "brain": (load_brain, lambda s: [s.path("aion_brain"), s.path("rolling_brain")]),
    "doc": (load_doc, lambda s, key: [s.path(key)]),
    "model_meta": (load_model_meta,
                   lambda s: [s.path("ml_models_meta", horizon=h) for h in HORIZONS]),
    "bot": (load_bot, lambda s, bot: [_bot_state_path(s, bot), *_trade_files(s, bot)]),
    "bars": (load_bars, lambda s, sym: [s.path("raw_daily", symbol=sym)]),
    "closes": (load_closes, lambda s: [_daily_dir(s)]),
    "prediction_history": (load_prediction_history,
                           lambda s, sym: [s.path("prediction_history")]),
    "log_days": (log_days, lambda s: [_log_dir(s)]),
    "log": (load_log, lambda s, day, n=LOG_LINES: [s.path("nightly_logs", yyyymmdd=day)]),
}


def source_key(store: Store, name: str, *args: Any) -> tuple[tuple[str, int], ...]:
    """The cache key of `load(name, *args)`: the fingerprint of the files it reads."""
    return fingerprint(SOURCES[name][1](store, *args))


def load(store: Store, name: str, *args: Any) -> Any:
    """Run loader `name` (a SOURCES key) on `store`."""
    return SOURCES[name][0](store, *args)
