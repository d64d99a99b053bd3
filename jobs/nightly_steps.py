"""The nightly's steps and what they hand each other: `NightlyRun` (the steps' record and
shared state), `collect_step`, `features_step`, `train_step`, `predict_step`, `brain_step`, and
`append_history`. Public, so that the one-process nightly (jobs/nightly.py) and the cluster
path (jobs/cluster/) run the same steps; neither is imported here.

A step takes the run, does its part (reading with the store, computing with the pure domain,
writing with the store) and returns the one-line detail the summary records.
"""
from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from aion_core import market_hours
from aion_core.config import HORIZONS, Settings
from aion_core.errors import DataError, causes
from aion_core.ml import model
from aion_core.ml.brain import aion_brain, rolling_brain
from aion_core.ml.buckets import build_bucketed
from aion_core.ml.dataset import Dataset
from aion_core.ml.regime import daily_returns
from aion_core.ml.universe import Membership, mark_members, universe_note
from aion_core.store import (
    Store,
    append_jsonl,
    locked,
    read_parquet,
    staged_dir,
    write_parquet,
    write_text,
)
from jobs.collect import EMPTY_ROOT, Providers, collect
from jobs.progress import FILE_ONLY, describe
from jobs.universe import read_membership

log = logging.getLogger("aion.nightly")

#: A training step's engine: (horizon, final model, its walk-forward) for each horizon.
Fits = Callable[["NightlyRun"], Iterator[tuple[str, model.Fitted, model.WalkForwardResult]]]
#: A prediction step's engine: each horizon's forecasts of the as_of rows.
Forecast = Callable[["NightlyRun"], dict[str, pd.DataFrame]]

REQUIRED = ("features", "train", "predict")
HISTORY_KEYS = ["as_of", "symbol", "horizon"]


@dataclass
class NightlyRun:
    """What the steps hand each other, and the record of each step."""

    store: Store
    now: Callable[[], datetime]
    config: model.TrainConfig = model.NIGHTLY  # AION_MODEL's recipe (model.MODELS)
    as_of: pd.Timestamp | None = None
    partial: bool = False
    steps: list[dict[str, Any]] = field(default_factory=list)
    bars: pd.DataFrame | None = None
    dataset: Dataset | None = None
    models: dict[str, model.Fitted] = field(default_factory=dict)
    brain: dict[str, Any] | None = None
    membership: Membership | None = None
    """The data root's index membership (None: every stored name is in every cross-section)."""
    dropped: dict[str, str] = field(default_factory=dict)
    """Symbols of the data root left without a prediction, and why (the run is partial)."""
    on_step: Callable[[str], None] | None = None
    """Told each step's name as it starts (the run's started marker, jobs/running.py)."""

    def drop(self, reasons: dict[str, str]) -> None:
        for sym, reason in reasons.items():
            log.warning("%s left out: %s", sym, reason)
        self.dropped.update(reasons)
        self.partial = self.partial or bool(reasons)

    def step(self, name: str, fn: Callable[[], str], needs: tuple[str, ...] = ()) -> bool:
        """Run one step unless a step it needs did not succeed; record status, time, detail."""
        blocked = [s["name"] for s in self.steps if s["name"] in needs and s["status"] != "ok"]
        if blocked:
            return self._record(name, "skipped", 0.0, f"needs {', '.join(blocked)}")
        if self.on_step is not None:
            self.on_step(name)
        log.info("step %s: start", name)
        t0 = time.perf_counter()
        try:
            detail = fn()
        except Exception as exc:  # one step's failure is recorded, the run goes on
            detail = describe(exc, self.store.root)[:300]
            log.error("step %s failed: %s", name, detail, exc_info=True, extra=FILE_ONLY)
            return self._record(name, "failed", time.perf_counter() - t0, detail)
        return self._record(name, "ok", time.perf_counter() - t0, detail)

    def _record(self, name: str, status: str, seconds: float, detail: str) -> bool:
        said = FILE_ONLY if status == "failed" else None  # stderr gets it from the caller
        log.info("step %s: %s in %.2f s: %s", name, status, seconds, detail, extra=said)
        self.steps.append({"name": name, "status": status, "seconds": round(seconds, 3),
                           "detail": detail})
        return status == "ok"

    def status(self) -> str:
        """failed / partial / ok, as the module docstring defines them."""
        state = {s["name"]: s["status"] for s in self.steps}
        if any(state.get(name) != "ok" for name in REQUIRED):
            return "failed"
        degraded = self.partial or state.get("collect") == "failed" or state.get("brain") != "ok"
        return "partial" if degraded else "ok"


# --------------------------------------------------------------------------- reading as of


def _resolve_as_of(bars: pd.DataFrame, as_of: date | None, now: datetime,
                   root: object) -> pd.Timestamp:
    """The requested session, or the last stored session on or before the last completed one."""
    if bars.empty:
        raise DataError(EMPTY_ROOT.format(root=root))
    if as_of is not None:
        day = pd.Timestamp(as_of)
        if not market_hours.is_session(day):
            raise DataError(f"--as-of {day.date()} is not an NYSE session")
        if not (bars["date"] == day).any():
            raise DataError(f"no stored bars for --as-of {day.date()}")
        return day
    stored = bars["date"][bars["date"] <= market_hours.last_completed_session(now)]
    if stored.empty:
        raise DataError("every stored bar is newer than the last completed session")
    return pd.Timestamp(stored.max())


# --------------------------------------------------------------------------- the steps


def collect_step(run: NightlyRun, settings: Settings, as_of: date | None,
             providers: Providers | None) -> str:
    end = as_of or market_hours.last_completed_session(run.now()).date()
    report = collect(run.store, settings, end, providers)
    run.partial = run.partial or report.partial
    return report.summary()


def features_step(run: NightlyRun, as_of: date | None) -> str:
    refused: dict[str, str] = {}
    bars = run.store.read_daily_panel(end=as_of, refused=refused)
    run.drop(refused)
    run.as_of = _resolve_as_of(bars, as_of, run.now(), run.store.root)
    later = bars["date"] > run.as_of  # stored for a session not yet closed, say
    run.membership = read_membership(run.store)
    run.bars = mark_members(bars[~later].reset_index(drop=True) if later.any() else bars,
                            run.membership)
    macro, news = run.store.read_macro_asof(run.as_of), run.store.read_news_asof(run.as_of)
    # Built and written bucket by bucket (aion_core.ml.buckets): the parts of a dataset
    # directory, the cluster's layout, swapped in whole so a killed run leaves the last one.
    with staged_dir(run.store.path("ml_datasets")) as staging:
        parts = itertools.count()

        def sink(frame: pd.DataFrame) -> None:
            # lz4: this large dataset is rewritten every night; zstd took twice as long.
            write_parquet(staging / f"part-{next(parts):05d}.parquet", frame,
                          compression="lz4")

        run.dataset = build_bucketed(run.bars, macro, news, sink)
    return (f"as_of {run.as_of.date()}: {len(run.dataset.frame)} rows x "
            f"{len(run.dataset.feature_columns)} features, {run.bars['symbol'].nunique()} "
            f"symbols; macro {'yes' if macro is not None else 'no'}, "
            f"news {'yes' if news is not None else 'no'}")


def _fit_local(run: NightlyRun) -> Iterator[tuple[str, model.Fitted, model.WalkForwardResult]]:
    ds = run.dataset
    data = model.TrainingMatrix.build(ds.frame, ds.feature_columns, run.as_of)
    for h in HORIZONS:
        walk = model.walk_forward(data, h, run.config)
        yield h, model.fit(data, h, walk.num_rounds, walk, run.config), walk


def train_step(run: NightlyRun, fits: Fits = _fit_local) -> str:
    parts = []
    for h, fitted, walk in fits(run):
        text, path = fitted.to_model_string(), run.store.path("ml_models", horizon=h)
        if text is not None:
            write_text(path, text)
        # which cross-sections trained it: the Models page says whether it is an upper bound
        run.store.write_json("ml_models_meta", {**fitted.metadata(),
                                                "universe": universe_note(run.membership)},
                             horizon=h)
        if text is None:  # the composite: a former model's trees are not this model
            path.unlink(missing_ok=True)
        append_jsonl(run.store.path("model_runs"), [fitted.run_record()])
        run.models[h] = fitted
        size = f"{fitted.num_rounds} rounds" if fitted.booster is not None \
            else f"composite, slope {fitted.slope:.3g}"
        parts.append(f"{h}: {size}, rank IC {walk.mean()['rank_ic']:+.4f}")
    return "; ".join(parts)


def _forecast_local(run: NightlyRun) -> dict[str, pd.DataFrame]:
    frame = run.dataset.frame
    return model.predict_all(run.models, frame[frame["date"] == run.as_of])


def predict_step(run: NightlyRun, forecast: Forecast = _forecast_local) -> str:
    preds = forecast(run)
    predicted = len(next(iter(preds.values()))) if preds else 0
    outside = _not_members(run)
    run.drop(_unpredicted(run.bars, set().union(*(set(p["symbol"]) for p in preds.values()),
                                                outside), run.as_of))
    last = run.bars[run.bars["date"] == run.as_of].set_index("symbol")["close"]
    metas = {h: m.metadata() for h, m in run.models.items()}
    run.brain = rolling_brain(run.as_of.strftime("%Y-%m-%d"), preds, metas, last.to_dict(),
                              run.now())
    run.store.write_json("rolling_brain", run.brain)
    append_history(run.store, pd.concat([p.assign(horizon=h) for h, p in preds.items()],
                                        ignore_index=True).assign(as_of=run.as_of))
    left_out = f"; {len(run.dropped)} symbol(s) left out: {causes(run.dropped)}" \
        if run.dropped else ""
    index = f"; {len(outside)} not in {run.membership.name} on {run.as_of.date()}, not " \
        "predicted" if outside else ""
    return f"{predicted} symbols x {len(preds)} horizons{left_out}{index}"


def _not_members(run: NightlyRun) -> set[str]:
    """Stored symbols that are not index members as of the run (none without a universe):
    the nightly predicts today's members only, and leaves the others out without fault."""
    if run.membership is None:
        return set()
    symbols = set(run.bars["symbol"])
    return symbols - run.membership.on(run.as_of, symbols)


def _unpredicted(bars: pd.DataFrame, predicted: set[str], as_of: pd.Timestamp
                 ) -> dict[str, str]:
    """Stored symbols without a prediction as of `as_of`, each with the reason."""
    last = bars.groupby("symbol", sort=True)["date"].max()
    return {str(sym): f"no bar on {as_of.date()} (last {day.date()})" if day < as_of
            else "too little history for the features" for sym, day in last.items()
            if sym not in predicted}


def append_history(store: Store, new: pd.DataFrame, replace: bool = True) -> None:
    """Add predictions (HISTORY_KEYS, expected_return, confidence, score, rank) to
    prediction_history, one row per (as_of, symbol, horizon). `replace`: the new rows win
    (a nightly rerun for the same as_of replaces its own); else the stored rows win (a
    replay's quick refits never overwrite what a nightly published)."""
    new = new[HISTORY_KEYS + ["expected_return", "confidence", "score", "rank"]]
    path = store.path("prediction_history")
    with locked(path):
        old = read_parquet(path)
        both = new if old is None else pd.concat([old, new] if replace else [new, old],
                                                 ignore_index=True)
        both = both.drop_duplicates(HISTORY_KEYS, keep="last")
        write_parquet(path, both.sort_values(HISTORY_KEYS, kind="stable"))


def brain_step(run: NightlyRun) -> str:
    brain = aion_brain(run.brain, daily_returns(run.bars))
    run.store.write_json("aion_brain", brain)
    cash = ", ".join(f"{h} cash {p['cash']:.0%}" for h, p in brain["portfolio"].items())
    return f"regime {brain['regime']['label']}; {cash}"
