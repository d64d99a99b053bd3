"""The nightly's features, train and predict steps on a Dask cluster (jobs/cluster/dataset.py says
how); the steps are recorded, timed and gated exactly as jobs/nightly.py does in one process,
and training and predictions publish through its public `train_step` and `predict_step`."""

from __future__ import annotations

from datetime import date

import pandas as pd

from jobs.cluster.dataset import ClusterDataset, build_dataset_on, connect
from jobs.cluster.train import predict_on_cluster, train_on_cluster
from jobs.nightly_steps import NightlyRun, predict_step, train_step


def run_on_cluster(run: NightlyRun, address: str, as_of: date | None) -> None:
    """The features, train and predict steps of `run` on the cluster at `address`."""
    with connect(address) as client:
        built: list[ClusterDataset] = []

        def features() -> str:
            ds = build_dataset_on(client, run.store, pd.Timestamp(as_of) if as_of else None,
                                  run.now())
            built.append(ds)
            run.drop(ds.refused)
            run.as_of, run.bars, run.membership = ds.as_of, ds.closes, ds.membership
            return (f"as_of {ds.as_of.date()}: {ds.rows} rows x {len(ds.feature_columns)} "
                    f"features, {ds.closes['symbol'].nunique()} symbols on {address}")

        run.step("features", features)
        run.step("train", lambda: train_step(run, lambda _: train_on_cluster(built[0])),
                 needs=("features",))
        run.step("predict", lambda: predict_step(
            run, lambda r: predict_on_cluster(client, built[0], r.models)),
            needs=("features", "train"))
