"""The nightly's features, training and predictions on a Dask cluster (issue 15).

`aion nightly --cluster local:N` starts a `distributed.LocalCluster` on 127.0.0.1;
`AION_DASK_SCHEDULER=tcp://host:8786` joins a running one. Without either the nightly never
imports this module's Dask side (Dask is imported inside the functions that need it).

The features step runs aion_core.ml.buckets' three steps as tasks: each worker reads its
bucket of symbols from the data root (or AION_RAW_URL) cut at as_of and builds their
time-series columns; one task builds the cross-sectional columns from the buckets' narrow
columns; each bucket is then assembled and written by its worker as one Parquet file of a
dataset directory at the ml_datasets path, which `dd.read_parquet` (and pyarrow) read back.
The directory is written beside the old dataset and swapped in by renames, so a killed run
leaves the last complete dataset (or none, for the instant between the two renames). Training
and predictions: jobs/cluster/train.py. Models, brain and summary are written by the
nightly's own code, as in the single-process path.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from aion_core import market_hours
from aion_core.errors import ConfigurationError, DataError
from aion_core.ml import buckets
from aion_core.ml.sentiment import score_headlines
from aion_core.ml.universe import MEMBER, Membership, mark_members
from aion_core.store import Store, staged_dir, write_parquet
from aion_core.threads import configure_process
from jobs.collect import EMPTY_ROOT
from jobs.universe import read_membership

#: At least this many buckets per worker, so that every worker holds training rows.
BUCKETS_PER_WORKER = 2


def cluster_address(option: str | None, scheduler: str) -> str | None:
    """What to connect to: `--cluster` wins over AION_DASK_SCHEDULER; None = no cluster."""
    spec = option or scheduler or None
    if spec and not (spec.startswith("local:") or "://" in spec):
        raise ConfigurationError(f"cluster {spec!r}: use local:N or tcp://host:8786")
    if spec and spec.startswith("local:") and not spec[6:].isdigit():
        raise ConfigurationError(f"cluster {spec!r}: N in local:N is a number of workers")
    return spec


@contextmanager
def connect(spec: str) -> Iterator[Any]:
    """A `distributed.Client` on `spec` (local:N or a scheduler address), closed after use."""
    from distributed import Client, LocalCluster

    if spec.startswith("local:"):
        with LocalCluster(host="127.0.0.1", n_workers=int(spec[6:]), threads_per_worker=1,
                          processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client
    else:
        with Client(spec) as client:
            # The thread policy on workers this process did not start (a local cluster's
            # inherit it); lightgbm.dask gives each worker its own nthreads.
            client.run(configure_process)
            yield client


def symbol_buckets(symbols: list[str], n_workers: int) -> list[list[str]]:
    """Contiguous buckets of the sorted symbols (their order is the panel's column order),
    at most buckets.BUCKET_SYMBOLS each and at least BUCKETS_PER_WORKER per worker when possible."""
    n = max(math.ceil(len(symbols) / buckets.BUCKET_SYMBOLS), BUCKETS_PER_WORKER * n_workers)
    n = min(n, len(symbols))
    size = math.ceil(len(symbols) / max(n, 1))
    return [symbols[i:i + size] for i in range(0, len(symbols), size)]


def _read_part(store: Store, symbols: list[str], end: pd.Timestamp,
               membership: Membership | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """On a worker: one bucket's bars up to `end`, and their time-series columns (with the
    index membership of each row when the data root has a universe)."""
    refused: dict[str, str] = {}
    bars = store.read_daily_panel(symbols=symbols, end=end, refused=refused)
    bars = mark_members(bars[bars["date"] <= end].reset_index(drop=True), membership)
    return buckets.symbol_part(bars), refused


def _write_bucket(part: pd.DataFrame, cross: buckets.CrossSection, i: int,
                  macro_days: pd.DataFrame | None, scores: pd.DataFrame | None,
                  path: Path) -> tuple[int, list[str]]:
    """On a worker: assemble bucket `i` and write it; its row count and model columns."""
    ds = buckets.assemble(part, cross.parts[i], cross.days, macro_days, scores)
    # lz4: as the single-process dataset, rewritten every night.
    write_parquet(path, ds.frame, compression="lz4")
    return len(ds.frame), ds.feature_columns


@dataclass
class ClusterDataset:
    """What the features step leaves for training and predictions."""

    path: Path
    as_of: pd.Timestamp
    feature_columns: list[str]
    closes: pd.DataFrame  # `symbol, date, close` (and MEMBER) of every bar (the brain's)
    rows: int
    refused: dict[str, str]
    membership: Membership | None = None  # the index membership the cross-sections held


def _end(as_of: pd.Timestamp | None, now: datetime) -> pd.Timestamp:
    """The last session the bars may reach (the run's cut, before as_of is known)."""
    if as_of is None:
        return pd.Timestamp(market_hours.last_completed_session(now))
    if not market_hours.is_session(as_of):
        raise DataError(f"--as-of {as_of.date()} is not an NYSE session")
    return as_of


def build_dataset_on(client: Any, store: Store, as_of: pd.Timestamp | None,
                     now: datetime) -> ClusterDataset:
    """The features step on the cluster; the dataset directory swapped in at ml_datasets."""
    missing: dict[str, str] = {}  # AION_UNIVERSE's symbols without bars, dropped as refused
    symbols = store.universe_symbols(missing)
    if not symbols:
        raise DataError(EMPTY_ROOT.format(root=store.root))
    end = _end(as_of, now)
    groups = symbol_buckets(symbols, len(client.scheduler_info()["workers"]))
    membership = read_membership(store)
    read = client.map(_read_part, [store] * len(groups), groups, [end] * len(groups),
                      [membership] * len(groups), pure=False)
    parts = [client.submit(lambda r: r[0], r) for r in read]
    narrow = client.map(buckets.narrow_columns, parts)
    closes = pd.concat(client.gather(client.map(
        lambda p: p[["symbol", "date", "close", *([MEMBER] if MEMBER in p else [])]], parts)),
        ignore_index=True)
    refused = {**missing, **{k: v for r in client.gather(client.map(lambda r: r[1], read))
                             for k, v in r.items()}}
    if closes.empty:
        raise DataError(EMPTY_ROOT.format(root=store.root))
    last = pd.Timestamp(closes["date"].max())
    if as_of is not None and last != end:
        raise DataError(f"no stored bars for --as-of {end.date()}")
    cross = client.submit(buckets.cross_section, narrow)
    days = client.submit(lambda c: c.days, cross).result()
    macro_days = buckets.day_macro(store.read_macro_asof(last), days)
    news = store.read_news_asof(last)
    scores = None if news is None or news.empty else client.submit(score_headlines, news)
    split = client.submit(buckets.split_news, scores, [g[0] for g in groups],
                          [g[-1] for g in groups])
    news_parts = client.map(operator.getitem, [split] * len(groups), range(len(groups)))
    final = store.path("ml_datasets")
    with staged_dir(final) as staging:
        files = [staging / f"part-{i:05d}.parquet" for i in range(len(groups))]
        written = client.gather(client.map(_write_bucket, parts, [cross] * len(groups),
                                           range(len(groups)), [macro_days] * len(groups),
                                           news_parts, files))
    return ClusterDataset(final, last, written[0][1], closes, sum(n for n, _ in written),
                          refused, membership)
