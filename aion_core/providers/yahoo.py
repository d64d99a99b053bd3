"""Daily (and recent 1-minute) bars from Yahoo Finance through yfinance.

yfinance never raises for a ticker it could not fetch: it logs the reason and leaves the
ticker's columns empty. Trusting its frame alone would turn a delisted symbol, a typo or a
rate limit into a silent hole in the data, so this adapter listens to yfinance's own error
log during each download, retries the rate-limited tickers with exponential backoff, and
reports every other empty ticker in `FetchResult.failed` with Yahoo's reason.

Every request has a time limit: the bar downloads get retry.HTTP_TIMEOUT_S's read limit (or
`timeout_s`); yfinance's own side requests carry its fixed limits (10 s for a ticker's time
zone, 30 s for the cookie and crumb). yfinance hides a download's timeout: the ticker comes
back empty, "possibly delisted; no price data found", and lands in `failed` with that reason.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pandas as pd

from aion_core.errors import DataError, ProviderError, causes
from aion_core.providers.base import DAILY_COLUMNS, INTRADAY_COLUMNS, FetchResult
from aion_core.retry import Backoff, http_timeout

log = logging.getLogger(__name__)

_PRICE_FIELDS = {"Open": "open", "High": "high", "Low": "low", "Close": "close",
                 "Volume": "volume"}
_ERROR_LINE = re.compile(r"^\s*\[(?P<syms>[^\]]*)\]: (?P<reason>.*)$", re.DOTALL)
_NOT_FOUND = re.compile(r"404|Not Found|no timezone found", re.IGNORECASE)
_RATE_LIMIT = re.compile(r"RateLimit|Too Many Requests|Rate limited", re.IGNORECASE)
_NETWORK = re.compile(r"DNSError|Could not resolve host|Failed to connect|Connection refused|"
                      r"Connection reset|NameResolutionError|Failed to resolve|Max retries "
                      r"exceeded|ConnectionError|timed out|Timeout|"
                      r"curl: \((?:5|6|7|28|35|56)\)", re.IGNORECASE)
NETWORK_DOWN = "network unreachable"
PROBE_URL = "https://query2.finance.yahoo.com/"
PROBE_TIMEOUT_S = 5.0
_HOST = re.compile(r"(?:resolve host|connect to|host=')([\w.-]+)")


class _ErrorLog(logging.Handler):
    """Collects yfinance's per-ticker failure lines: `['AAA', 'BBB']: reason`."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.errors: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        match = _ERROR_LINE.match(record.getMessage())
        if match:
            for sym in re.findall(r"'([^']*)'", match["syms"]):
                self.errors[sym.upper()] = match["reason"].strip()


@contextmanager
def _yfinance_errors() -> Iterator[dict[str, str]]:
    handler = _ErrorLog()
    logger = logging.getLogger("yfinance")
    logger.addHandler(handler)
    # Its lines are ours to report, once and in one line per cause, not on stderr too.
    propagate, logger.propagate = logger.propagate, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' deprecation notes about yfinance's code
            yield handler.errors
    finally:
        logger.propagate = propagate
        logger.removeHandler(handler)


class YahooProvider:
    """MarketDataProvider over `yf.download`; prices split- and dividend-adjusted.

    `session` is handed to yfinance (None: its own curl_cffi session); `chunk_size` bounds
    the tickers per download so one rate limit does not sink a 500-symbol universe;
    `timeout_s` shortens each download's time limit (None: retry.HTTP_TIMEOUT_S).
    """

    name = "yfinance"

    def __init__(self, session: Any = None, chunk_size: int = 50, threads: int = 4,
                 backoff: Backoff | None = None, timeout_s: float | None = None) -> None:
        self.session = session
        self.timeout_s = http_timeout(timeout_s)[1]  # yfinance takes one limit for both
        self.chunk_size = chunk_size
        self.threads = threads
        self.backoff = backoff or Backoff()

    def daily_bars(self, symbols: Sequence[str], start: date, end: date) -> FetchResult:
        """DAILY_COLUMNS for sessions in [start, end]; `date` tz-naive session dates.

        Returns a long frame sorted by (symbol, date): prices adjusted floats, volume float
        shares. Raises ProviderError when no symbol at all could be fetched.
        """
        data, failed = self._fetch(symbols, start, end + timedelta(days=1), "1d")
        data = data.rename(columns={"stamp": "date"})
        data["date"] = data["date"].dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
        return FetchResult(data[DAILY_COLUMNS].sort_values(["symbol", "date"])
                           .reset_index(drop=True), failed)

    def intraday_bars(self, symbols: Sequence[str], day: date) -> FetchResult:
        """INTRADAY_COLUMNS: regular-hours 1-minute bars of `day` (Yahoo keeps ~30 days).

        `ts` is the bar's start in UTC, as Yahoo stamps it.
        """
        data, failed = self._fetch(symbols, day, day + timedelta(days=1), "1m")
        data = data.rename(columns={"stamp": "ts"})
        data["ts"] = data["ts"].dt.tz_convert("UTC")
        return FetchResult(data[INTRADAY_COLUMNS].sort_values(["symbol", "ts"])
                           .reset_index(drop=True), failed)

    # ---------------------------------------------------------------------------- internals

    def _fetch(self, symbols: Sequence[str], start: date, end_excl: date,
               interval: str) -> tuple[pd.DataFrame, dict[str, str]]:
        """Long frame `symbol, stamp, open, high, low, close, volume` and the failures.

        Raises ProviderError when not one symbol could be fetched.
        """
        wanted = list(dict.fromkeys(s.strip().upper() for s in symbols if s.strip()))
        frames: list[pd.DataFrame] = []
        failed: dict[str, str] = {}
        for i in range(0, len(wanted), self.chunk_size):
            got, chunk_failed = self._fetch_chunk(wanted[i:i + self.chunk_size], start,
                                                  end_excl, interval)
            frames.append(got)
            failed.update(chunk_failed)
        data = pd.concat(frames, ignore_index=True) if frames else _empty_long()
        if data.empty and failed and not any(r.startswith(NETWORK_DOWN) for r in
                                             failed.values()):
            down = self._unreachable()
            if down:
                failed = dict.fromkeys(failed, down)
        if data.empty:
            raise ProviderError(f"Yahoo delivered nothing for {len(failed)} symbol(s): "
                                + causes(failed), failed)
        return data, failed

    def _unreachable(self) -> str | None:
        """Why Yahoo cannot be reached, or None when it can. Asked when every symbol came
        back empty: with its time-zone cache filled by an earlier online run, yfinance reports
        a machine without network as "possibly delisted" for every ticker."""
        import requests

        try:
            (self.session or requests).get(PROBE_URL, timeout=PROBE_TIMEOUT_S)
        except Exception as exc:  # requests' or curl_cffi's errors, whichever session it is
            return _network_reason(f"{type(exc).__name__}: {exc}")
        return None

    def _fetch_chunk(self, symbols: list[str], start: date, end_excl: date,
                     interval: str) -> tuple[pd.DataFrame, dict[str, str]]:
        """One chunk, re-asking only for the rate-limited tickers after each backoff wait."""
        frames, failed, pending = [], {}, symbols
        for attempt, delay in enumerate([*self.backoff.delays(), None], 1):
            long, errors = self._download(pending, start, end_excl, interval)
            long, inconsistent = _split_inconsistent(long)
            frames.append(long)
            failed.update(inconsistent)
            have = set(long["symbol"]) | set(inconsistent)
            missing = [s for s in pending if s not in have]
            limited = [s for s in missing if _RATE_LIMIT.search(errors.get(s, ""))]
            failed.update({s: _reason(s, errors, start, end_excl)
                           for s in missing if s not in limited})
            if not limited:
                break
            if delay is None:
                failed.update({s: f"rate limited by Yahoo, gave up after {attempt} tries"
                               for s in limited})
                break
            log.warning("Yahoo rate limit on %d symbol(s); retrying in %.1f s", len(limited),
                        delay)
            self.backoff.sleep(delay)
            pending = limited
        return pd.concat(frames, ignore_index=True), failed

    def _download(self, symbols: list[str], start: date, end_excl: date,
                  interval: str) -> tuple[pd.DataFrame, dict[str, str]]:
        import yfinance as yf

        with _yfinance_errors() as errors:
            wide = yf.download(symbols, start=start.isoformat(), end=end_excl.isoformat(),
                               interval=interval, auto_adjust=True, group_by="column",
                               threads=min(self.threads, len(symbols)), progress=False,
                               multi_level_index=True, session=self.session,
                               timeout=self.timeout_s)
        return _to_long(wide), errors


def _network_reason(text: str) -> str | None:
    """'network unreachable (could not reach <host>)' when `text` is a connection error."""
    if not _NETWORK.search(text):
        return None
    host = _HOST.search(text)
    return NETWORK_DOWN + (f" (could not reach {host[1]})" if host else "")


def _reason(sym: str, errors: dict[str, str], start: date, end_excl: date) -> str:
    """One readable line: yfinance's raw errors can be a 404 with a long URL in it."""
    reason = errors.get(sym, "")
    network = _network_reason(reason)
    if network:
        return network
    if _NOT_FOUND.search(reason):
        return "not found on Yahoo: delisted or mistyped symbol"
    if reason:
        return "Yahoo: " + re.sub(r"https?://\S+", "<url>", reason)[:200]
    return f"Yahoo returned no bars for {start} .. {end_excl - timedelta(days=1)}"


def _empty_long() -> pd.DataFrame:
    return pd.DataFrame({"symbol": pd.Series(dtype=str),
                         "stamp": pd.Series(dtype="datetime64[ns]"),
                         **{c: pd.Series(dtype=float) for c in _PRICE_FIELDS.values()}})


def _to_long(wide: pd.DataFrame | None) -> pd.DataFrame:
    """yf.download's (Price, Ticker) columns to one row per (symbol, stamp) with a price.

    Rows without a close are dropped (that is how yfinance pads the tickers it could not
    fetch). Missing price fields mean the answer's shape changed: a DataError, not a guess.
    """
    if wide is None or wide.empty or not isinstance(wide.columns, pd.MultiIndex):
        return _empty_long()
    missing = set(_PRICE_FIELDS) - set(wide.columns.get_level_values(0))
    if missing:
        raise DataError(f"Yahoo's answer lacks the column(s) {sorted(missing)}")
    long = wide[list(_PRICE_FIELDS)].stack(level=1).rename(columns=_PRICE_FIELDS)
    long.index = long.index.set_names(["stamp", "symbol"])
    long = long.reset_index().dropna(subset=["close"])
    long[list(_PRICE_FIELDS.values())] = long[list(_PRICE_FIELDS.values())].astype(float)
    return long[["symbol", "stamp", *_PRICE_FIELDS.values()]]


def _split_inconsistent(long: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Symbols with an impossible bar (high < low, a non-positive price) are set aside."""
    bad = (long["high"] < long["low"]) | long[["open", "close"]].le(0).any(axis=1)
    failed = {
        str(row.symbol): f"Yahoo sent an inconsistent bar at {row.stamp} "
                         "(high < low or a non-positive price)"
        for row in long[bad].drop_duplicates("symbol").itertuples()
    }
    return long[~long["symbol"].isin(list(failed))], failed
