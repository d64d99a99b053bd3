"""The synthetic market: calendar, consistency, determinism, planted signal, macro, news,
1-minute bars, and the provider contract (unknown items go to `failed`)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from aion_core import market_hours
from aion_core.config import resolve
from aion_core.errors import ConfigurationError, ProviderError
from aion_core.providers.base import (
    DAILY_COLUMNS,
    INTRADAY_COLUMNS,
    MACRO_COLUMNS,
    NEWS_COLUMNS,
)
from aion_core.providers.synthetic import (
    MACRO_SERIES,
    PLANTED_RANK_IC_1W,
    SyntheticMarket,
    SyntheticSpec,
    make_symbols,
)
from aion_core.providers.synthetic_news import NEGATIVE, NEUTRAL, POSITIVE

END = date(2026, 11, 20)
EARLY_CLOSE = pd.Timestamp("2025-11-28")   # the day after Thanksgiving: closes at 13:00


def market(**kw: object) -> SyntheticMarket:
    spec = {"n_symbols": 6, "years": 1.0, "seed": 7, "intraday_days": 1, "end": END, **kw}
    return SyntheticMarket(SyntheticSpec(**spec))


def wide(panel: pd.DataFrame, column: str) -> pd.DataFrame:
    """(date x symbol) view of one column of a long bars frame."""
    return panel.pivot(index="date", columns="symbol", values=column)


def mean_rank_ic(score: pd.DataFrame, fwd: pd.DataFrame) -> float:
    """Mean over dates of the cross-sectional Spearman correlation (both date x symbol)."""
    return float(score.rank(axis=1).corrwith(fwd.rank(axis=1), axis=1).dropna().mean())


# --------------------------------------------------------------------------- daily bars


def test_bars_lie_on_nyse_sessions_only(synthetic_market: SyntheticMarket) -> None:
    panel = synthetic_market.panel()
    assert list(panel.columns) == DAILY_COLUMNS
    expected = market_hours.sessions(synthetic_market.sessions[0], END)
    assert synthetic_market.sessions.equals(expected)
    for _, bars in panel.groupby("symbol"):
        assert pd.DatetimeIndex(bars["date"]).equals(expected)
    assert str(panel["date"].dtype) == "datetime64[ns]"
    assert panel.equals(panel.sort_values(["symbol", "date"]).reset_index(drop=True))


def test_ohlc_is_consistent_and_positive(synthetic_market: SyntheticMarket) -> None:
    p = synthetic_market.panel()
    assert (p[["open", "high", "low", "close"]] > 0).all().all()
    assert (p["low"] <= p[["open", "close"]].min(axis=1)).all()
    assert (p["high"] >= p[["open", "close"]].max(axis=1)).all()
    assert (p["volume"] > 0).all() and p["volume"].dtype == np.int64
    assert p["close"].between(0.05, 50_000).all()


def test_end_on_a_weekend_ends_at_the_session_before() -> None:
    m = market(end=date(2026, 11, 22))
    assert m.end == pd.Timestamp("2026-11-20") and m.sessions[-1] == m.end
    assert m.panel()["date"].max() == m.end


def test_an_empty_spec_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="n_symbols"):
        market(n_symbols=0)


def test_same_seed_repeats_exactly_and_another_seed_differs() -> None:
    a, b, c = market().panel(), market().panel(), market(seed=8).panel()
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["close"].to_numpy(), c["close"].to_numpy())


def test_history_does_not_depend_on_end_years_or_universe_size() -> None:
    long = market(n_symbols=9, years=2.0)
    short = market(end=date(2026, 3, 2), years=0.5)
    assert long.symbols[:6] == short.symbols
    a = long.daily_bars(short.symbols, short.sessions[0], short.end).data
    pd.testing.assert_frame_equal(a, short.panel())
    day = short.sessions[-3]
    pd.testing.assert_frame_equal(long.intraday_bars(short.symbols, day).data,
                                  short.intraday_bars(short.symbols, day).data)
    pd.testing.assert_frame_equal(long.headlines(short.symbols, day, short.end).data,
                                  short.headlines(short.symbols, day, short.end).data)
    macro = long.series(MACRO_SERIES, short.sessions[0], short.end).data.merge(
        short.series(MACRO_SERIES, short.sessions[0], short.end).data,
        on=["series", "date"], how="left", indicator=True)
    assert np.array_equal(macro["value_x"][macro["_merge"] == "both"],
                          macro["value_y"][macro["_merge"] == "both"])
    # only the month still running at the short market's end is missing there
    assert set(macro.loc[macro["_merge"] == "left_only", "date"]) == {pd.Timestamp("2026-03-01")}
    truth = long.truth().merge(short.truth(), on=["date", "symbol"])
    assert len(truth) == len(short.truth())
    assert np.array_equal(truth["signal_x"], truth["signal_y"])


def test_volatility_clusters_and_volume_follows_moves(synthetic_market: SyntheticMarket) -> None:
    p = synthetic_market.panel()
    ret = np.log(wide(p, "close")).diff().iloc[1:]
    size = ret.abs()
    assert size.corrwith(size.shift(1)).mean() > 0.05          # big moves follow big moves
    assert size.corrwith(np.log(wide(p, "volume")).iloc[1:]).mean() > 0.1


def test_tickers_are_unique_realistic_and_path_safe() -> None:
    many = make_symbols(500, seed=7)
    assert len(set(many)) == 500
    assert make_symbols(50, seed=7) == many[:50]
    assert make_symbols(50, seed=8) != many[:50]
    assert all(re.fullmatch(r"[A-Z]{3,4}", s) for s in many)
    root = Path("/r")
    assert all(resolve(root, "raw_daily", symbol=s).parent == root / "raw" / "daily"
               for s in many)


def test_sectors_cover_every_symbol(synthetic_market: SyntheticMarket) -> None:
    assert set(synthetic_market.sectors) == set(synthetic_market.symbols)
    assert len(set(synthetic_market.sectors.values())) > 3


# --------------------------------------------------------------------------- planted signal


@pytest.fixture(scope="module")
def ic_market() -> SyntheticMarket:
    return SyntheticMarket(SyntheticSpec(n_symbols=80, years=2.0, seed=7, intraday_days=0,
                                         end=END))


def test_planted_signal_has_the_documented_rank_ic(ic_market: SyntheticMarket) -> None:
    close = wide(ic_market.panel(), "close")
    fwd = close.shift(-5) / close - 1.0
    signal = ic_market.truth().pivot(index="date", columns="symbol", values="signal")
    ic = mean_rank_ic(signal, fwd)
    assert 0.5 * PLANTED_RANK_IC_1W < ic < 1.6 * PLANTED_RANK_IC_1W
    noise = pd.DataFrame(np.random.default_rng(0).standard_normal(signal.shape),
                         index=signal.index, columns=signal.columns)
    assert abs(mean_rank_ic(noise, fwd)) < 0.5 * PLANTED_RANK_IC_1W


def test_news_tone_recovers_at_least_half_the_signal(ic_market: SyntheticMarket) -> None:
    close = wide(ic_market.panel(), "close")
    fwd = close.shift(-5) / close - 1.0
    signal = ic_market.truth().pivot(index="date", columns="symbol", values="signal")
    news = ic_market.headlines(ic_market.symbols, ic_market.sessions[0], END).data
    vader = SentimentIntensityAnalyzer()
    scores = {h: vader.polarity_scores(h)["compound"] for h in news["headline"].unique()}
    day = news["published_at"].dt.tz_convert("America/New_York").dt.tz_localize(None)
    daily = (news.assign(score=news["headline"].map(scores), date=day.dt.normalize())
             .groupby(["date", "symbol"])["score"].agg(["sum", "count"]).unstack()
             .reindex(close.index).fillna(0.0))
    tone = daily["sum"].ewm(span=20).mean() / daily["count"].ewm(span=20).mean()
    assert mean_rank_ic(tone, fwd) >= 0.5 * mean_rank_ic(signal, fwd)


# --------------------------------------------------------------------------- macro


def test_macro_series_shapes(synthetic_market: SyntheticMarket) -> None:
    m = synthetic_market
    got = m.series(MACRO_SERIES, m.sessions[0], END).data
    assert list(got.columns) == MACRO_COLUMNS and set(got["series"]) == set(MACRO_SERIES)
    by = {sid: obs.set_index("date")["value"] for sid, obs in got.groupby("series")}
    for sid in ("DGS10", "T10Y2Y", "VIXCLS"):
        assert pd.DatetimeIndex(by[sid].index).equals(m.sessions)
    for sid in ("CPIAUCSL", "UNRATE"):
        idx = pd.DatetimeIndex(by[sid].index)
        assert (idx.day == 1).all() and idx.is_monotonic_increasing
        assert idx[-1] == pd.Timestamp("2026-10-01")   # November 2026 is not complete yet
    assert by["DGS10"].between(0.0, 20.0).all() and by["VIXCLS"].min() >= 9.0
    assert by["UNRATE"].between(2.0, 15.0).all() and (by["CPIAUCSL"] > 0).all()


def test_vix_follows_realised_volatility(synthetic_market: SyntheticMarket) -> None:
    m = synthetic_market
    ret = np.log(wide(m.panel(), "close")).diff().mean(axis=1)
    realised = ret.rolling(20).std()
    vix = m.series(["VIXCLS"], m.sessions[0], END).data.set_index("date")["value"]
    assert realised.corr(vix) > 0.5


def test_stressed_days_move_together(synthetic_market: SyntheticMarket) -> None:
    """Regime switches raise correlation: stocks co-move more when the VIX is high."""
    m = synthetic_market
    ret = np.log(wide(m.panel(), "close")).diff().iloc[1:]
    vix = m.series(["VIXCLS"], m.sessions[0], END).data.set_index("date")["value"]
    high = (vix >= vix.quantile(0.8)).reindex(ret.index)

    def mean_pair_corr(frame: pd.DataFrame) -> float:
        c = frame.corr().to_numpy()
        return float(c[np.triu_indices_from(c, 1)].mean())

    assert mean_pair_corr(ret[high]) > mean_pair_corr(ret[~high]) + 0.05


# --------------------------------------------------------------------------- news


def test_templates_read_as_their_tone_to_vader() -> None:
    vader = SentimentIntensityAnalyzer()
    score = [[vader.polarity_scores(t.format(s="ABCD"))["compound"] for t in pool]
             for pool in (POSITIVE, NEGATIVE, NEUTRAL)]
    assert min(score[0]) > 0.25 and max(score[1]) < -0.25 and max(map(abs, score[2])) < 0.1


def test_headlines_shape_rate_and_times(synthetic_market: SyntheticMarket) -> None:
    m = synthetic_market
    news = m.headlines(m.symbols, m.sessions[0], END).data
    assert list(news.columns) == NEWS_COLUMNS and str(news["published_at"].dt.tz) == "UTC"
    per_week = len(news) / len(m.symbols) / (len(m.sessions) / 5)
    assert 1.0 < per_week < 6.0
    ny = news["published_at"].dt.tz_convert("America/New_York")
    assert ny.dt.hour.between(7, 19).all()
    assert ny.dt.tz_localize(None).dt.normalize().isin(m.sessions).all()
    assert all(row.symbol in row.headline for row in news.itertuples())


# --------------------------------------------------------------------------- 1-minute bars


def test_intraday_fits_the_daily_bar_with_u_shaped_volume(
        synthetic_market: SyntheticMarket) -> None:
    m = synthetic_market
    day = m.sessions[-1]
    bars = m.intraday_bars(m.symbols, day).data
    daily = m.daily_bars(m.symbols, day, day).data.set_index("symbol")
    assert list(bars.columns) == INTRADAY_COLUMNS
    open_utc, _ = market_hours.session_open_close(day)
    for sym, b in bars.groupby("symbol"):
        d = daily.loc[sym]
        assert len(b) == 390 and b["ts"].iloc[0] == open_utc
        assert b["low"].min() >= d["low"] and b["high"].max() <= d["high"]
        assert (b["low"] <= b[["open", "close"]].min(axis=1)).all()
        assert (b["high"] >= b[["open", "close"]].max(axis=1)).all()
        assert b["open"].iloc[0] == d["open"] and b["close"].iloc[-1] == d["close"]
        assert b["volume"].sum() == pytest.approx(d["volume"], rel=0.01)
        vol = b["volume"].to_numpy()
        assert min(vol[:30].mean(), vol[-30:].mean()) > 1.5 * vol[180:210].mean()


def test_intraday_any_past_session_repeats_and_honours_early_close(
        synthetic_market: SyntheticMarket) -> None:
    m = synthetic_market
    bars = m.intraday_bars(m.symbols[:2], EARLY_CLOSE).data
    assert (bars.groupby("symbol").size() == 210).all()
    _, close_utc = market_hours.session_open_close(EARLY_CLOSE)
    assert bars["ts"].max() == close_utc - pd.Timedelta(minutes=1)
    pd.testing.assert_frame_equal(bars, market(n_symbols=12, years=2.0).intraday_bars(
        m.symbols[:2], EARLY_CLOSE).data)


# --------------------------------------------------------------------------- provider contract


def test_unknown_items_are_reported_not_dropped(synthetic_market: SyntheticMarket) -> None:
    m = synthetic_market
    got = m.daily_bars([m.symbols[0], "ZZZZZ"], m.sessions[-5], END)
    assert set(got.data["symbol"]) == {m.symbols[0]} and set(got.failed) == {"ZZZZZ"}
    assert set(m.series(["DGS10", "NOPE"], m.sessions[-5], END).failed) == {"NOPE"}
    assert set(m.headlines(["ZZZZZ", m.symbols[1]], m.sessions[-5], END).failed) == {"ZZZZZ"}
    with pytest.raises(ProviderError, match="ZZZZZ"):
        m.daily_bars(["ZZZZZ"], m.sessions[-5], END)
    with pytest.raises(ProviderError, match="not a session"):
        m.intraday_bars(m.symbols, date(2026, 11, 21))
    with pytest.raises(ProviderError):
        m.series(["NOPE"], m.sessions[-5], END)


def test_ranges_clip_to_the_market_window(synthetic_market: SyntheticMarket) -> None:
    m = synthetic_market
    got = m.daily_bars(m.symbols[:1], date(1990, 1, 1), date(2030, 1, 1)).data
    assert pd.DatetimeIndex(got["date"]).equals(m.sessions)
    weekend = m.daily_bars(m.symbols[:1], date(2026, 11, 21), date(2026, 11, 22))
    assert weekend.data.empty and not weekend.failed
