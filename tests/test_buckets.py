"""The dataset built in buckets of symbols is build_dataset's, bit for bit, whatever the bucket
size: both nightly paths (one process, a cluster) rely on it."""

from __future__ import annotations

import pandas as pd
import pytest

from aion_core.errors import DataError
from aion_core.ml.buckets import (
    NARROW_COLUMNS,
    build_bucketed,
    model_columns,
    narrow_part,
    symbol_part,
)
from aion_core.ml.dataset import build_dataset
from aion_core.providers.synthetic import MACRO_SERIES


@pytest.fixture(scope="module")
def inputs(synthetic_market) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    s = synthetic_market.sessions
    macro = synthetic_market.series(list(MACRO_SERIES), s[0], s[-1]).data
    news = synthetic_market.headlines(synthetic_market.symbols, s[0], s[-1]).data
    return synthetic_market.panel(), macro, news


@pytest.mark.parametrize("size", [1, 3, 10_000])
@pytest.mark.parametrize("extras", [True, False])
def test_buckets_give_the_whole_panels_dataset(inputs, size: int, extras: bool) -> None:
    bars, macro, news = inputs
    if not extras:
        macro = news = None
    whole = build_dataset(bars, macro, news)
    written: list[pd.DataFrame] = []
    kept = build_bucketed(bars, macro, news, written.append, size=size)
    n_symbols = bars["symbol"].nunique()
    assert len(written) == -(-n_symbols // size)
    assert all(part["symbol"].nunique() <= size for part in written)
    pd.testing.assert_frame_equal(pd.concat(written, ignore_index=True), whole.frame,
                                  check_exact=True)
    assert kept.feature_columns == whole.feature_columns
    assert kept.label_columns == whole.label_columns
    pd.testing.assert_frame_equal(kept.frame, whole.frame[model_columns(whole)],
                                  check_exact=True)


def test_buckets_without_headlines_still_get_the_sentiment_columns(inputs) -> None:
    bars, macro, news = inputs
    first = sorted(bars["symbol"].unique())[0]
    news = news[news["symbol"] == first]  # every other bucket has no headline at all
    written: list[pd.DataFrame] = []
    build_bucketed(bars, macro, news, written.append, size=1)
    pd.testing.assert_frame_equal(pd.concat(written, ignore_index=True),
                                  build_dataset(bars, macro, news).frame, check_exact=True)


def test_the_narrow_inputs_alone_are_the_whole_parts(inputs) -> None:
    bars, _, _ = inputs
    pd.testing.assert_frame_equal(narrow_part(bars), symbol_part(bars)[NARROW_COLUMNS],
                                  check_exact=True)


def test_no_bars_is_a_clear_error(inputs) -> None:
    bars, _, _ = inputs
    with pytest.raises(DataError, match="no bars"):
        build_bucketed(bars.iloc[:0], None, None, lambda _: None)
