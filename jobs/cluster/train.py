"""Training and predictions on a Dask cluster: `lightgbm.dask.DaskLGBMRegressor` per horizon.

The recipe is aion_core.ml.model's (walk-forward folds with a purge of h sessions, the
per-date demeaned and winsorised target, the drift added back, isotonic confidence from the
folds, the final model on every row whose label ends by as_of), with one difference forced by
lightgbm.dask: it has no early stopping (LightGBM #4493, #6351). Each fold trains
`max_rounds` and its round count is the one whose validation l2 (of the excess-return target,
the serial path's stopping metric) is lowest, read off the fold's booster tree by tree on the
workers. Distributed training bins and bags per worker, so a model is close to, not equal to,
the serial one (#4471); tests/test_cluster.py holds the predictions' rank correlation >= 0.95.
The winsorising quantiles are Dask's approximate ones, for the same reason of scale.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from aion_core.config import HORIZONS
from aion_core.errors import DataError
from aion_core.ml import model
from aion_core.ml.calibration import Calibration, cross_sectional_metrics
from jobs.cluster.dataset import ClusterDataset

#: Round counts compared on each fold's validation rows (every ROUND_STEP-th).
ROUND_STEP = 5


def _load(ds: ClusterDataset, horizons: list[str]) -> tuple[Any, pd.DatetimeIndex]:
    """The dataset on the workers, cut at as_of, with `session` (index into the sessions) and
    `excess_<h>` (the target less its date mean, model._excess's definition)."""
    import dask.dataframe as dd

    targets = [model.target_column(h) for h in horizons]
    labels = [model.label_column(h) for h in horizons]
    frame = dd.read_parquet(ds.path, columns=["date", *ds.feature_columns, *labels, *targets])
    frame = frame[frame["date"] <= ds.as_of]
    sessions = pd.DatetimeIndex(np.sort(frame["date"].unique().compute().to_numpy()))
    means = frame.groupby("date")[targets].mean().compute()

    def enrich(part: pd.DataFrame) -> pd.DataFrame:
        out = part.assign(session=sessions.get_indexer(part["date"]))
        for h, t in zip(horizons, targets, strict=True):
            out[f"excess_{h}"] = part[t] - means[t].reindex(part["date"]).to_numpy()
        return out

    return frame.map_partitions(enrich).persist(), sessions


def _rows(frame: Any, h: str, sessions: pd.DatetimeIndex, first: int, last: int) -> Any:
    """Eligible rows of horizon h dated in sessions first..last (model.TrainingMatrix.eligible)
    : label known and ending by as_of."""
    last = min(last, len(sessions) - 1 - HORIZONS[h])
    keep = ((frame["session"] >= first) & (frame["session"] <= last)
            & frame[model.label_column(h)].notnull() & frame[f"excess_{h}"].notnull())
    return frame[keep]


def _fit(rows: Any, features: list[str], h: str, rounds: int,
         config: model.TrainConfig) -> tuple[Any, float]:
    """A distributed model of `rounds` trees on `rows`; its booster and drift."""
    from lightgbm.dask import DaskLGBMRegressor

    n = int(rows.shape[0].compute())
    if n == 0:
        raise DataError(f"{h}: no labelled rows to train on")
    y = rows[f"excess_{h}"]
    if config.winsorise > 0:
        lo, hi = y.quantile([config.winsorise, 1.0 - config.winsorise]).compute()
        y = y.clip(lo, hi)
    params = model.train_params(config, n)
    params.pop("num_threads", None)  # each worker uses its own threads
    est = DaskLGBMRegressor(n_estimators=rounds, **params)
    est.fit(rows[features], y)
    drift = float(rows[model.label_column(h)].mean().compute())
    return est.to_local().booster_, drift


def _staged_sse(part: pd.DataFrame, booster: Any, features: list[str], h: str,
                stops: np.ndarray) -> pd.DataFrame:
    """Squared error of the excess target after each round count in `stops`, one row."""
    x, y = part[features].to_numpy(np.float32), part[f"excess_{h}"].to_numpy()
    pred, sse, start = np.zeros(len(part)), [], 0
    for stop in stops:
        if len(part):
            pred += booster.predict(x, start_iteration=start, num_iteration=int(stop - start))
        sse.append(float(np.sum((y - pred) ** 2)))
        start = int(stop)
    return pd.DataFrame([sse], columns=[str(s) for s in stops])


def _fold(frame: Any, sessions: pd.DatetimeIndex, features: list[str], h: str,
          block: np.ndarray, config: model.TrainConfig) -> tuple[model.Fold, pd.DataFrame]:
    """One walk-forward fold; its record and its validation rows' `session, pred, real`."""
    train = _rows(frame, h, sessions, 0, int(block[0]) - HORIZONS[h] - 1)  # the purge gap
    valid = _rows(frame, h, sessions, int(block[0]), int(block[-1]))
    booster, drift = _fit(train, features, h, config.max_rounds, config)
    stops = np.unique(np.r_[np.arange(config.min_rounds, config.max_rounds, ROUND_STEP),
                            config.max_rounds])
    meta = pd.DataFrame(columns=[str(s) for s in stops], dtype=float)
    sse = valid.map_partitions(_staged_sse, booster, features, h, stops, meta=meta)
    rounds = int(stops[int(np.argmin(sse.sum().compute().to_numpy()))])

    def forecast(part: pd.DataFrame) -> pd.DataFrame:
        pred = booster.predict(part[features].to_numpy(np.float32), num_iteration=rounds) \
            if len(part) else np.empty(0)
        return pd.DataFrame({"session": part["session"].to_numpy(), "pred": pred + drift,
                             "real": part[model.label_column(h)].to_numpy()})

    out = valid.map_partitions(forecast, meta={"session": int, "pred": float, "real": float})
    out = out.compute()
    trained = train["session"].max().compute()
    fold = model.Fold(train_end=_day(sessions[trained]), valid_start=_day(sessions[block[0]]),
                      valid_end=_day(sessions[block[-1]]), rounds=rounds,
                      trained_rounds=config.max_rounds,
                      metrics=cross_sectional_metrics(out["session"].to_numpy(),
                                                      out["pred"].to_numpy(),
                                                      out["real"].to_numpy()))
    return fold, out


def _day(ts: Any) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def train_on_cluster(ds: ClusterDataset, horizons: list[str] | None = None,
                     config: model.TrainConfig = model.NIGHTLY
                     ) -> Iterator[tuple[str, model.Fitted, model.WalkForwardResult]]:
    """Validate and fit each horizon on the cluster (the client is the current one), in
    HORIZONS' order: (horizon, final model, walk-forward result)."""
    hs = horizons or list(HORIZONS)
    frame, sessions = _load(ds, hs)
    for h in hs:
        n_labelled = len(sessions) - HORIZONS[h]
        blocks = model.fold_blocks(n_labelled, config)
        if n_labelled <= 0 or int(blocks[0][0]) - HORIZONS[h] < config.min_train_sessions:
            raise DataError(f"{h}: {len(sessions)} sessions are too few to validate")
        done = [_fold(frame, sessions, ds.feature_columns, h, b, config) for b in blocks]
        folds = [f for f, _ in done]
        valid = pd.concat([v for _, v in done], ignore_index=True)
        walk = model.WalkForwardResult(
            h, folds, int(round(np.mean([f.rounds for f in folds]))),
            Calibration.fit(valid["session"].to_numpy(), valid["pred"].to_numpy(),
                            valid["real"].to_numpy()))
        rows = _rows(frame, h, sessions, 0, len(sessions))
        booster, drift = _fit(rows, ds.feature_columns, h, walk.num_rounds, config)
        trained = int(rows["session"].max().compute())
        yield h, model.Fitted(
            horizon=h, booster=booster, features=list(ds.feature_columns),
            trained_through=_day(sessions[trained]), as_of=_day(ds.as_of),
            num_rounds=walk.num_rounds, drift=drift, params=dict(config.params),
            validation={"folds": [f.to_dict() for f in folds], "mean": walk.mean()},
            calibration=walk.calibration), walk


def predict_on_cluster(client: Any, ds: ClusterDataset,
                       models: dict[str, model.Fitted]) -> dict[str, pd.DataFrame]:
    """model.predict_all on the as_of rows, run as a task on the cluster."""
    import dask.dataframe as dd

    frame = dd.read_parquet(ds.path, columns=["symbol", "date", *ds.feature_columns])
    rows = client.compute(frame[frame["date"] == ds.as_of])
    return client.submit(model.predict_all, models, rows).result()
