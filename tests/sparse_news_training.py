"""Train every horizon on a dataset shaped like the S&P 500 with its news: run as a script by
tests/test_model.py, so that a heap corruption in LightGBM fails that test instead of killing
the test process.

Shape (what made LightGBM 4.7.0 overflow, aion_core.ml.model's DEFAULT_PARAMS says how): 300
symbols x 1,000 sessions of dense ranked features, and the three sentiment columns of news
that covers only the first 400 sessions (the tweets of 2014-15 in a 2013-18 panel): ~97 %
missing, every value inside each fold's training span. A fold's training subset then holds
more sentiment values than the density of the whole dataset predicts, across the 65,535 a
uint16 row pointer can count.

With `--data-dir ROOT` it trains on that data root's bars, macro series and news instead, as
the nightly reads them (the whole shared S&P 500 file with its FRED series and tweets).

Usage: python sparse_news_training.py [--data-dir ROOT] [LightGBM param=value ...]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from aion_core.config import HORIZONS
from aion_core.ml import model
from aion_core.ml.buckets import build_bucketed
from aion_core.ml.features import MODEL_FEATURES
from aion_core.ml.sentiment import sentiment_columns
from aion_core.store import Store

SYMBOLS, SESSIONS, NEWS_SESSIONS, POSTS = 300, 1_000, 400, 15_600


def frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2013-02-08", periods=SESSIONS)
    out = pd.DataFrame({"symbol": np.repeat([f"S{i:03d}" for i in range(SYMBOLS)], SESSIONS),
                        "date": np.tile(dates, SYMBOLS)})
    n = len(out)
    for col in MODEL_FEATURES:
        out[col] = rng.uniform(size=n).astype(np.float32)
    in_news = np.flatnonzero(out["date"].to_numpy() <= dates[NEWS_SESSIONS - 1])
    posted = np.sort(rng.choice(in_news, POSTS, replace=False))
    mean, count = np.full(n, np.nan, np.float32), np.zeros(n, np.float32)
    mean[posted] = rng.normal(size=POSTS)
    count[posted] = rng.integers(1, 40, POSTS)
    decay = np.full(n, np.nan, np.float32)  # a post's tone lingers for the next sessions
    for lag in range(3):
        decay[np.minimum(posted + lag, n - 1)] = rng.normal(size=POSTS)
    out[sentiment_columns()] = np.column_stack([mean, count, decay])
    for h, k in HORIZONS.items():
        label = 0.02 * rng.normal(size=n)
        label[out["date"] > dates[-1 - k]] = np.nan
        out[f"fwd_{h}"] = label
    return out


def stored(root: str) -> tuple[pd.DataFrame, list[str]]:
    """The nightly's dataset of a data root (its model columns) and its features."""
    store = Store(root)
    bars = store.read_daily_panel()
    as_of = bars["date"].max()
    ds = build_bucketed(bars, store.read_macro_asof(as_of), store.read_news_asof(as_of),
                        sink=lambda part: None)
    return ds.frame, ds.feature_columns


def main(args: list[str]) -> None:
    """Few rounds, no early stopping: the folds' subsets are the nightly's, and a corrupted
    heap shows when a training set is first handed to a Booster, not after many rounds."""
    data, features = frame(), MODEL_FEATURES + sentiment_columns()
    if args[:1] == ["--data-dir"]:
        (data, features), args = stored(args[1]), args[2:]
    params = dict(model.DEFAULT_PARAMS)
    for item in args:
        key, value = item.split("=", 1)
        params[key] = {"true": True, "false": False}.get(value.lower(), value)
    config = model.TrainConfig(max_rounds=3, early_stopping=None, params=params)
    fitted = model.train(data, features, data["date"].max(), config=config)
    print(f"trained {', '.join(sorted(fitted))} on {data['symbol'].nunique()} symbols, "
          f"{len(features)} features")


if __name__ == "__main__":
    main(sys.argv[1:])
