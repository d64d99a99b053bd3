"""1-minute (and daily) bars and news headlines from Alpaca's market-data API via alpaca-py.

alpaca-py follows `next_page_token` pagination and retries HTTP 429/504 itself (three
times, a fixed wait); what it finally raises is sorted here by what the caller should do:
refused keys are a ConfigurationError naming the settings, a rate limit or outage that
outlasted the retries is a TemporaryError, and an answer that does not parse is a DataError.
A symbol Alpaca has no bars for is that symbol's failure, never a silent gap.

alpaca-py sets no timeout on its requests, so a server that goes silent would block the
intraday cycle forever; each client here waits at most retry.HTTP_TIMEOUT_S (or `timeout_s`),
and the silence becomes a TemporaryError like any outage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import ValidationError

from aion_core.errors import ConfigurationError, DataError, ProviderError, TemporaryError
from aion_core.market_hours import session_open_close
from aion_core.providers.base import DAILY_COLUMNS, INTRADAY_COLUMNS, NEWS_COLUMNS, FetchResult
from aion_core.retry import http_timeout, time_limited

T = TypeVar("T")
NEW_YORK = ZoneInfo("America/New_York")
_KEYS = "ALPACA_API_KEY / ALPACA_SECRET_KEY"


def _require_keys(api_key: str, secret_key: str) -> None:
    for name, value in (("ALPACA_API_KEY", api_key), ("ALPACA_SECRET_KEY", secret_key)):
        if not value:
            raise ConfigurationError(f"{name} is not set: add it to .env or the environment")


def _call(what: str, fn: Callable[[], T]) -> T:
    """Run one alpaca-py call, turning its exceptions into errors typed by what to do."""
    from alpaca.common.exceptions import APIError

    try:
        return fn()
    except APIError as exc:
        status = exc.status_code
        if status in (401, 403):
            raise ConfigurationError(f"Alpaca refused the keys (HTTP {status}): check {_KEYS}")\
                from exc
        if status in (429, 500, 502, 503, 504):
            raise TemporaryError(f"Alpaca {what}: HTTP {status} after its retries") from exc
        raise DataError(f"Alpaca {what}: HTTP {status}: {str(exc)[:200]}") from exc
    except (ValidationError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"Alpaca {what}: malformed answer ({str(exc).splitlines()[0][:200]})")\
            from exc
    except OSError as exc:  # connection refused, DNS, timeouts (requests' errors are OSErrors)
        raise TemporaryError(f"Alpaca {what}: unreachable or silent ({exc})") from exc


def _call_for(symbols: Sequence[str], what: str, fn: Callable[[], T]) -> T:
    """`_call`, with a failure of the whole request charged to every symbol in it."""
    try:
        return _call(what, fn)
    except (TemporaryError, DataError) as exc:
        raise ProviderError(str(exc), {s.upper(): str(exc) for s in symbols}) from exc


class AlpacaMarketData:
    """MarketDataProvider over `StockHistoricalDataClient` (IEX feed: free keys get it).

    `self.client` is the alpaca-py client, so its retry wait can be tuned (tests set
    `client._retry_wait = 0`).
    """

    name = "alpaca"

    def __init__(self, api_key: str, secret_key: str, url_override: str | None = None,
                 timeout_s: float | None = None) -> None:
        _require_keys(api_key, secret_key)
        from alpaca.data.historical import StockHistoricalDataClient

        self.client = StockHistoricalDataClient(api_key, secret_key, url_override=url_override)
        time_limited(self.client._session, http_timeout(timeout_s))  # no public option

    def intraday_bars(self, symbols: Sequence[str], day: date) -> FetchResult:
        """INTRADAY_COLUMNS: regular-hours 1-minute bars of session `day`.

        `ts` is the bar's START (Alpaca's `t`), tz-aware UTC; volume in shares.
        """
        from alpaca.data.timeframe import TimeFrame

        open_utc, close_utc = session_open_close(day)
        bars = self._bars(symbols, TimeFrame.Minute, open_utc.to_pydatetime(),
                          (close_utc - pd.Timedelta(minutes=1)).to_pydatetime())
        bars = bars[(bars["ts"] >= open_utc) & (bars["ts"] < close_utc)]
        return _result(bars[INTRADAY_COLUMNS], symbols, f"no 1-minute bars on {day}")

    def daily_bars(self, symbols: Sequence[str], start: date, end: date) -> FetchResult:
        """DAILY_COLUMNS for sessions in [start, end], split- and dividend-adjusted."""
        from alpaca.data.timeframe import TimeFrame

        bars = self._bars(symbols, TimeFrame.Day, datetime.combine(start, time(), NEW_YORK),
                          datetime.combine(end, time(23, 59), NEW_YORK))
        bars["date"] = (bars["ts"].dt.tz_convert(NEW_YORK).dt.tz_localize(None).dt.normalize()
                        .astype("datetime64[ns]"))
        return _result(bars[DAILY_COLUMNS], symbols, f"no daily bars in {start} .. {end}")

    def _bars(self, symbols: Sequence[str], timeframe: Any, start: datetime,
              end: datetime) -> pd.DataFrame:
        """Long frame `symbol, ts (UTC), open, high, low, close, volume`."""
        from alpaca.data.enums import Adjustment, DataFeed
        from alpaca.data.requests import StockBarsRequest

        request = StockBarsRequest(symbol_or_symbols=list(symbols), timeframe=timeframe,
                                   start=start, end=end, feed=DataFeed.IEX,
                                   adjustment=Adjustment.ALL)
        frame = _call_for(symbols, "bars", lambda: self.client.get_stock_bars(request).df)
        if frame.empty:
            return pd.DataFrame(columns=["symbol", "ts", "open", "high", "low", "close",
                                         "volume"])
        frame = frame.reset_index().rename(columns={"timestamp": "ts"})
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        frame[["open", "high", "low", "close", "volume"]] = frame[
            ["open", "high", "low", "close", "volume"]].astype(float)
        return frame.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)


class AlpacaNews:
    """NewsProvider over alpaca-py's `NewsClient` (Benzinga headlines)."""

    name = "alpaca"

    def __init__(self, api_key: str, secret_key: str, url_override: str | None = None,
                 timeout_s: float | None = None) -> None:
        _require_keys(api_key, secret_key)
        from alpaca.data.historical.news import NewsClient

        self.client = NewsClient(api_key, secret_key, url_override=url_override)
        time_limited(self.client._session, http_timeout(timeout_s))  # no public option

    def headlines(self, symbols: Sequence[str], start: date, end: date) -> FetchResult:
        """NEWS_COLUMNS: one row per (article, requested symbol it names), published on New
        York dates [start, end]; `published_at` tz-aware UTC.

        A symbol without news is normal, not a failure; `failed` stays empty unless the call
        itself fails (then ProviderError).
        """
        from alpaca.data.requests import NewsRequest

        wanted = {s.upper() for s in symbols}
        request = NewsRequest(symbols=",".join(sorted(wanted)),
                              start=datetime.combine(start, time(), NEW_YORK),
                              end=datetime.combine(end + timedelta(days=1), time(), NEW_YORK)
                              - timedelta(seconds=1))
        articles = _call_for(sorted(wanted), "news",
                             lambda: self.client.get_news(request).data.get("news", []))
        rows = [{"symbol": sym, "published_at": a.created_at, "headline": a.headline,
                 "source": a.source} for a in articles for sym in a.symbols if sym in wanted]
        frame = pd.DataFrame(rows, columns=NEWS_COLUMNS)
        frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
        frame = frame.drop_duplicates().sort_values(["published_at", "symbol"], kind="stable")
        return FetchResult(frame.reset_index(drop=True), {})


def _result(bars: pd.DataFrame, symbols: Sequence[str], empty_reason: str) -> FetchResult:
    failed = {s.upper(): f"Alpaca (IEX feed): {empty_reason}" for s in symbols
              if s.upper() not in set(bars["symbol"])}
    if bars.empty:
        raise ProviderError(f"Alpaca delivered nothing: {empty_reason}", failed)
    return FetchResult(bars.reset_index(drop=True), failed)
