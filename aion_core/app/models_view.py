"""Loaders of the Models page: the live models' track record, importance, drift, explanation.

Registered in aion_core.app.views' loader registry, so the app caches each on the modification
times of exactly the files it reads. Missing files load as None or an empty frame; a file
that cannot serve (a model text LightGBM refuses, metadata it cannot be rebuilt from) raises
CorruptFileError naming it. The figures themselves are aion_core.ml.monitoring's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from lightgbm.basic import LightGBMError

from aion_core.app.views import load_model_meta, loader
from aion_core.config import HORIZONS
from aion_core.errors import CorruptFileError
from aion_core.ml.model import Fitted
from aion_core.ml.monitoring import (
    PSI_FLAG,
    Drift,
    Explanation,
    TrackRecord,
    explain,
    feature_drift,
    realised_returns,
    track_frame,
    track_record,
)
from aion_core.ml.universe import SURVIVORSHIP, note_line
from aion_core.store import Store, read_json, read_jsonl, read_parquet, read_text

__all__ = ["PSI_FLAG", "importance_runs"]


def models_universe(meta: Mapping[str, Mapping[str, Any]]) -> tuple[bool, str]:
    """(whether the live models' figures are upper bounds, the line the page shows): the
    universe each model's training cross-sections held (lgbm_<h>.json `universe`, written by
    the nightly); a model trained without one, or before it was recorded, is an upper bound."""
    lines = [note_line(m.get("universe")) for m in meta.values()]
    upper = [line for line in lines if line[0]]
    return upper[0] if upper else lines[0] if lines else (True, SURVIVORSHIP)

HISTORY_COLUMNS = ["as_of", "symbol", "horizon", "expected_return", "confidence"]
IMPORTANCE_COLUMNS = ["horizon", "as_of", "feature", "gain", "share"]


def _closes_folder(store: Store) -> Path:
    return store.path("raw_daily", symbol="X").parent


@loader("track_record", lambda s: [s.path("prediction_history"), _closes_folder(s)])
def load_track_record(store: Store, paths: list[Path]) -> TrackRecord | None:
    """The prediction history judged against the daily bars; None before the first
    prediction. Only closes from the first prediction on are turned into returns."""
    history = read_parquet(paths[0], columns=HISTORY_COLUMNS)
    if history is None:
        return None
    history["as_of"] = pd.to_datetime(history["as_of"])
    bars = store.read_daily_panel()
    realised = pd.DataFrame(columns=["date", "symbol", "horizon", "realised",
                                     "realised_close"])
    if not bars.empty and len(history):
        realised = realised_returns(bars[bars["date"] >= history["as_of"].min()])
    return track_record(track_frame(history, realised), len(history))


def importance_runs(runs: list[Mapping[str, Any]]) -> pd.DataFrame:
    """Feature importance of every run: IMPORTANCE_COLUMNS, `gain` the total gain of the
    splits on the feature (LightGBM's importance_type="gain", in the target's squared-return
    units), `share` its fraction of the run's total; a run met twice (the model_runs line
    and the current metadata) counts once. as_of is a Timestamp."""
    rows = [{"horizon": r.get("horizon"), "as_of": r.get("as_of") or r.get("trained_through"),
             "feature": f, "gain": float(g)}
            for r in runs if isinstance(r.get("feature_importance"), Mapping)
            for f, g in r["feature_importance"].items()]
    frame = pd.DataFrame(rows, columns=IMPORTANCE_COLUMNS[:-1])
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    frame = frame.drop_duplicates(["horizon", "as_of", "feature"], keep="last")
    total = frame.groupby(["horizon", "as_of"])["gain"].transform("sum")
    frame["share"] = (frame["gain"] / total).where(total > 0)
    return frame.sort_values(["horizon", "as_of", "gain"], ascending=[True, True, False],
                             kind="stable").reset_index(drop=True)


@loader("model_runs", lambda s: [s.path("model_runs"),
                                 *(s.path("ml_models_meta", horizon=h) for h in HORIZONS)])
def load_model_runs(store: Store, paths: list[Path]) -> pd.DataFrame:
    """Importance across nightly runs (`importance_runs`), the current models included:
    a root trained before model_runs.jsonl existed still shows its latest run."""
    metas = load_model_meta(store, paths[1:])
    current = [{**meta, "horizon": h} for h, meta in metas.items()]
    return importance_runs(read_jsonl(paths[0]).records + current)


@loader("drift", lambda s, h: [s.path("ml_datasets"), s.path("ml_models_meta", horizon=h)])
def load_drift(store: Store, paths: list[Path], horizon: str) -> Drift | None:
    """PSI of each of `horizon`'s model features, training window against the last
    sessions; None while the dataset or the model is missing."""
    meta = read_json(paths[1])  # documents.ModelMeta: a list of feature names
    if meta is None or not paths[0].exists():
        return None
    data = read_parquet(paths[0], columns=["date", *meta["features"]])
    return feature_drift(data, meta["features"], str(meta.get("trained_through")))


@loader("explanation", lambda s, sym, h: [s.path("ml_models", horizon=h),
                                          s.path("ml_models_meta", horizon=h),
                                          s.path("ml_datasets")])
def load_explanation(store: Store, paths: list[Path], symbol: str,
                     horizon: str) -> Explanation | None:
    """`symbol`'s latest forecast by `horizon`'s model, feature by feature; None while the
    model or the dataset is missing or the symbol has no row."""
    model_path, meta_path, data_path = paths
    text, meta = read_text(model_path), read_json(meta_path)
    if meta is None or not data_path.exists() or (text is None
                                                  and meta.get("model", "gbm") == "gbm"):
        return None
    try:
        fitted = Fitted.from_model_string(text, meta)
    except LightGBMError as exc:
        raise CorruptFileError(model_path, str(exc).splitlines()[0][:200]) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(meta_path, f"cannot rebuild the model: {exc!r}"[:200]) from None
    rows = read_parquet(data_path, columns=["date", *fitted.features],
                        filters=[("symbol", "==", symbol)])
    missing = [f for f in fitted.features if f not in rows]
    if missing:
        raise CorruptFileError(data_path, f"lacks the model's features {missing[:3]}")
    return explain(fitted, rows)
