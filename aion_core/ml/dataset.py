"""The training/prediction dataset: every feature and label of every bar, in one frame.

Only bars are required. Macro series and news are optional: without them (None or empty)
their columns are simply absent, so a data root holding a user's own bars runs on the bar
features alone. Features are float32 (half the memory; LightGBM bins them anyway), labels
float64.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aion_core.config import HORIZONS
from aion_core.ml.features import MODEL_FEATURES, build_features
from aion_core.ml.labels import forward_returns, label_columns, target_columns
from aion_core.ml.macro import macro_features
from aion_core.ml.sentiment import score_headlines, sentiment_columns, sentiment_features
from aion_core.ml.universe import member_rows


@dataclass
class Dataset:
    """frame: RangeIndex, one row per bar (per member's bar when the bars carry the MEMBER
    column) in (symbol, date) order, columns `symbol, date`,
    every feature column (float32: the model's and the standard price-level ones), then
    `fwd_<h>` labels and `resid_fwd_<h>` training targets (float64 fractions, NaN until
    known).
    feature_columns: the columns a model trains on, in a fixed order.
    label_columns: `fwd_<h>` for each horizon."""

    frame: pd.DataFrame
    feature_columns: list[str]
    label_columns: list[str]


def _macro_rows(macro: pd.DataFrame, dates: np.ndarray) -> pd.DataFrame:
    """Macro features of each bar's date (one row per bar)."""
    day, days = pd.factorize(dates, sort=True)
    per_day = macro_features(macro, pd.DatetimeIndex(days))
    return per_day.drop(columns="date").iloc[day].reset_index(drop=True)


def build_dataset(bars: pd.DataFrame, macro: pd.DataFrame | None = None,
                  news: pd.DataFrame | None = None,
                  horizons: Mapping[str, int] = HORIZONS) -> Dataset:
    """Features and labels of every bar.

    bars: long `symbol, date, open, high, low, close, volume`, sorted by (symbol, date);
    with the bool MEMBER column (aion_core.ml.universe.mark_members) the cross-sections hold
    each date's members only and the dataset keeps their rows only, every feature of them
    computed from the bars before (a name's own history, before it joined, is its warm-up).
    macro: long `series, date, value` (observation dates; release lags applied here) or None.
    news: `symbol, published_at` (UTC), `headline`, ... or None.
    """
    parts = [build_features(bars)]
    macro_names: list[str] = []
    if macro is not None and not macro.empty:
        rows = _macro_rows(macro, bars["date"].to_numpy())
        parts.append(rows)
        macro_names = list(rows.columns)
    with_news = news is not None and not news.empty
    if with_news:
        sent = sentiment_features(score_headlines(news), bars)
        parts.append(sent[sentiment_columns()])
    labels = forward_returns(bars, horizons)
    parts.append(labels[label_columns(horizons) + target_columns(horizons)])
    return Dataset(members_only(pd.concat(parts, axis=1), member_rows(bars)),
                   dataset_columns(macro_names, with_news), label_columns(horizons))


def members_only(frame: pd.DataFrame, member: np.ndarray | None) -> pd.DataFrame:
    """The rows of index members (`member`: bool per row, None = all of them), RangeIndex:
    a non-member's row never trains, is never predicted and never enters a cross-section."""
    if member is None or member.all():
        return frame
    return frame[member].reset_index(drop=True)


def dataset_columns(macro_names: list[str], with_news: bool) -> list[str]:
    """The columns a model trains on: the bar features, then the macro columns present, then
    the sentiment columns when there is news."""
    return list(MODEL_FEATURES) + macro_names + (sentiment_columns() if with_news else [])
