"""The dataset: features + labels per bar; optional macro and news; nothing from after t."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aion_core.ml.dataset import build_dataset
from aion_core.ml.features import FEATURE_COLUMNS, MODEL_FEATURES, build_features
from aion_core.ml.labels import forward_returns, target_columns
from aion_core.ml.macro import macro_features
from aion_core.ml.sentiment import score_headlines, sentiment_columns, sentiment_features
from aion_core.providers.synthetic import MACRO_SERIES


@pytest.fixture
def inputs(synthetic_market) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    s = synthetic_market.sessions
    macro = synthetic_market.series(list(MACRO_SERIES), s[0], s[-1]).data
    news = synthetic_market.headlines(synthetic_market.symbols, s[0], s[-1]).data
    return synthetic_market.panel(), macro, news


@pytest.mark.parametrize("missing", [None, pd.DataFrame()])
def test_bars_alone_give_the_model_features_and_labels(inputs, missing):
    bars, _, _ = inputs
    ds = build_dataset(bars, macro=missing, news=missing)
    assert ds.feature_columns == MODEL_FEATURES
    assert ds.label_columns == ["fwd_1w", "fwd_2w", "fwd_4w"]
    assert list(ds.frame.columns) == ["symbol", "date", *FEATURE_COLUMNS, *ds.label_columns,
                                      *target_columns()]
    assert (ds.frame[FEATURE_COLUMNS].dtypes == np.float32).all()
    pd.testing.assert_frame_equal(ds.frame[["symbol", "date", *FEATURE_COLUMNS]],
                                  build_features(bars))


def test_macro_and_news_columns_join_each_bar(inputs):
    bars, macro, news = inputs
    ds = build_dataset(bars, macro, news)
    frame = ds.frame
    macro_cols = [c for c in ds.feature_columns if c.startswith("macro_")]
    assert len(macro_cols) == 9 and set(sentiment_columns()) <= set(ds.feature_columns)
    per_day = macro_features(macro, pd.DatetimeIndex(np.unique(bars["date"])))
    want = bars[["date"]].merge(per_day, on="date", how="left")
    pd.testing.assert_frame_equal(frame[macro_cols], want[macro_cols])
    sent = sentiment_features(score_headlines(news), bars)
    pd.testing.assert_frame_equal(frame[sentiment_columns()], sent[sentiment_columns()])
    labels = forward_returns(bars)
    pd.testing.assert_frame_equal(frame[ds.label_columns], labels[ds.label_columns])
    assert frame["sent_count_1d"].sum() > 0 and frame["macro_cpi_yoy"].notna().any()


def test_features_up_to_t_ignore_all_data_after_t(inputs):
    """What `--as-of t` reads (bars, observations and news dated up to t) gives the same
    features at every session up to t as the full history does."""
    bars, macro, news = inputs
    t = bars["date"].drop_duplicates().sort_values().iloc[300]
    full = build_dataset(bars, macro, news)
    cut_bars = bars[bars["date"] <= t].reset_index(drop=True)
    published_ny = news["published_at"].dt.tz_convert("America/New_York").dt.tz_localize(None)
    cut = build_dataset(cut_bars, macro[macro["date"] <= t],
                        news[published_ny.dt.normalize() <= t])
    upto = (full.frame["date"] <= t).to_numpy()
    assert cut.feature_columns == full.feature_columns
    cols = ["symbol", "date", *full.feature_columns]
    pd.testing.assert_frame_equal(full.frame.loc[upto, cols].reset_index(drop=True),
                                  cut.frame[cols])
