"""Alpaca adapters: the real alpaca-py clients pointed at a local fake of Alpaca's data API."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from fake_http import Reply, Request, serving

from aion_core.errors import ConfigurationError, ProviderError
from aion_core.providers.alpaca import AlpacaMarketData, AlpacaNews
from aion_core.providers.base import INTRADAY_COLUMNS, NEWS_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures" / "alpaca"
BARS, NEWS = "/v2/stocks/bars", "/v1beta1/news"
DAY = date(2019, 2, 11)


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def paged(first: str, second: str) -> callable:
    """Alpaca's pagination: page one names a token, the request carrying it gets page two."""
    token = _load(first)["next_page_token"]

    def answer(request: Request) -> Reply:
        return Reply.json(_load(second if request.query.get("page_token") == [token] else first))
    return answer


@pytest.fixture
def server():
    with serving() as srv:
        yield srv


def _market(server, **kwargs) -> AlpacaMarketData:
    provider = AlpacaMarketData("key-id", "secret", url_override=server.url, **kwargs)
    provider.client._retry_wait = 0
    return provider


def _news(server, **kwargs) -> AlpacaNews:
    provider = AlpacaNews("key-id", "secret", url_override=server.url, **kwargs)
    provider.client._retry_wait = 0
    return provider


def test_a_silent_data_server_is_a_temporary_failure_within_the_time_limit(server):
    stall_s = 10.0
    server.route("GET", BARS, Reply.stalled(stall_s))
    server.route("GET", NEWS, Reply.stalled(stall_s))
    started = time.monotonic()
    with pytest.raises(ProviderError) as bars:
        _market(server, timeout_s=0.3).intraday_bars(["AAPL", "MSFT"], DAY)
    with pytest.raises(ProviderError) as news:
        _news(server, timeout_s=0.3).headlines(["AAPL"], DAY, DAY)
    assert time.monotonic() - started < stall_s / 2
    assert set(bars.value.failures) == {"AAPL", "MSFT"}
    assert "bars: unreachable or silent" in bars.value.failures["AAPL"]
    assert "news: unreachable or silent" in news.value.failures["AAPL"]


def test_intraday_bars_follow_pagination_into_the_contract_schema(server):
    server.route("GET", BARS, paged("bars_1min_page1.json", "bars_1min_page2.json"))
    result = _market(server).intraday_bars(["AAPL", "MSFT"], DAY)

    bars = result.data
    assert list(bars.columns) == INTRADAY_COLUMNS and result.failed == {}
    assert str(bars["ts"].dt.tz) == "UTC"
    recorded = {s: b for page in ("bars_1min_page1.json", "bars_1min_page2.json")
                for s, b in _load(page)["bars"].items() if s == "AAPL"}
    recorded["MSFT"] = (_load("bars_1min_page1.json")["bars"]["MSFT"]
                        + _load("bars_1min_page2.json")["bars"]["MSFT"])
    for sym, raw in recorded.items():
        got = bars[bars["symbol"] == sym]
        assert list(got["ts"]) == list(pd.to_datetime([b["t"] for b in raw], utc=True))
        assert got["close"].tolist() == pytest.approx([b["c"] for b in raw])
        assert got["volume"].tolist() == pytest.approx([b["v"] for b in raw])
    assert bars["ts"].min() == pd.Timestamp("2019-02-11 14:30", tz="UTC")  # 09:30 New York
    first, second = server.requests_to(BARS)
    assert first.query["timeframe"] == ["1Min"] and first.query["feed"] == ["iex"]
    assert first.query["symbols"] == ["AAPL,MSFT"]
    assert first.headers["APCA-API-KEY-ID"] == "key-id"
    assert second.query["page_token"] == [_load("bars_1min_page1.json")["next_page_token"]]


def test_daily_bars_are_adjusted_new_york_session_dates(server):
    bar = {"t": "2019-02-11T05:00:00Z", "o": 171.05, "h": 171.21, "l": 169.25, "c": 169.43,
           "v": 20993425, "n": 128112, "vw": 170.04}
    server.route("GET", BARS, Reply.json({"bars": {"AAPL": [bar]}, "next_page_token": None}))
    bars = _market(server).daily_bars(["AAPL"], DAY, DAY).data

    assert bars["date"].tolist() == [pd.Timestamp("2019-02-11")]
    assert str(bars["date"].dtype) == "datetime64[ns]"
    assert bars[["open", "close"]].iloc[0].tolist() == [bar["o"], bar["c"]]
    sent = server.requests_to(BARS)[0].query
    assert sent["timeframe"] == ["1Day"] and sent["adjustment"] == ["all"]


def test_symbol_without_bars_is_a_failure(server):
    server.route("GET", BARS, paged("bars_1min_page1.json", "bars_1min_page2.json"))
    result = _market(server).intraday_bars(["AAPL", "NODATA"], DAY)
    assert set(result.data["symbol"]) == {"AAPL", "MSFT"}  # the fake serves both anyway
    assert "NODATA" in result.failed and "no 1-minute bars" in result.failed["NODATA"]


def test_rate_limit_outlasting_alpacas_retries_fails_every_symbol(server):
    server.route("GET", BARS, Reply.json({"message": "too many requests."}, 429))
    with pytest.raises(ProviderError) as info:
        _market(server).intraday_bars(["AAPL", "MSFT"], DAY)
    assert set(info.value.failures) == {"AAPL", "MSFT"}
    assert "429" in info.value.failures["AAPL"]
    assert len(server.requests_to(BARS)) == 4  # alpaca-py's own three retries ran


def test_a_429_then_success_is_absorbed(server):
    page = paged("bars_1min_page1.json", "bars_1min_page2.json")
    server.route("GET", BARS, Reply.json({"message": "too many requests."}, 429), page)
    assert not _market(server).intraday_bars(["AAPL"], DAY).data.empty


def test_invalid_symbol_answer_is_a_clear_error(server):
    server.route("GET", BARS, Reply.json(_load("error_invalid_symbol.json"), 400))
    with pytest.raises(ProviderError, match="invalid symbol"):
        _market(server).intraday_bars(["ZZ$"], DAY)


def test_refused_keys_name_the_settings(server):
    server.route("GET", BARS, Reply.json({"message": "forbidden."}, 403))
    with pytest.raises(ConfigurationError, match="ALPACA_API_KEY"):
        _market(server).intraday_bars(["AAPL"], DAY)


def test_malformed_answer_is_a_data_error(server):
    server.route("GET", BARS, Reply.json({"unexpected": []}))
    with pytest.raises(ProviderError, match="malformed"):
        _market(server).intraday_bars(["AAPL"], DAY)


def test_missing_keys_name_the_setting():
    with pytest.raises(ConfigurationError, match="ALPACA_SECRET_KEY"):
        AlpacaNews("key-id", "")


def test_headlines_one_row_per_requested_symbol(server):
    server.route("GET", NEWS, paged("news_page1.json", "news_page2.json"))
    result = _news(server).headlines(["aapl", "MSFT"], DAY, DAY)

    news = result.data
    assert list(news.columns) == NEWS_COLUMNS
    assert str(news["published_at"].dt.tz) == "UTC"
    articles = _load("news_page1.json")["news"] + _load("news_page2.json")["news"]
    expected = sorted((s, a["headline"]) for a in articles for s in a["symbols"]
                      if s in {"AAPL", "MSFT"})
    assert sorted(zip(news["symbol"], news["headline"], strict=True)) == expected
    assert "QQQ" not in set(news["symbol"])
    sent = server.requests_to(NEWS)[0].query
    assert sent["symbols"] == ["AAPL,MSFT"]
    # New York day bounds: 2019-02-11 00:00 EST = 05:00 UTC
    assert pd.Timestamp(sent["start"][0]) == pd.Timestamp("2019-02-11 05:00", tz="UTC")
    assert pd.Timestamp(sent["end"][0]) < pd.Timestamp("2019-02-12 05:00", tz="UTC")


def test_news_error_is_a_provider_error(server):
    server.route("GET", NEWS, Reply.json({"message": "internal error"}, 500))
    with pytest.raises(ProviderError) as info:
        _news(server).headlines(["AAPL"], DAY, DAY)
    assert set(info.value.failures) == {"AAPL"}
