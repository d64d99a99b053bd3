"""Headline sentiment: VADER scores, session assignment at the close, decayed averages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from aion_core.ml.sentiment import (
    assign_sessions,
    score_headlines,
    sentiment_columns,
    sentiment_features,
)


def bars_for(symbols: list[str], days: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame([{"symbol": s, "date": d, "open": 1.0, "high": 1.0, "low": 1.0,
                          "close": 1.0, "volume": 1.0} for s in symbols for d in days])


def ny(stamp: str) -> pd.Timestamp:
    return pd.Timestamp(stamp, tz="America/New_York").tz_convert("UTC")


def news(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"symbol": [r[0] for r in rows], "published_at": [ny(r[1]) for r in rows],
                         "headline": [r[2] for r in rows], "source": "test"})


def test_scores_are_vader_compound_once_per_headline():
    frame = news([("A", "2024-03-04 10:00", "Shares soar after stellar earnings beat"),
                  ("B", "2024-03-04 11:00", "Company faces fraud probe, stock plunges"),
                  ("A", "2024-03-05 10:00", "Shares soar after stellar earnings beat")])
    scores = score_headlines(frame.set_index(pd.Index([7, 8, 9])))
    vader = SentimentIntensityAnalyzer()
    want = [vader.polarity_scores(h)["compound"] for h in frame["headline"]]
    np.testing.assert_allclose(scores["compound"], want)
    assert scores["compound"].iloc[0] > 0 > scores["compound"].iloc[1]
    assert list(scores.columns) == ["symbol", "published_at", "compound"]


def test_headlines_count_for_the_first_session_they_precede():
    # 2024-11-29 is a half day (close 13:00); 2024-11-28 is Thanksgiving.
    days = pd.DatetimeIndex(["2024-11-26", "2024-11-27", "2024-11-29", "2024-12-02"])
    stamps = pd.Series([ny("2024-11-26 15:59"), ny("2024-11-26 16:00"), ny("2024-11-28 12:00"),
                        ny("2024-11-29 12:59"), ny("2024-11-29 13:00"), ny("2024-11-30 09:00"),
                        ny("2024-12-02 16:01"), ny("2024-11-25 15:00"), ny("2024-11-25 17:00")])
    got = assign_sessions(stamps, days)
    assert got.tolist() == [0, 1, 2, 2, 3, 3, -1, -1, 0]


def reference_decay(scores_by_day: list[list[float]], halflife: float) -> list[float]:
    """The definition, spelled out: weights 0.5 ** (age / halflife) over every past score."""
    out = []
    for t in range(len(scores_by_day)):
        pairs = [(0.5 ** ((t - k) / halflife), s) for k in range(t + 1) for s in scores_by_day[k]]
        weight = sum(w for w, _ in pairs)
        out.append(sum(w * s for w, s in pairs) / weight if weight else np.nan)
    return out


def test_daily_means_counts_and_decay_match_the_definition():
    days = pd.bdate_range("2024-03-04", periods=8)
    rng = np.random.default_rng(3)
    rows, by_day = [], [[] for _ in days]
    for i in (1, 1, 2, 5):  # headlines during sessions 1, 1, 2, 5 for A; none for B
        rows.append(("A", f"{days[i].date()} 10:{len(rows):02d}", "x"))
        by_day[i].append(float(rng.uniform(-1, 1)))
    scores = score_headlines(news(rows))
    scores["compound"] = [s for day in by_day for s in day]
    feats = sentiment_features(scores, bars_for(["A", "B"], days), halflifes=(3,))
    assert list(feats.columns) == ["symbol", "date", *sentiment_columns((3,))]
    a, b = feats[feats["symbol"] == "A"], feats[feats["symbol"] == "B"]
    assert a["sent_count_1d"].tolist() == [len(d) for d in by_day]
    want_mean = [np.mean(d) if d else np.nan for d in by_day]
    np.testing.assert_allclose(a["sent_mean_1d"], want_mean, rtol=1e-6)
    np.testing.assert_allclose(a["sent_decay_3"], reference_decay(by_day, 3), rtol=1e-6)
    assert b["sent_count_1d"].eq(0).all() and b["sent_decay_3"].isna().all()


def test_later_headlines_never_change_earlier_features(synthetic_market):
    bars = synthetic_market.panel()
    sessions = synthetic_market.sessions
    raw = synthetic_market.headlines(synthetic_market.symbols, sessions[0], sessions[-1]).data
    scores = score_headlines(raw)
    t = sessions[len(sessions) // 2]
    t_close = ny(f"{t.date()} 16:00")
    future = scores["published_at"] >= t_close
    assert future.any() and (~future).any()
    flipped = scores.assign(compound=np.where(future, -scores["compound"], scores["compound"]))
    upto = (bars["date"] <= t).to_numpy()
    base = sentiment_features(scores, bars)
    pd.testing.assert_frame_equal(base[upto], sentiment_features(flipped, bars)[upto])
    assert not base[~upto].equals(sentiment_features(flipped, bars)[~upto])


@pytest.mark.parametrize("empty", ["news", "unknown_symbol"])
def test_no_usable_news_gives_empty_features(empty):
    days = pd.bdate_range("2024-03-04", periods=3)
    rows = [] if empty == "news" else [("ZZZ", "2024-03-04 10:00", "great")]
    feats = sentiment_features(score_headlines(news(rows)), bars_for(["A"], days))
    assert len(feats) == 3 and feats["sent_count_1d"].eq(0).all()
    assert feats["sent_mean_1d"].isna().all()
