"""Headline sentiment: VADER scores, credited to the first session they could inform.

No look-ahead: a headline counts for session t only if it was published before t's close
(16:00 New York, or the early close of a half day); one published at or after the close
counts for the next session, as do those of weekends and holidays. Headlines newer than the
last session's close belong to a session not in the data and are dropped.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from aion_core.errors import ConfigurationError
from aion_core.market_hours import NY, calendar, previous_session, session_open_close
from aion_core.ml.features import PanelLayout, symbol_bounds

#: Half-lives, in sessions, of the decaying averages (`sent_decay_<h>`).
HALFLIFES = (5,)
NEWS_COLUMNS = ["symbol", "published_at", "headline"]


def sentiment_columns(halflifes: tuple[int, ...] = HALFLIFES) -> list[str]:
    return ["sent_mean_1d", "sent_count_1d", *(f"sent_decay_{h}" for h in halflifes)]


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    """One analyzer per process: building it parses the lexicon (~7,500 entries)."""
    return SentimentIntensityAnalyzer()


def score_headlines(news: pd.DataFrame) -> pd.DataFrame:
    """VADER compound score of each headline.

    news: `symbol, published_at` (tz-aware UTC), `headline`, optionally `source`; any index.
    Returns `symbol, published_at, compound` (float64 in [-1, 1]), one row per input row,
    fresh RangeIndex. Each distinct headline is scored once (VADER is pure Python).
    """
    missing = [c for c in NEWS_COLUMNS if c not in news.columns]
    if missing:
        raise ValueError(f"news lacks column(s) {missing}")
    codes, texts = pd.factorize(news["headline"].fillna("").astype(str))
    analyzer = _analyzer()
    scores = np.array([analyzer.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)
    # `.array`, not `.to_numpy()`: a text column stays Arrow text, no Python string per row.
    return pd.DataFrame({"symbol": news["symbol"].array,
                         "published_at": pd.to_datetime(news["published_at"], utc=True),
                         "compound": scores[codes] if len(codes) else np.empty(0)})


def session_closes(days: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """UTC close of each session in `days` (early closes included); 16:00 New York for days
    outside the exchange calendar's range (old history)."""
    known = calendar().schedule["close"].reindex(days)
    fallback = pd.Series((days + pd.Timedelta(hours=16)).tz_localize(NY).tz_convert("UTC"),
                         index=days)
    return pd.DatetimeIndex(known.fillna(fallback))


def _previous_close(first: pd.Timestamp) -> pd.Timestamp:
    """Close of the session before `first`: older headlines precede the data and are dropped."""
    try:
        return session_open_close(previous_session(first))[1]
    except ConfigurationError:
        return session_closes(pd.DatetimeIndex([first]))[0] - pd.Timedelta(days=1)


def assign_sessions(published_at: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    """Index into `days` of the session each headline first informs; -1 outside the data.

    Session i takes the headlines published in [close(i-1), close(i)).
    """
    closes = session_closes(days).as_unit("ns").asi8
    stamps = pd.DatetimeIndex(published_at).tz_convert("UTC").as_unit("ns").asi8
    idx = np.searchsorted(closes, stamps, side="right")
    lower = _previous_close(days[0]).as_unit("ns").value
    idx[(idx >= len(days)) | (stamps < lower)] = -1
    return idx


def sentiment_features(news_scores: pd.DataFrame, bars: pd.DataFrame,
                       halflifes: tuple[int, ...] = HALFLIFES,
                       days: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Per-bar sentiment: that session's mean score and count, and decayed averages.

    news_scores: `symbol, published_at, compound` as `score_headlines` returns.
    bars: long `symbol, date, ...` sorted by (symbol, date), one row per session.
    Returns `symbol, date, sent_mean_1d` (NaN without news), `sent_count_1d`, and for each
    half-life h `sent_decay_<h>`: the mean of all earlier-credited scores weighted by
    0.5 ** (age in sessions / h), NaN before the symbol's first headline; float32, one row
    per bar in bars' order, fresh RangeIndex.
    days: the whole panel's dates when `bars` is one bucket of symbols (ages count them).
    """
    bounds = symbol_bounds(bars)
    lay = PanelLayout.on(bounds, bars["date"].to_numpy(), days)
    # Arrow text throughout (`.array`, `take`): no Python string per bar or headline.
    symbols = pd.Index(bars["symbol"].array.take(bounds[:-1]))
    sym = symbols.get_indexer(news_scores["symbol"].array)
    day = (assign_sessions(news_scores["published_at"], lay.days) if lay.n_days
           else np.full(len(sym), -1))
    keep = (sym >= 0) & (day >= 0)
    flat = day[keep] * lay.n_symbols + sym[keep]
    size = lay.n_days * lay.n_symbols
    shape = (lay.n_days, lay.n_symbols)
    total = np.bincount(flat, news_scores["compound"].to_numpy()[keep], size).reshape(shape)
    count = np.bincount(flat, minlength=size).reshape(shape).astype(np.float64)
    wide = {"sent_mean_1d": np.where(count > 0, total / np.maximum(count, 1), np.nan),
            "sent_count_1d": count}
    for h in halflifes:
        keep_w = 0.5 ** (1.0 / h)
        dec_total = lfilter([1.0], [1.0, -keep_w], total, axis=0)
        dec_count = lfilter([1.0], [1.0, -keep_w], count, axis=0)
        wide[f"sent_decay_{h}"] = np.where(dec_count > 0, dec_total / np.where(
            dec_count > 0, dec_count, 1.0), np.nan)
    out = {"symbol": bars["symbol"].array, "date": bars["date"].to_numpy()}
    out.update({k: w[lay.day, lay.sym].astype(np.float32) for k, w in wide.items()})
    return pd.DataFrame(out)
