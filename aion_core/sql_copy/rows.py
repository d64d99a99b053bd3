"""The data root's files as rows of the metrics tables (tables.py), read through the store.

No database here: each function reads the files one job writes and returns plain dicts keyed
by column name, every row of a table with the same keys (one executemany), dates as `date`,
instants as aware `datetime`, NaN and infinities as None (JSONB and SQL have no NaN).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pandas as pd

from aion_core.bots.registry import INTRADAY_BOT, SWING_BOTS
from aion_core.config import HORIZONS
from aion_core.errors import ConfigurationError
from aion_core.store import Store, read_json, read_jsonl, read_parquet

Row = dict[str, Any]
Rows = dict[str, list[Row]]
LIVE = "live"
PREDICTION_KEYS = ["as_of", "symbol", "horizon"]
PREDICTION_VALUES = ["expected_return", "confidence", "score", "rank"]


def clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become None, at any depth (PostgreSQL's JSONB refuses NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def _number(value: Any) -> float | None:
    return None if value is None else clean(float(value))


def _day(value: Any) -> date | None:
    return None if value in (None, "") else pd.Timestamp(value).date()


def _instant(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    ts = pd.Timestamp(value)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts).to_pydatetime()


# --------------------------------------------------------------------------- the nightly


def nightly(store: Store) -> Rows:
    """The last nightly's run and its models' validation figures (last_nightly_summary.json
    keeps one run: a run the database missed is caught up only until the next nightly)."""
    summary = store.read_json("nightly_summary")
    if summary is None:
        return {"nightly_runs": [], "model_metrics": []}
    run = {"run_id": summary["run_id"], "as_of": _day(summary.get("as_of")),
           "status": summary["status"], "started_at": _instant(summary["started_at"]),
           "finished_at": _instant(summary.get("finished_at")),
           "steps": clean(summary["steps"])}
    metrics = []
    for horizon, figures in (summary.get("metrics") or {}).items():
        meta = store.read_json("ml_models_meta", horizon=horizon) or {}
        same_run = meta.get("as_of") == summary.get("as_of")
        metrics.append({"run_id": summary["run_id"], "horizon": horizon,
                        "as_of": _day(summary.get("as_of")),
                        "trained_through": _day(meta.get("trained_through")) if same_run else None,
                        "ic": _number(figures.get("ic")),
                        "rank_ic": _number(figures.get("rank_ic")),
                        "validation": clean((meta.get("validation") or {}).get("mean"))
                        if same_run else None})
    return {"nightly_runs": [run], "model_metrics": metrics}


def predictions(store: Store) -> pd.DataFrame:
    """Every stored prediction: prediction_history (nightlies and replays) and the rolling
    brain's (PREDICTION_KEYS + PREDICTION_VALUES; the brain's win where both hold one)."""
    frames = [read_parquet(store.path("prediction_history")), _brain_predictions(store)]
    frames = [f[PREDICTION_KEYS + PREDICTION_VALUES] for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=PREDICTION_KEYS + PREDICTION_VALUES)
    both = pd.concat(frames, ignore_index=True)
    both["as_of"] = pd.to_datetime(both["as_of"]).dt.date
    return both.drop_duplicates(PREDICTION_KEYS, keep="last").reset_index(drop=True)


def brain_as_of(store: Store) -> date | None:
    brain = store.read_json("rolling_brain")
    return _day(brain["as_of"]) if brain else None


def _brain_predictions(store: Store) -> pd.DataFrame | None:
    brain = store.read_json("rolling_brain")
    if not brain:
        return None
    rows = [{"as_of": brain["as_of"], "symbol": sym, "horizon": h, **pred}
            for sym, entry in brain["symbols"].items()
            for h, pred in (entry.get("predictions") or {}).items()]
    return pd.DataFrame(rows) if rows else None


def prediction_rows(frame: pd.DataFrame) -> list[Row]:
    """`predictions(...)` (or a part of it) as rows."""
    out = []
    for rec in frame.to_dict("records"):
        rank = rec.get("rank")
        out.append({"as_of": rec["as_of"], "symbol": str(rec["symbol"]),
                    "horizon": str(rec["horizon"]),
                    **{k: _number(rec.get(k)) for k in PREDICTION_VALUES[:3]},
                    "rank": None if rank is None or pd.isna(rank) else int(rank)})
    return out


# --------------------------------------------------------------------------- the books


def _fill(source: str, line: dict[str, Any]) -> Row:
    return {"source": source, "order_id": str(line["order_id"]), "bot": str(line["bot"]),
            "symbol": str(line["symbol"]), "side": str(line["side"]),
            "qty": float(line["qty"]), "price": float(line["price"]),
            "fees": float(line.get("fees") or 0.0), "ts": _instant(line["ts"]),
            "reason": line.get("reason"), "realized_pnl": _number(line.get("realized_pnl"))}


def _equity(source: str, bot: str, point: dict[str, Any]) -> Row:
    return {"source": source, "bot": bot, "date": _day(point["date"]),
            "equity": float(point["equity"]), "cash": _number(point.get("cash")),
            "gross": _number(point.get("gross"))}


def swing_books(store: Store) -> Rows:
    """The swing bots' equity history (one point per session) and every trade log line."""
    equity, fills = [], []
    for bot in SWING_BOTS:
        state = store.read_bot_state(bot) or {}
        equity += [_equity(LIVE, bot.name, p) for p in state.get("equity_history") or []
                   if p.get("date")]
        fills += [_fill(LIVE, line) for line in store.read_bot_trades(bot)]
    return {"bot_equity": equity, "fills": fills}


def intraday(store: Store) -> Rows:
    """The intraday bot's cycles (its equity point of each) and its trade log."""
    state = store.read_json("dt_state_file") or {}
    cycles = [{"at": _instant(p["at"]),
               "session": pd.Timestamp(p["at"]).tz_convert("America/New_York").date(),
               "equity": float(p["equity"]), "cash": _number(p.get("cash"))}
              for p in state.get("equity_history") or [] if p.get("at")]
    return {"intraday_cycles": cycles,
            "fills": [_fill(LIVE, line) for line in store.read_bot_trades(INTRADAY_BOT)]}


# --------------------------------------------------------------------------- research


def _run_ids(store: Store, key: str, field: str, sample: str) -> list[str]:
    """Ids of the complete runs under research/ (their `key` file exists), oldest first; a
    folder whose name is no run id of the store's patterns is not one of its runs."""
    example = store.path(key, **{field: sample})
    parent = example.parent.parent
    if not parent.is_dir():
        return []
    ids = []
    for path in sorted(parent.glob(f"*/{example.name}")):
        try:
            ids.append(store.path(key, **{field: path.parent.name}).parent.name)
        except ConfigurationError:
            continue
    return ids


def backtests(store: Store) -> Rows:
    """Each complete backtest of the data root: its figures per bot, equity and fills, under
    its own id as `source`."""
    out: Rows = {"backtests": [], "bot_equity": [], "fills": []}
    for run_id in _run_ids(store, "backtest_run", "backtest_id", "bt_20000101T000000"):
        doc = read_json(store.path("backtest_metrics", backtest_id=run_id))
        if doc is None:
            continue
        figures = {**doc.get("bots", {}), "benchmark": doc.get("benchmark") or {}}
        out["backtests"] += [{"backtest_id": run_id, "bot": bot, "start": _day(doc["start"]),
                              "end": _day(doc["end"]), "figures": clean(f)}
                             for bot, f in figures.items()]
        curve = read_parquet(store.path("backtest_equity", backtest_id=run_id))
        if curve is not None:
            out["bot_equity"] += [_equity(run_id, str(r["bot"]), r)
                                  for r in curve.to_dict("records")]
        trades = read_jsonl(store.path("backtest_trades", backtest_id=run_id)).records
        out["fills"] += [_fill(run_id, line) for line in trades]
    return out


def evaluations(store: Store) -> Rows:
    """Each evaluation report's figures per horizon."""
    rows = []
    for eval_id in _run_ids(store, "evaluation_report", "eval_id", "eval_20000101_20000102_r1_x1"):
        doc = read_json(store.path("evaluation_report", eval_id=eval_id))
        if doc is None:
            continue
        rows += [{"eval_id": eval_id, "horizon": h, "start": _day(doc["start"]),
                  "end": _day(doc["end"]), "created_at": _instant(doc.get("created_at")),
                  "figures": clean(figures)}
                 for h, figures in doc["horizons"].items() if h in HORIZONS]
    return {"evaluations": rows}
