"""LightGBM forecasts of forward returns, one regressor per horizon; pure (no store, no clock).

The recipe (`train`): put the dataset into one `TrainingMatrix` (features binned once, shared
by every fold and horizon), `walk_forward` to measure out-of-sample quality, pick the number of
rounds and calibrate confidence, then `fit` the final model on every row whose label is known
at `as_of`. `predict` turns a later date's feature rows into CONTRACT.md's prediction fields.

Leakage guards, all keyed on `as_of` (the last session whose data may be used):
- a row of date t enters training for horizon h only if its label (close t -> close t+h) ends
  on or before `as_of`: t <= as_of - h sessions, whatever the frame's label column says;
- walk-forward folds purge h sessions between the last training date and the first validation
  date, so no training label overlaps a validation period;
- feature bins (LightGBM's histogram edges) are computed from rows dated <= as_of only.

Determinism: fixed seeds, `deterministic=True`, `force_col_wise=True` and the process's thread
count (aion_core.threads): the same inputs on the same machine give the same model text byte
for byte.

Progress: each fold and each final fit logs one line (logger `aion.model`), so a long training
step shows where it is in the job's log and on stderr.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from aion_core.config import HORIZONS
from aion_core.errors import DataError
from aion_core.ml.calibration import Calibration, cross_sectional_metrics
from aion_core.ml.features import MODEL_FEATURES
from aion_core.threads import job_threads

log = logging.getLogger("aion.model")

#: LightGBM parameters: modest trees, row and feature subsampling and coarse bins keep three
#: horizons x (folds + refit) on 500 symbols x 10 years inside the nightly's time budget.
DEFAULT_PARAMS: Mapping[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_data_in_leaf": 1000,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.5,
    "bagging_freq": 1,
    "lambda_l2": 10.0,
    "max_bin": 63,
    "metric": "None",
    "feature_pre_filter": False,  # min_data_in_leaf is adapted per training set
    "seed": 7,
    "deterministic": True,
    "force_col_wise": True,
    # No exclusive feature bundling. LightGBM 4.7.0 keeps the sparse columns it cannot bundle
    # (the sentiment columns: ~97 % missing, all their values in the news years) in one
    # MultiValSparseBin whose row-pointer type is chosen from the density measured on the
    # binning sample of the whole dataset; a fold's subset() holding more values than that
    # estimate overflows its uint16 row pointers and the merge writes past the end of its
    # buffer (valgrind: invalid write in MultiValSparseBin::FinishLoad, a block sized from
    # PushOneRow): the glibc heap aborts of the S&P 500 nightly. Bundling buys nothing on a
    # couple of dozen mostly dense columns; without it every column keeps its own bin and
    # the multi-value bin is never built. tests/test_model.py keeps a reproducer.
    "enable_bundle": False,
    "num_threads": job_threads(),
    "verbose": -1,
}


@dataclass(frozen=True)
class TrainConfig:
    """How a horizon is validated and trained.

    The last `validation_fraction` of the labelled sessions is cut into `n_folds` consecutive
    blocks; fold k trains on every session before block k minus the purge gap. With
    `early_stopping` set, each fold stops when its validation IC has not improved for that many
    rounds and the final model uses the folds' mean best round count; with None, every fold
    and the final model use `max_rounds`.
    """

    n_folds: int = 3
    validation_fraction: float = 0.3
    max_rounds: int = 300
    early_stopping: int | None = 50
    winsorise: float = 0.02
    min_rounds: int = 10
    min_train_sessions: int = 60
    params: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    model: str = "gbm"  # one of MODELS


#: What forecasts: `gbm`, LightGBM trees on the features; `composite`, the equal-weight mean
#: of the model's ranked inputs (COMPOSITE_INPUTS) scaled to a return by one least-squares
#: slope. The composite has no parameter that ranks (every training run gives the same
#: order), which is why it is the bar the trees must clear (aion_core.ml.evaluation).
MODELS = ("gbm", "composite")
COMPOSITE_INPUTS = tuple(MODEL_FEATURES)


def model_kind(setting: str, synthetic_bars: bool) -> str:
    """AION_MODEL resolved: `auto` is the composite on real bars (the dev-year decision,
    docs/MODEL.md) and the trees on the synthetic market, whose planted signal is in the
    news the composite does not read (there the composite's slope is 0 and every name ties)."""
    if setting in MODELS:
        return setting
    return "gbm" if synthetic_bars else "composite"


def composite_score(x: np.ndarray, features: list[str]) -> np.ndarray:
    """The mean of the composite's inputs (per-date percentile ranks in [0, 1]) less 0.5,
    so a name in the middle of its date scores 0; the inputs a row lacks are left out of its
    mean, and a row with none scores 0."""
    cols = [features.index(c) for c in COMPOSITE_INPUTS if c in features]
    if not cols:
        raise DataError(f"the composite needs its inputs {list(COMPOSITE_INPUTS)}; the "
                        "dataset has none of them")
    ranks = x[:, cols].astype(np.float64)
    known = np.isfinite(ranks)
    total, count = np.where(known, ranks, 0.0).sum(axis=1), known.sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1) - 0.5, 0.0)


def composite_slope(score: np.ndarray, target: np.ndarray) -> float:
    """The least-squares slope through the origin of the excess-return target on the score:
    the return a unit of score has earned (Grinold's IC x volatility), what turns a ranking
    into an expected return a bot can set against its costs. Never below 0: a composite that
    lost money on its training rows forecasts no spread rather than the reverse of its
    ranking."""
    denominator = float(np.dot(score, score))
    return max(float(np.dot(score, target)) / denominator, 0.0) if denominator > 0 else 0.0


NIGHTLY = TrainConfig()
#: For the replay engine: one validation fold (for metrics and calibration) and a fixed number
#: of rounds, so a refit every few weeks of simulated time stays cheap.
QUICK = TrainConfig(n_folds=1, validation_fraction=0.15, max_rounds=50, early_stopping=None)


def label_column(horizon: str) -> str:
    return f"fwd_{horizon}"


def target_column(horizon: str) -> str:
    return f"resid_fwd_{horizon}"


@dataclass
class TrainingMatrix:
    """A dataset frame as arrays, cut at `as_of`, with one binned LightGBM Dataset shared by
    every training set built from it (binning is the expensive part of a Dataset).

    Built from a frame with columns `symbol, date` (session, datetime64), the feature columns
    and the label columns `fwd_1w, fwd_2w, fwd_4w` (forward returns as fractions, NaN where
    unknown), optionally the training targets `resid_fwd_<h>` (aion_core.ml.labels). Rows
    dated after `as_of` are dropped on construction.
    """

    features: list[str]
    as_of: pd.Timestamp
    x: np.ndarray  # (rows, features) float32
    symbols: np.ndarray  # (rows,) str
    session_idx: np.ndarray  # (rows,) int: index into `sessions`
    sessions: pd.DatetimeIndex  # sorted sessions present, last one <= as_of
    labels: dict[str, np.ndarray]  # forward returns (fractions, NaN = unknown)
    excess: dict[str, np.ndarray]  # the training target, demeaned per date (see _excess)
    params: Mapping[str, Any]
    _base: lgb.Dataset | None = None

    @classmethod
    def build(cls, frame: pd.DataFrame, features: list[str], as_of: Any,
              params: Mapping[str, Any] = DEFAULT_PARAMS) -> TrainingMatrix:
        as_of = pd.Timestamp(as_of)
        later = frame["date"] > as_of
        cut = frame[~later] if later.any() else frame  # a mask copies: the nightly has none
        if cut.empty:
            raise DataError(f"no dataset rows on or before {as_of.date()}")
        codes, sessions = pd.factorize(cut["date"], sort=True)
        return cls(
            features=list(features), as_of=pd.Timestamp(sessions[-1]),
            x=cut[features].to_numpy(dtype=np.float32),
            symbols=cut["symbol"].to_numpy(dtype=str), session_idx=codes.astype(np.int64),
            sessions=pd.DatetimeIndex(sessions),
            labels={h: cut[label_column(h)].to_numpy(dtype=np.float64)
                    for h in HORIZONS if label_column(h) in cut},
            excess={h: _excess(cut[target_column(h) if target_column(h) in cut
                                   else label_column(h)], codes)
                    for h in HORIZONS if label_column(h) in cut},
            params=dict(params),
        )

    def eligible(self, horizon: str, through: int | None = None) -> np.ndarray:
        """Row indices usable as training data: label known and ending by `as_of` (and dated
        at or before session index `through` when given)."""
        last = len(self.sessions) - 1 - HORIZONS[horizon]
        if through is not None:
            last = min(last, through)
        return np.flatnonzero((self.session_idx <= last) & np.isfinite(self.labels[horizon])
                              & np.isfinite(self.excess[horizon]))

    def dataset(self, rows: np.ndarray, label: np.ndarray) -> lgb.Dataset:
        """A LightGBM Dataset of `rows` with `label`, binned like every other."""
        if self._base is None:
            self._base = lgb.Dataset(self.x, label=np.zeros(len(self.x)),
                                     feature_name=self.features, params=dict(self.params),
                                     free_raw_data=True).construct()
        data = self._base.subset(rows).construct()
        data.set_label(label)
        return data

    def target(self, rows: np.ndarray, horizon: str, winsorise: float) -> np.ndarray:
        """The training target of `rows`: excess returns clipped at their own `winsorise` and
        1 - `winsorise` quantiles (a few takeover-sized moves would otherwise dominate the
        squared loss; the quantiles come from the rows trained on, nothing later)."""
        y = self.excess[horizon][rows]
        if winsorise <= 0:
            return y
        lo, hi = np.quantile(y, [winsorise, 1.0 - winsorise])
        return np.clip(y, lo, hi)

    def drift(self, rows: np.ndarray, horizon: str) -> float:
        """Mean forward return of `rows`: added back to an excess-return forecast."""
        return float(np.mean(self.labels[horizon][rows]))


def _excess(label: pd.Series, session_codes: np.ndarray) -> np.ndarray:
    """The training target (the residual forward return where the dataset has one, else the
    forward return) minus its mean over all names on that date.

    Why the model learns this rather than the raw return: the market's common move is most of
    a stock's return variance and no stock feature predicts it; left in, the trees spend their
    splits fitting it (noise, for a ranker). The long-run mean is added back at prediction so
    that expected_return stays a return.
    """
    return (label - label.groupby(session_codes).transform("mean")).to_numpy(dtype=np.float64)


@dataclass
class Fold:
    """One walk-forward fold: training and validation spans (session dates) and its figures."""

    train_end: str
    valid_start: str
    valid_end: str
    rounds: int  # the best round count (what the final model's rounds derive from)
    trained_rounds: int  # rounds actually grown (best + the early-stopping patience)
    metrics: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"train_end": self.train_end, "valid_start": self.valid_start,
                "valid_end": self.valid_end, "rounds": self.rounds,
                "trained_rounds": self.trained_rounds, **self.metrics}


@dataclass
class WalkForwardResult:
    """The folds, the round count they suggest, and the confidence calibration they taught."""

    horizon: str
    folds: list[Fold]
    num_rounds: int
    calibration: Calibration

    def mean(self) -> dict[str, float]:
        keys = ("ic", "rank_ic", "hit_rate", "decile_spread")
        return {k: round(float(np.mean([f.metrics[k] for f in self.folds])), 6) for k in keys}


#: The most rows one tree is grown on: past it, bagging_fraction shrinks so that a round costs
#: the same at 5,000 symbols as at 500 (each tree still draws from every row: stochastic
#: gradient boosting). 500 symbols x 10 years bag ~0.6 M rows a tree, under it; so does every
#: real-data evaluation of the S&P 500 (bench/bench_real_quality.py), which it leaves as it was.
TREE_ROWS = 1_000_000


def train_params(config: TrainConfig, n_rows: int) -> dict[str, Any]:
    """The config's parameters for a training set of `n_rows`: min_data_in_leaf capped at 1 %
    of the rows (at least 20), so that a small universe (a user's dozen symbols) still grows
    trees while a large one keeps the configured floor against fitting noise; bagging held to
    TREE_ROWS rows a tree, so that training time grows with the rounds, not the universe."""
    params = dict(config.params)
    params["min_data_in_leaf"] = min(int(params["min_data_in_leaf"]), max(20, n_rows // 100))
    if params.get("bagging_freq") and n_rows * params.get("bagging_fraction", 1.0) > TREE_ROWS:
        params["bagging_fraction"] = TREE_ROWS / n_rows
    return params


def fold_blocks(n_sessions: int, config: TrainConfig) -> list[np.ndarray]:
    n_valid = max(config.n_folds, int(round(n_sessions * config.validation_fraction)))
    return np.array_split(np.arange(n_sessions - n_valid, n_sessions), config.n_folds)


def _run_fold(data: TrainingMatrix, horizon: str, block: np.ndarray,
              config: TrainConfig) -> tuple[Fold, np.ndarray, np.ndarray]:
    h = HORIZONS[horizon]
    train_rows = data.eligible(horizon, through=int(block[0]) - h - 1)  # the purge gap
    valid_rows = data.eligible(horizon)
    valid_rows = valid_rows[(data.session_idx[valid_rows] >= block[0])
                            & (data.session_idx[valid_rows] <= block[-1])]
    y_valid = data.labels[horizon][valid_rows]
    if config.model == "composite":
        slope = composite_slope(composite_score(data.x[train_rows], data.features),
                                data.target(train_rows, horizon, config.winsorise))
        pred = slope * composite_score(data.x[valid_rows], data.features) \
            + data.drift(train_rows, horizon)
        rounds = trained = 0
    else:
        pred, rounds, trained = _gbm_fold(data, horizon, train_rows, valid_rows, config)
    day = data.sessions
    fold = Fold(train_end=_day(day[data.session_idx[train_rows].max()]),
                valid_start=_day(day[block[0]]), valid_end=_day(day[block[-1]]), rounds=rounds,
                trained_rounds=trained,
                metrics=cross_sectional_metrics(data.session_idx[valid_rows], pred, y_valid))
    return fold, pred, y_valid, data.session_idx[valid_rows]


def _gbm_fold(data: TrainingMatrix, horizon: str, train_rows: np.ndarray,
              valid_rows: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, int, int]:
    """A fold's trees: validation forecasts, best and grown round counts."""
    callbacks, valid_sets, evals = [], [], {}
    params = train_params(config, len(train_rows))
    if config.early_stopping:
        # Stopped on LightGBM's own l2 of the excess-return target (the training objective,
        # demeaned per date, so the market's common move does not count). A Python metric
        # (per-round cross-sectional IC) chose the same rank IC within 0.001 on 500 names x
        # 10 years but tripled the cost of every round; the folds' IC is still reported.
        valid_sets = [data.dataset(valid_rows, data.excess[horizon][valid_rows])]
        params["metric"] = "l2"
        # record_evaluation counts the rounds really grown: lgb.train hands back a booster cut
        # to its best iteration, so current_iteration() would hide the patience rounds.
        callbacks = [lgb.record_evaluation(evals),
                     lgb.early_stopping(config.early_stopping, verbose=False)]
    train_set = data.dataset(train_rows, data.target(train_rows, horizon, config.winsorise))
    booster = lgb.train(params, train_set, num_boost_round=config.max_rounds,
                        valid_sets=valid_sets, callbacks=callbacks)
    rounds = max(config.min_rounds, booster.best_iteration or config.max_rounds)
    pred = (booster.predict(data.x[valid_rows], num_iteration=rounds)
            + data.drift(train_rows, horizon))
    return pred, rounds, _grown(evals, booster)


def _grown(evals: dict[str, dict[str, list[float]]], booster: lgb.Booster) -> int:
    """Rounds trained: one evaluation was recorded per round (without validation, all of
    them were kept)."""
    for metrics in evals.values():
        for history in metrics.values():
            return len(history)
    return booster.current_iteration()


def _day(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def walk_forward(data: TrainingMatrix, horizon: str,
                 config: TrainConfig = NIGHTLY) -> WalkForwardResult:
    """Expanding-window validation of `horizon` on sessions up to `data.as_of`.

    Raises DataError when the history is too short for a fold to have `min_train_sessions`
    training sessions.
    """
    h = HORIZONS[horizon]
    n_labelled = len(data.sessions) - h
    blocks = fold_blocks(n_labelled, config)
    if n_labelled <= 0 or int(blocks[0][0]) - h < config.min_train_sessions:
        raise DataError(f"{horizon}: {len(data.sessions)} sessions are too few to validate "
                        f"(need about {config.min_train_sessions + h} before the folds)")
    folds, preds, reals, days = [], [], [], []
    for k, block in enumerate(blocks, 1):
        t0 = time.perf_counter()
        fold, pred, real, when = _run_fold(data, horizon, block, config)
        log.info("train %s: fold %d/%d, train through %s, validate %s..%s: %d rounds, "
                 "rank IC %+.4f (%.1f s)", horizon, k, len(blocks), fold.train_end,
                 fold.valid_start, fold.valid_end, fold.rounds, fold.metrics["rank_ic"],
                 time.perf_counter() - t0)
        folds.append(fold)
        preds.append(pred)
        reals.append(real)
        days.append(when)
    rounds = int(round(np.mean([f.rounds for f in folds])))
    calibration = Calibration.fit(np.concatenate(days), np.concatenate(preds),
                                  np.concatenate(reals))
    return WalkForwardResult(horizon, folds, rounds, calibration)


@dataclass
class Fitted:
    """A final model for one horizon, with what the app and the next run need to know:
    LightGBM trees (`model` "gbm", `booster`) or the composite (`model` "composite", no
    booster: `slope` turns its score into an excess return)."""

    horizon: str
    booster: lgb.Booster | None
    features: list[str]
    trained_through: str  # date of the last training row (its label ends at as_of)
    as_of: str
    num_rounds: int
    drift: float  # mean forward return of the training rows, added to the trees' excess return
    params: dict[str, Any]
    validation: dict[str, Any]  # {"folds": [...], "mean": {ic, rank_ic, hit_rate, ...}}
    calibration: Calibration
    model: str = "gbm"
    slope: float = 0.0

    def excess(self, x: np.ndarray) -> np.ndarray:
        """The forecast excess return of feature rows `x` (float32, `features`' order)."""
        if self.booster is None:
            return self.slope * composite_score(x, self.features)
        return self.booster.predict(x, num_threads=job_threads())

    def to_model_string(self) -> str | None:
        """LightGBM's own text format (never pickle); None for the composite, which its
        metadata describes whole."""
        return None if self.booster is None else self.booster.model_to_string(num_iteration=-1)

    def metadata(self) -> dict[str, Any]:
        """CONTRACT.md ml_models metadata JSON (JSON-safe, deterministic)."""
        if self.booster is None:  # each input's share of the score
            inputs = [f for f in self.features if f in COMPOSITE_INPUTS]
            gain, kind = [1.0 / len(inputs) if f in inputs else 0.0 for f in self.features], \
                "weight"
        else:
            gain, kind = self.booster.feature_importance(importance_type="gain"), "gain"
        importance = sorted(zip(self.features, gain, strict=True), key=lambda kv: (-kv[1], kv[0]))
        return {
            "schema": 1, "horizon": self.horizon, "model": self.model, "slope": self.slope,
            "features": self.features, "trained_through": self.trained_through,
            "as_of": self.as_of, "num_rounds": self.num_rounds, "drift": self.drift,
            "params": self.params, "validation": self.validation, "importance_type": kind,
            "feature_importance": {k: round(float(v), 6) for k, v in importance},
            "calibration": self.calibration.to_dict(),
        }

    def run_record(self) -> dict[str, Any]:
        """This model's line of model_runs.jsonl: the part of its metadata the Models page
        follows across nightly runs (lgbm_<h>.json keeps only the latest run)."""
        meta = self.metadata()
        return {k: meta[k] for k in ("horizon", "as_of", "trained_through", "num_rounds",
                                     "importance_type", "feature_importance")}

    @classmethod
    def from_model_string(cls, model: str | None, meta: Mapping[str, Any]) -> Fitted:
        """Rebuild from a saved model text (None for the composite) and its metadata."""
        kind = meta.get("model", "gbm")
        if kind == "gbm" and model is None:
            raise DataError(f"the {meta['horizon']} model's LightGBM text is missing")
        return cls(horizon=meta["horizon"], model=kind, slope=float(meta.get("slope") or 0.0),
                   booster=lgb.Booster(model_str=model) if kind == "gbm" else None,
                   features=list(meta["features"]), trained_through=meta["trained_through"],
                   as_of=meta["as_of"], num_rounds=int(meta["num_rounds"]),
                   drift=float(meta["drift"]),
                   params=dict(meta["params"]), validation=dict(meta["validation"]),
                   calibration=Calibration.from_dict(meta["calibration"]))


def fit(data: TrainingMatrix, horizon: str, num_rounds: int,
        walk: WalkForwardResult | None = None, config: TrainConfig = NIGHTLY) -> Fitted:
    """The final model: `num_rounds` rounds on every row whose label ends by `data.as_of`.

    `walk` supplies the validation figures and the calibration; without it confidence is the
    uninformative 0.5 and validation is empty.
    """
    rows = data.eligible(horizon)
    if len(rows) == 0:
        raise DataError(f"{horizon}: no labelled rows end on or before {_day(data.as_of)}")
    t0 = time.perf_counter()
    target = data.target(rows, horizon, config.winsorise)
    booster, slope = None, 0.0
    if config.model == "composite":
        slope = composite_slope(composite_score(data.x[rows], data.features), target)
        log.info("train %s: the composite, slope %.4g on %d rows", horizon, slope, len(rows))
    else:
        booster = lgb.train(train_params(config, len(rows)), data.dataset(rows, target),
                            num_boost_round=num_rounds)
        log.info("train %s: final model, %d rounds on %d rows (%.1f s)", horizon, num_rounds,
                 len(rows), time.perf_counter() - t0)
    folds = [f.to_dict() for f in walk.folds] if walk else []
    return Fitted(
        horizon=horizon, booster=booster, model=config.model, slope=slope,
        features=list(data.features),
        trained_through=_day(data.sessions[data.session_idx[rows].max()]),
        as_of=_day(data.as_of), num_rounds=num_rounds, drift=data.drift(rows, horizon),
        params=dict(config.params),
        validation={"folds": folds, "mean": walk.mean() if walk else {}},
        calibration=walk.calibration if walk else Calibration(x=(0.0,), y=(0.5,)),
    )


def train(frame: pd.DataFrame, features: list[str], as_of: Any,
          horizons: list[str] | None = None, config: TrainConfig = NIGHTLY) -> dict[str, Fitted]:
    """Validate and fit every horizon on rows dated <= `as_of`; the nightly's and the replay's
    entry point (the replay passes `config=QUICK`: one fold, fixed rounds).

    frame: `symbol, date` + `features` + `fwd_<h>` labels, one row per (symbol, date); rows
    after `as_of` may be present (the replay keeps one frame) and are never used.
    """
    data = TrainingMatrix.build(frame, features, as_of, config.params)
    out = {}
    for h in horizons or list(HORIZONS):
        walk = walk_forward(data, h, config)
        out[h] = fit(data, h, walk.num_rounds, walk, config)
    return out


def _raw(fitted: Fitted, rows: pd.DataFrame) -> np.ndarray:
    """The model's forecast of each row's return over its horizon (fractions)."""
    return fitted.excess(rows[fitted.features].to_numpy(dtype=np.float32)) + fitted.drift


def _per_date(dates: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's date mean and (population) standard deviation of `values`."""
    by_date = pd.Series(values).groupby(pd.factorize(dates)[0])
    return by_date.transform("mean").to_numpy(), by_date.transform("std", ddof=0).to_numpy()


def _zscore(dates: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Cross-sectional z-score within each date (0 where a date has no dispersion)."""
    mean, std = _per_date(dates, values)
    return np.where(std > 0, (values - mean) / np.where(std > 0, std, 1.0), 0.0)


def _forecasts(fitted: Fitted, rows: pd.DataFrame, pred: np.ndarray) -> pd.DataFrame:
    dates = rows["date"].to_numpy()
    out = pd.DataFrame({"date": dates, "symbol": rows["symbol"].to_numpy(),
                        "expected_return": pred,
                        "confidence": fitted.calibration.confidence(dates, pred),
                        "score": _zscore(dates, pred)})
    out = out.sort_values(["date", "expected_return", "symbol"], ascending=[True, False, True],
                          kind="stable").reset_index(drop=True)
    out["rank"] = out.groupby("date").cumcount() + 1
    return out


def predict(fitted: Fitted, rows: pd.DataFrame) -> pd.DataFrame:
    """Forecasts of one model alone for feature rows, typically every symbol at one later date.

    rows: `symbol, date` + the model's features. Returns one row per input row with columns
    `date, symbol, expected_return` (fraction over the horizon), `confidence` ([0, 1], see
    Calibration), `score` (cross-sectional z-score of expected_return within the date; 0 when
    the date has one name or no dispersion) and `rank` (1 = highest expected_return within the
    date; ties broken by symbol), sorted by (date, rank).
    """
    return _forecasts(fitted, rows, _raw(fitted, rows))


def blended_horizons(horizons: list[str]) -> list[str]:
    """The horizons whose models `predict_all` needs to forecast `horizons`: each and every
    shorter one."""
    longest = max(HORIZONS[h] for h in horizons)
    return [h for h, n in HORIZONS.items() if n <= longest]


def predict_all(models: Mapping[str, Fitted], rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every horizon's forecasts (columns as `predict`), each horizon blending its own model
    with the models of every shorter horizon in `models`.

    Why: on the S&P 500 dev years the longer models, trained on fewer independent labels,
    ranked worse than the shorter ones even on their own horizon (4w rank IC 2015 / 2016: the
    4w model -0.028 / +0.036, the 1w model -0.006 / +0.044). The blend is the mean of the
    members' per-date z-scores, standardised again and put back on the horizon's own model's
    per-date mean and spread, so expected_return stays a return over that horizon; it beat
    each horizon's own model in both dev years (2w +0.0018 / +0.0350 against +0.0015 /
    +0.0325; 4w -0.017 / +0.045 against -0.028 / +0.036). The nightly, the replay and
    `aion evaluate` all call this.
    """
    dates = rows["date"].to_numpy()
    raw = {h: _raw(m, rows) for h, m in models.items()}
    out = {}
    for h, fitted in models.items():
        members = [g for g in raw if HORIZONS[g] <= HORIZONS[h]]
        blend = _zscore(dates, np.mean([_zscore(dates, raw[g]) for g in members], axis=0))
        mean, std = _per_date(dates, raw[h])
        out[h] = _forecasts(fitted, rows, mean + blend * std)
    return out
