"""The dataset of aion_core.ml.dataset built in buckets of symbols; pure.

Both nightly paths build it this way: a cluster runs the steps as tasks (jobs/cluster/dataset.py),
one process runs them bucket by bucket (`build_bucketed`), so that neither ever holds the
whole panel's ~150 columns at once (at 5,000 symbols x 10 years that frame alone is 7 GB of
float32, and its float64 columns twice that while they are built).

Why three steps rather than `build_dataset` per bucket: most columns (indicators, returns,
forward returns) depend on one symbol's bars alone, but the per-date ranks and the residual
factors (aion_core.ml.residual) span every symbol of the panel, and the macro and sentiment
columns count sessions on the panel's whole date grid. So:

1. `symbol_part(bars)` per bucket: the time-series columns of whole symbols;
2. `cross_section(parts)` once, on the narrow columns of every bucket gathered in symbol order
   (closes and the ranked columns): the cross-sectional columns, split back per bucket;
3. `assemble(part, cross, ...)` per bucket: the dataset's rows of that bucket, column for
   column and bit for bit what `build_dataset` gives those rows (tests/test_cluster.py).

Every function runs the same code as the single-process path (features.symbol_columns,
cross_section_columns, labels.*_forward_returns), on the same float64 values, so equality is
exact rather than approximate. As-of: the caller cuts the bars at `as_of` before step 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aion_core.config import HORIZONS
from aion_core.errors import DataError
from aion_core.ml.dataset import Dataset, dataset_columns, members_only
from aion_core.ml.features import (
    RANKED_FEATURES,
    SYMBOL_FEATURES,
    PanelLayout,
    cross_section_columns,
    feature_frame,
    panel_arrays,
    symbol_bounds,
    symbol_columns,
)
from aion_core.ml.labels import (
    label_columns,
    residual_forward_returns,
    symbol_forward_returns,
    target_columns,
)
from aion_core.ml.macro import macro_features
from aion_core.ml.sentiment import score_headlines, sentiment_columns, sentiment_features
from aion_core.ml.universe import MEMBER, member_rows

#: Symbols per bucket: about 1 GB of working memory at 10 years of history.
BUCKET_SYMBOLS = 250

#: What step 2 needs of each bucket: float64 closes (<= 0 already NaN) and the ranked inputs.
NARROW_COLUMNS = ["symbol", "date", "close", *RANKED_FEATURES]
_KEEP_64 = {"close", *RANKED_FEATURES}


def symbol_part(bars: pd.DataFrame, horizons: Mapping[str, int] = HORIZONS) -> pd.DataFrame:
    """Step 1 on one bucket of whole symbols.

    bars: long `symbol, date, open, high, low, close, volume`, sorted by (symbol, date), cut
    at as_of. Returns one row per bar in bars' order: `symbol, date, close` (float64), the
    SYMBOL_FEATURES (float64 for RANKED_FEATURES, whose ranks need the exact values; float32
    for the rest, as the dataset stores them) and `fwd_<h>` (float64).
    """
    p = panel_arrays(bars)
    cols = symbol_columns(p, PanelLayout.of(p, bars["date"].to_numpy()))
    out = {"symbol": bars["symbol"].to_numpy(), "date": bars["date"].to_numpy(),
           "close": p.close, **_membership(bars)}
    out |= {c: cols[c] if c in _KEEP_64 else cols[c].astype(np.float32)
            for c in SYMBOL_FEATURES}
    out |= symbol_forward_returns(p, horizons)
    return pd.DataFrame(out)


def _membership(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """The MEMBER column of bars that carry one (aion_core.ml.universe), else nothing."""
    member = member_rows(bars)
    return {} if member is None else {MEMBER: member}


def narrow_columns(part: pd.DataFrame) -> pd.DataFrame:
    """NARROW_COLUMNS of a `symbol_part` (with MEMBER when it has one): step 2's inputs."""
    return part[NARROW_COLUMNS + ([MEMBER] if MEMBER in part.columns else [])]


def narrow_part(bars: pd.DataFrame) -> pd.DataFrame:
    """Step 2's inputs of one bucket (NARROW_COLUMNS, `symbol_part`'s values), without the
    rest of step 1: what one process computes first, to assemble the whole part later."""
    p = panel_arrays(bars)
    cols = symbol_columns(p, PanelLayout.of(p, bars["date"].to_numpy()), ranked_only=True)
    return pd.DataFrame({"symbol": bars["symbol"].to_numpy(), "date": bars["date"].to_numpy(),
                         "close": p.close, **cols, **_membership(bars)})


@dataclass(frozen=True)
class CrossSection:
    """Step 2's result: the panel's date grid and, per bucket (in the order given), its rows'
    CROSS_SECTION_FEATURES (float32) and `resid_fwd_<h>` (float64), RangeIndex, in the bucket's
    row order."""

    days: pd.DatetimeIndex
    parts: list[pd.DataFrame]


def cross_section(narrow: list[pd.DataFrame],
                  horizons: Mapping[str, int] = HORIZONS) -> CrossSection:
    """Step 2. narrow: every bucket's NARROW_COLUMNS, buckets in symbol order (the residual
    factors' sums run over symbols in that order: another order changes the last bits).
    The list is emptied as it is gathered: its frames are no longer needed."""
    sizes = [len(n) for n in narrow]
    frame = pd.concat(narrow, ignore_index=True)
    narrow.clear()
    lay = PanelLayout.on(symbol_bounds(frame), frame["date"].to_numpy())
    close = frame["close"].to_numpy(dtype=np.float64)
    member = member_rows(frame)
    cols = cross_section_columns({c: frame[c].to_numpy(np.float64) for c in RANKED_FEATURES},
                                 close, lay, member)
    cols |= residual_forward_returns(close, lay, horizons, member)
    edges = np.cumsum([0, *sizes])
    # Views of the long columns, not a frame of them: a frame would copy them into one block.
    return CrossSection(lay.days, [pd.DataFrame({c: v[a:b] for c, v in cols.items()},
                                                copy=False)
                                   for a, b in zip(edges[:-1], edges[1:], strict=True)])


def day_macro(macro: pd.DataFrame | None, days: pd.DatetimeIndex) -> pd.DataFrame | None:
    """The macro features of each day of the grid (`macro_features`), None without macro."""
    if macro is None or macro.empty:
        return None
    return macro_features(macro, days).drop(columns="date")


def split_news(scores: pd.DataFrame | None, firsts: Sequence[str], lasts: Sequence[str]
               ) -> list[pd.DataFrame | None]:
    """Each bucket's scored headlines: symbols firsts[i] .. lasts[i], buckets in symbol order.

    A bucket's sentiment reads only its own symbols' headlines, and handing it all of them
    scanned the whole news once per bucket (at 5,000 symbols: 20 buckets x 7.5 M headlines).
    The sort is stable, so each symbol's headlines keep their order and every per-day sum is
    added in the same order: the same values bit for bit. None (no news at all) stays None
    for every bucket; a bucket without headlines gets an empty frame (its columns are NaN).
    """
    if scores is None:
        return [None] * len(firsts)
    ordered = scores.sort_values("symbol", kind="stable", ignore_index=True)
    lo = ordered["symbol"].searchsorted(list(firsts), side="left")
    hi = ordered["symbol"].searchsorted(list(lasts), side="right")
    return [ordered.iloc[a:b].reset_index(drop=True) for a, b in zip(lo, hi, strict=True)]


def assemble(part: pd.DataFrame, cross: pd.DataFrame, days: pd.DatetimeIndex,
             macro_days: pd.DataFrame | None = None, news_scores: pd.DataFrame | None = None,
             horizons: Mapping[str, int] = HORIZONS) -> Dataset:
    """Step 3: one bucket's dataset rows, as `build_dataset` would give them.

    part: `symbol_part`'s frame; cross: its bucket's frame of `cross_section`; days: the panel's
    date grid; macro_days: `day_macro` of it; news_scores: the bucket's part of
    `score_headlines` (`split_news`; empty when it has none), None when there is no news.
    """
    cols = {c: part[c].to_numpy() for c in SYMBOL_FEATURES}
    cols |= {c: cross[c].to_numpy() for c in cross.columns}
    frames = [feature_frame(part["symbol"], part["date"], cols)]
    macro_names: list[str] = []
    if macro_days is not None:
        rows = macro_days.iloc[days.get_indexer(part["date"])].reset_index(drop=True)
        frames.append(rows)
        macro_names = list(rows.columns)
    with_news = news_scores is not None
    if with_news:
        frames.append(sentiment_features(news_scores, part, days=days)[sentiment_columns()])
    labels = part[label_columns(horizons)].join(cross[target_columns(horizons)])
    frames.append(labels)
    return Dataset(members_only(pd.concat(frames, axis=1), member_rows(part)),
                   dataset_columns(macro_names, with_news), label_columns(horizons))


def model_columns(ds: Dataset, horizons: Mapping[str, int] = HORIZONS) -> list[str]:
    """What training and predictions read of a dataset: keys, model features, labels, targets."""
    return ["symbol", "date", *ds.feature_columns, *label_columns(horizons),
            *target_columns(horizons)]


def build_bucketed(bars: pd.DataFrame, macro: pd.DataFrame | None,
                   news: pd.DataFrame | None, sink: Callable[[pd.DataFrame], None],
                   size: int = BUCKET_SYMBOLS,
                   horizons: Mapping[str, int] = HORIZONS) -> Dataset:
    """`build_dataset(bars, macro, news)` in buckets of `size` symbols, each bucket's whole
    frame handed to `sink` (in symbol order); returns the dataset's `model_columns` only.

    A bucket's ranked inputs are computed first (`narrow_part`) and its whole time-series
    part when it is assembled: cheaper in time than holding every bucket's ~110 columns, and
    the peak memory is one bucket's frame plus the narrow columns and the kept model columns.
    """
    if bars.empty:
        raise DataError("no bars to build a dataset from")
    bounds = symbol_bounds(bars)
    edges = [*bounds[:-1:size], bounds[-1]]
    spans = list(zip(edges[:-1], edges[1:], strict=True))
    symbols = bars["symbol"]
    cross = cross_section([narrow_part(bars.iloc[a:b]) for a, b in spans], horizons)
    macro_days = day_macro(macro, cross.days)
    scores = split_news(None if news is None or news.empty else score_headlines(news),
                        [symbols.iloc[a] for a, _ in spans],
                        [symbols.iloc[b - 1] for _, b in spans])
    kept: dict[str, list[pd.Series]] = {}
    for i, (a, b) in enumerate(spans):
        ds = assemble(symbol_part(bars.iloc[a:b], horizons), cross.parts[i], cross.days,
                      macro_days, scores[i], horizons)
        sink(ds.frame)
        for c in model_columns(ds, horizons):  # copies: a view would keep the bucket's block
            kept.setdefault(c, []).append(ds.frame[c].copy())
    # Column by column, each column's pieces freed as it is joined: never two copies of all.
    frame = pd.DataFrame({c: pd.concat(kept.pop(c), ignore_index=True) for c in list(kept)},
                         copy=False)
    return Dataset(frame, ds.feature_columns, label_columns(horizons))
