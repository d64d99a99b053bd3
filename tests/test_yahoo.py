"""YahooProvider against recorded Yahoo v8 chart payloads, through the real yfinance.

yfinance is handed a real `requests.Session` whose transport answers from the JSON files in
tests/fixtures/yahoo instead of the network; yfinance's own URL building, cookie/crumb
dance, JSON parsing, dividend adjustment and frame assembly all run unchanged.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import requests
from fake_http import Reply, Request, serving
from requests.adapters import BaseAdapter

from aion_core.errors import ProviderError
from aion_core.providers.base import DAILY_COLUMNS, INTRADAY_COLUMNS
from aion_core.providers.yahoo import YahooProvider
from aion_core.retry import Backoff

FIXTURES = Path(__file__).parent / "fixtures" / "yahoo"
CHART = "/v8/finance/chart/"


class RecordedYahoo(BaseAdapter):
    """A requests transport serving Yahoo's chart endpoint from fixture files.

    `status_script[ticker]` lists statuses to answer (e.g. 429s) before the fixture is served.
    """

    def __init__(self, charts: dict[str, str], status_script: dict[str, list[int]] | None = None):
        super().__init__()
        self.charts = charts
        self.status_script = defaultdict(list, status_script or {})
        self.chart_requests: list[tuple[str, dict[str, list[str]]]] = []

    def send(self, request, **kwargs):  # noqa: ARG002 - requests' transport signature
        url = urlsplit(request.url)
        status, body = 404, b""
        if url.hostname == "fc.yahoo.com":
            status = 200
        elif url.path == "/v1/test/getcrumb":
            status, body = 200, b"fixture-crumb"
        elif url.path.startswith("/v10/finance/quoteSummary/"):
            body = (FIXTURES / "quote_summary_not_found.json").read_bytes()
        elif url.path.startswith(CHART):
            ticker = url.path[len(CHART):]
            params = parse_qs(url.query) if url.query else {}
            self.chart_requests.append((ticker, params))
            status, body = self._chart(ticker, params)
        return self._response(request, status, body)

    def _chart(self, ticker: str, params: dict[str, list[str]]) -> tuple[int, bytes]:
        if self.status_script[ticker]:
            return self.status_script[ticker].pop(0), b"Too Many Requests"
        name = self.charts.get(f"{ticker}_{params.get('interval', ['1d'])[0]}")
        if name is None:
            return 404, (FIXTURES / "chart_not_found.json").read_bytes()
        payload = json.loads((FIXTURES / name).read_text())
        if "period1" in params:  # like Yahoo, answer only [period1, period2)
            _window(payload["chart"]["result"][0], int(params["period1"][0]),
                    int(params["period2"][0]))
        return 200, json.dumps(payload).encode()

    @staticmethod
    def _response(request, status: int, body: bytes) -> requests.Response:
        resp = requests.Response()
        resp.status_code, resp._content, resp.request = status, body, request
        resp.url, resp.encoding = request.url, "utf-8"
        resp.headers["Content-Type"] = "application/json"
        return resp

    def close(self) -> None:
        pass


def _window(result: dict, start: int, end: int) -> None:
    keep = [i for i, t in enumerate(result.get("timestamp", [])) if start <= t < end]
    if "timestamp" in result:
        result["timestamp"] = [result["timestamp"][i] for i in keep]
    for block in (*result["indicators"]["quote"], *result["indicators"].get("adjclose", [])):
        for key, values in block.items():
            block[key] = [values[i] for i in keep]


CHARTS = {"AAPL_1d": "chart_AAPL_1d.json", "MSFT_1d": "chart_MSFT_1d.json",
          "EMPTY_1d": "chart_EMPTY_1d.json", "AAPL_1m": "chart_AAPL_1m.json"}


@pytest.fixture(autouse=True)
def _yf_isolated(tmp_path: Path):
    """A fresh yfinance tz/cookie cache and in-process response cache for each test."""
    import yfinance as yf
    from yfinance.data import YfData

    yf.set_tz_cache_location(str(tmp_path / "yf-cache"))
    YfData().cache_get.cache_clear()
    yield
    YfData().cache_get.cache_clear()


def _provider(adapter: RecordedYahoo, sleeps: list[float] | None = None,
              chunk_size: int = 50) -> YahooProvider:
    session = requests.Session()
    session.mount("https://", adapter)
    sleep = sleeps.append if sleeps is not None else (lambda s: None)
    return YahooProvider(session=session, threads=2, chunk_size=chunk_size,
                         backoff=Backoff(attempts=3, base_s=1.0, sleep=sleep))


def _recorded(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["chart"]["result"][0]


def test_daily_bars_match_the_recorded_payload_adjusted_for_dividends():
    provider = _provider(RecordedYahoo(CHARTS))
    result = provider.daily_bars(["AAPL", "msft"], date(2017, 2, 1), date(2017, 2, 28))

    bars = result.data
    assert list(bars.columns) == DAILY_COLUMNS
    assert result.failed == {}
    assert str(bars["date"].dtype) == "datetime64[ns]"
    assert (bars["date"] == bars["date"].dt.normalize()).all()
    rec = _recorded("chart_AAPL_1d.json")
    aapl = bars[bars["symbol"] == "AAPL"].reset_index(drop=True)
    sessions = pd.to_datetime(rec["timestamp"], unit="s", utc=True).tz_convert(
        "America/New_York").tz_localize(None).normalize()
    assert list(aapl["date"]) == list(sessions)
    quote = rec["indicators"]["quote"][0]
    factor = pd.Series(rec["indicators"]["adjclose"][0]["adjclose"]) / pd.Series(quote["close"])
    assert aapl["close"].tolist() == pytest.approx(rec["indicators"]["adjclose"][0]["adjclose"])
    assert aapl["open"].tolist() == pytest.approx((pd.Series(quote["open"]) * factor).tolist())
    assert factor.iloc[0] < 1 and factor.iloc[-1] == 1  # the dividend adjusts the older bars
    assert aapl["volume"].tolist() == pytest.approx(quote["volume"])
    assert set(bars["symbol"]) == {"AAPL", "MSFT"}


def test_chunks_together_give_the_same_bars_as_one_download():
    start, end = date(2017, 2, 1), date(2017, 2, 28)
    whole = _provider(RecordedYahoo(CHARTS)).daily_bars(["AAPL", "MSFT"], start, end).data
    adapter = RecordedYahoo(CHARTS)
    chunked = _provider(adapter, chunk_size=1).daily_bars(["AAPL", "MSFT"], start, end).data
    pd.testing.assert_frame_equal(chunked, whole)


def test_end_is_inclusive_and_start_is_respected():
    provider = _provider(RecordedYahoo(CHARTS))
    bars = provider.daily_bars(["AAPL"], date(2017, 2, 6), date(2017, 2, 10)).data
    assert bars["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2017-02-06", "2017-02-07", "2017-02-08", "2017-02-09", "2017-02-10"]


def test_missing_and_empty_symbols_are_failures_with_reasons():
    provider = _provider(RecordedYahoo(CHARTS))
    result = provider.daily_bars(["AAPL", "ZZZZ", "EMPTY"], date(2017, 2, 1), date(2017, 2, 28))

    assert set(result.data["symbol"]) == {"AAPL"}
    assert set(result.failed) == {"ZZZZ", "EMPTY"}
    assert "not found" in result.failed["ZZZZ"]
    assert "no price data" in result.failed["EMPTY"]


def test_rate_limited_symbol_is_retried_with_growing_waits():
    adapter = RecordedYahoo(CHARTS, status_script={"MSFT": [429, 429]})
    sleeps: list[float] = []
    result = _provider(adapter, sleeps).daily_bars(["AAPL", "MSFT"], date(2017, 2, 1),
                                                   date(2017, 2, 28))

    assert result.failed == {}
    assert set(result.data["symbol"]) == {"AAPL", "MSFT"}
    assert sleeps == [1.0]
    # the retry asked again for MSFT only
    assert sum(1 for t, _ in adapter.chart_requests if t == "AAPL") < sum(
        1 for t, _ in adapter.chart_requests if t == "MSFT")


def test_persistent_rate_limit_becomes_a_clear_per_symbol_error():
    adapter = RecordedYahoo(CHARTS, status_script={"MSFT": [429] * 50})
    sleeps: list[float] = []
    result = _provider(adapter, sleeps).daily_bars(["AAPL", "MSFT"], date(2017, 2, 1),
                                                   date(2017, 2, 28))

    assert set(result.data["symbol"]) == {"AAPL"}
    assert "rate limited" in result.failed["MSFT"] and "3 tries" in result.failed["MSFT"]
    assert sleeps == [1.0, 2.0]


def test_nothing_delivered_raises_provider_error_listing_failures():
    provider = _provider(RecordedYahoo(CHARTS))
    with pytest.raises(ProviderError) as info:
        provider.daily_bars(["ZZZZ", "EMPTY"], date(2017, 2, 1), date(2017, 2, 28))
    assert set(info.value.failures) == {"ZZZZ", "EMPTY"}
    assert "ZZZZ" in str(info.value)


def test_intraday_for_unknown_symbols_raises_provider_error():
    with pytest.raises(ProviderError) as info:
        _provider(RecordedYahoo(CHARTS)).intraday_bars(["ZZZZ"], date(2014, 6, 5))
    assert "not found" in info.value.failures["ZZZZ"]


def test_intraday_bars_are_utc_bar_starts():
    provider = _provider(RecordedYahoo(CHARTS))
    result = provider.intraday_bars(["AAPL"], date(2014, 6, 5))

    bars = result.data
    assert list(bars.columns) == INTRADAY_COLUMNS
    rec = _recorded("chart_AAPL_1m.json")
    expected = pd.to_datetime(rec["timestamp"], unit="s", utc=True)
    assert list(bars["ts"]) == list(expected)
    assert str(bars["ts"].dt.tz) == "UTC"
    assert bars["ts"].iloc[0] == pd.Timestamp("2014-06-05 13:30", tz="UTC")  # 09:30 New York
    assert bars["close"].tolist() == pytest.approx(rec["indicators"]["quote"][0]["close"])


class ToLocalPort(requests.adapters.HTTPAdapter):
    """A real transport whose every request goes to a port on 127.0.0.1, through yfinance
    unchanged: a closed port is the network as a machine without one sees it (connection
    refused); a FakeHTTPServer's port is a Yahoo that answers (or stalls) as scripted."""

    def __init__(self, port: int) -> None:
        super().__init__(max_retries=0)
        self.port = port

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.url = parts._replace(scheme="http", netloc=f"127.0.0.1:{self.port}").geturl()
        return super().send(request, **kwargs)


def test_no_network_is_one_line_per_cause_not_a_traceback(caplog):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = requests.Session()
    session.mount("https://", ToLocalPort(port))
    provider = YahooProvider(session=session, threads=1,
                             backoff=Backoff(attempts=1, base_s=0.0, sleep=lambda s: None))
    with caplog.at_level("DEBUG"), pytest.raises(ProviderError) as caught:
        provider.daily_bars(["AAPL", "MSFT"], date(2024, 1, 2), date(2024, 1, 31))
    message = str(caught.value)
    assert "network unreachable" in message and message.count("network unreachable") == 1
    assert "AAPL" in message and "MSFT" in message and "\n" not in message
    assert caught.value.failures["AAPL"].startswith("network unreachable")
    assert not [r for r in caplog.records if r.name.startswith("yfinance")
                and r.levelname == "ERROR" and r.exc_info]


def test_a_silent_yahoo_fails_the_symbol_within_the_time_limit():
    stall_s = 10.0

    def chart(request: Request) -> Reply:
        """The time-zone lookup (yfinance's own fixed 10 s limit) is answered; the bars of
        the window, asked with our limit, never are."""
        if "period1" in request.query:
            return Reply.stalled(stall_s)
        return Reply.json(json.loads((FIXTURES / CHARTS["AAPL_1d"]).read_text()))

    with serving() as server:
        server.route("GET", "/", Reply.text("ok"))  # the cookie, and the network probe
        server.route("GET", "/v1/test/getcrumb", Reply.text("fixture-crumb"))
        server.route("GET", CHART + "AAPL", chart)
        session = requests.Session()
        session.mount("https://", ToLocalPort(int(server.url.rsplit(":", 1)[1])))
        provider = YahooProvider(session=session, threads=1, timeout_s=0.3,
                                 backoff=Backoff(attempts=1, sleep=lambda s: None))
        started = time.monotonic()
        with pytest.raises(ProviderError) as caught:
            provider.daily_bars(["AAPL"], date(2024, 1, 2), date(2024, 1, 31))
        took = time.monotonic() - started
        asked = server.requests_to(CHART + "AAPL")
    assert took < stall_s / 2 and sum("period1" in r.query for r in asked) == 1
    assert set(caught.value.failures) == {"AAPL"}
