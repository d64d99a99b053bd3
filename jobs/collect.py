"""Step 1 of the nightly job: bring raw_daily, raw_macro and news_cache up to `end`.

Incremental and loss-free: each symbol is asked only for the sessions after its last stored
bar (a new symbol for DEFAULT_LOOKBACK_YEARS), the new rows are appended to what is stored
and the file is replaced atomically through aion_core.store; a stored row is never dropped or
rewritten, and a symbol whose fetch fails keeps its file untouched. Only daily bars are
required downstream: macro and news failures are reported in the CollectReport, not raised.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from aion_core import market_hours
from aion_core.config import Settings
from aion_core.errors import (
    ConfigurationError,
    DataError,
    ProviderError,
    TemporaryError,
    causes,
)
from aion_core.providers.base import DAILY_COLUMNS, MacroProvider, MarketDataProvider, NewsProvider
from aion_core.store import Store
from jobs.progress import progress as track

log = logging.getLogger(__name__)

DEFAULT_LOOKBACK_YEARS = 10
"""History fetched for a symbol or macro series the data root does not hold yet."""
NEWS_LOOKBACK_DAYS = 30
"""Headlines fetched when the data root holds no news at all."""
BATCH_SIZE = 50
"""Symbols per provider call: small enough for progress to move, big enough to be cheap."""
DEFAULT_MACRO_SERIES = ("DGS10", "T10Y2Y", "VIXCLS", "CPIAUCSL", "UNRATE")
"""FRED ids kept up to date besides any already stored (the synthetic market's five)."""

EMPTY_ROOT = ("the data root {root} holds no daily bars: fill it with `aion demo-data` (the "
              "synthetic market) or `aion import bars FILE...` (your own), or set "
              "AION_PROVIDER=yfinance and AION_UNIVERSE")
"""What every job says when it finds no bars to work on."""
Providers = tuple[MarketDataProvider, MacroProvider | None, NewsProvider | None]
_FETCH_ERRORS = (ProviderError, DataError, TemporaryError)


@dataclass
class CollectReport:
    """What one collection did. `failed` keys: a symbol, `macro:<ID>` or `news`."""

    symbols: list[str] = field(default_factory=list)
    fetched: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    macro_updated: list[str] = field(default_factory=list)
    news_days: list[str] = field(default_factory=list)

    @property
    def rows_added(self) -> int:
        return sum(self.fetched.values())

    @property
    def partial(self) -> bool:
        """Something asked for could not be fetched (stored data is intact either way)."""
        return bool(self.failed)

    @property
    def daily_failed(self) -> dict[str, str]:
        return {k: v for k, v in self.failed.items() if not k.startswith(("macro:", "news"))}

    def summary(self) -> str:
        return (f"collect: {len(self.fetched)}/{len(self.symbols)} symbols updated "
                f"(+{self.rows_added} rows), {len(self.macro_updated)} macro series, "
                f"{len(self.news_days)} news days"
                + (f"; {len(self.failed)} failed: {causes(self.failed)}" if self.failed else ""))


# --------------------------------------------------------------------------- providers


def make_providers(settings: Settings, n_synthetic: int | None = None,
                   seed: int | None = None) -> Providers:
    """The configured (market, macro, news) providers; macro/news None when keys are absent.

    `n_synthetic` sizes the synthetic market (its symbol list is prefix-stable, so a larger
    market still holds a smaller one's symbols); `seed` must be the one the data root was
    made with (`aion demo-data` records it), or fetched bars would continue another market.
    """
    if settings.aion_provider == "synthetic":
        from aion_core.providers.synthetic import SyntheticMarket, SyntheticSpec

        seeded = {} if seed is None else {"seed": seed}
        market = SyntheticMarket(SyntheticSpec(n_symbols=max(n_synthetic or 0, 50), **seeded))
        return market, market, market
    from aion_core.providers.yahoo import YahooProvider

    macro = news = None
    if settings.fred_api_key:
        from aion_core.providers.fred import FredProvider

        macro = FredProvider(settings.fred_api_key)
    if settings.alpaca_api_key and settings.alpaca_secret_key:
        from aion_core.providers.alpaca import AlpacaNews

        news = AlpacaNews(settings.alpaca_api_key, settings.alpaca_secret_key,
                          url_override=settings.alpaca_url)
    return YahooProvider(), macro, news


def resolve_universe(store: Store, settings: Settings, market: MarketDataProvider) -> list[str]:
    """AION_UNIVERSE, else the symbols already stored.

    The synthetic market only continues a root it filled itself: it never fills an empty
    root (a mistyped --data-dir would train on a fake market) nor adds fake bars to imported
    or fetched ones."""
    if market.name == "synthetic" and not store.is_synthetic():
        raise ConfigurationError(
            f"{EMPTY_ROOT.format(root=store.root)}" if not store.daily_symbols() else
            f"the data root {store.root} holds {', '.join(store.bars_sources())} bars, which "
            "the synthetic provider does not extend: run with --skip-fetch, or set "
            "AION_PROVIDER=yfinance")
    if settings.universe:
        return settings.universe
    stored = store.daily_symbols()
    if stored:
        return stored
    raise ConfigurationError("no symbols to collect: set AION_UNIVERSE (comma-separated, "
                             "e.g. AAPL,MSFT,SPY) in .env or the environment")


def universe_left_out(store: Store, job: str) -> dict[str, str]:
    """AION_UNIVERSE's symbols without daily bars, each with why (Store.universe_symbols,
    which the job's bars are read through), named once in `job`'s log; {} without a
    universe; ConfigurationError naming AION_UNIVERSE when none of its symbols has bars."""
    missing: dict[str, str] = {}
    if store.universe:
        store.universe_symbols(missing)
    if missing:
        log.warning("%s: %d symbol(s) of AION_UNIVERSE left out, no daily bars in the data "
                    "root: %s", job, len(missing), ", ".join(missing))
    return missing


# --------------------------------------------------------------------------- collect


def collect(store: Store, settings: Settings, end: date, providers: Providers | None = None,
            progress: bool = True) -> CollectReport:
    """Fetch what is new up to session `end` (inclusive) into the data root; see the module doc.

    Raises ConfigurationError (no universe, missing key); every fetch failure is reported.
    """
    if providers is None:
        recorded = store.read_json("synthetic_spec") or {}
        providers = make_providers(settings, n_synthetic=len(store.daily_symbols()),
                                   seed=recorded.get("seed"))
    market, macro, news = providers
    report = CollectReport(symbols=resolve_universe(store, settings, market))
    _collect_daily(store, market, report, end, progress)
    if report.daily_failed and not report.fetched:
        raise ProviderError(f"{market.name} delivered no daily bars for any of "
                            f"{len(report.daily_failed)} symbol(s): "
                            f"{causes(report.daily_failed)}", report.failed)
    if report.fetched:
        store.record_source("bars", market.name, report.summary(),
                            pd.Timestamp.now("UTC").isoformat(timespec="seconds"))
    if macro is not None:
        _collect_macro(store, macro, report, end)
    if news is not None:
        _collect_news(store, news, report, end)
    log.info(report.summary())
    return report


def _lookback_start(end: date, years: int) -> date:
    first = market_hours.calendar().first_session.date()
    return max(first, (pd.Timestamp(end) - pd.DateOffset(years=years)).date())


def _next_fetch_start(last: pd.Timestamp | None, end: date) -> date:
    if last is None:
        return _lookback_start(end, DEFAULT_LOOKBACK_YEARS)
    return (last + pd.Timedelta(days=1)).date()


def _last_date(frame: pd.DataFrame | None) -> pd.Timestamp | None:
    return None if frame is None or frame.empty else pd.Timestamp(frame["date"].max())


def _batches(store: Store, symbols: Sequence[str], end: date) -> list[tuple[date, list[str]]]:
    """(start, symbols) groups with something to fetch: symbols sharing a start go together."""
    by_start: dict[date, list[str]] = defaultdict(list)
    for sym in symbols:
        start = _next_fetch_start(_last_date(store.read_daily(sym)), end)
        if start <= end and len(market_hours.sessions(start, end)):
            by_start[start].append(sym)
    return [(start, syms[i:i + BATCH_SIZE]) for start, syms in sorted(by_start.items())
            for i in range(0, len(syms), BATCH_SIZE)]


def _collect_daily(store: Store, market: MarketDataProvider, report: CollectReport,
                   end: date, progress: bool) -> None:
    batches = _batches(store, report.symbols, end)
    shown: Iterable = track(batches, len(batches), "collecting daily bars") if progress \
        else batches
    for start, symbols in shown:
        try:
            result = market.daily_bars(symbols, start, end)
            _check_columns(result.data, DAILY_COLUMNS, f"{market.name} daily bars")
        except _FETCH_ERRORS as exc:
            report.failed.update(_failures(exc, symbols))
            continue
        report.failed.update({s: r for s, r in result.failed.items() if s in symbols})
        for sym, bars in result.data.groupby("symbol", sort=True):
            added = _append_daily(store, str(sym), bars)
            if added:
                report.fetched[str(sym)] = added


def _append_daily(store: Store, symbol: str, bars: pd.DataFrame) -> int:
    """Append the rows dated after the stored last session; returns how many were added.

    The file is read again right here, so rows stored since the batch was planned survive.
    """
    old = store.read_daily(symbol)
    last = _last_date(old)
    new = bars[DAILY_COLUMNS].assign(date=pd.to_datetime(bars["date"]).astype("datetime64[ns]"))
    if last is not None:
        new = new[new["date"] > last]
    new = new.drop_duplicates("date", keep="last").sort_values("date")
    if new.empty:
        return 0
    merged = new if old is None else pd.concat([old, new], ignore_index=True)
    store.write_daily(symbol, merged.reset_index(drop=True))
    return len(new)


def _collect_macro(store: Store, macro: MacroProvider, report: CollectReport,
                   end: date) -> None:
    ids = sorted(set(store.macro_series_ids()) | set(DEFAULT_MACRO_SERIES))
    by_start: dict[date, list[str]] = defaultdict(list)
    for sid in ids:
        start = _next_fetch_start(_last_date(store.read_macro(sid)), end)
        if start <= end:
            by_start[start].append(sid)
    for start, group in sorted(by_start.items()):
        try:
            result = macro.series(group, start, end)
            _check_columns(result.data, ["series", "date", "value"], f"{macro.name} macro")
        except _FETCH_ERRORS as exc:
            report.failed.update({f"macro:{k}": v for k, v in _failures(exc, group).items()})
            continue
        report.failed.update({f"macro:{k}": v for k, v in result.failed.items()})
        for sid, obs in result.data.groupby("series", sort=True):
            if _append_macro(store, str(sid), obs):
                report.macro_updated.append(str(sid))


def _append_macro(store: Store, sid: str, obs: pd.DataFrame) -> bool:
    old = store.read_macro(sid)
    last = _last_date(old)
    new = obs[["date", "value"]].assign(date=pd.to_datetime(obs["date"]).astype("datetime64[ns]"))
    new = new[new["date"] > last] if last is not None else new
    new = new.dropna(subset=["value"]).drop_duplicates("date", keep="last").sort_values("date")
    if new.empty:
        return False
    merged = new if old is None else pd.concat([old, new], ignore_index=True)
    store.write_macro(sid, merged.reset_index(drop=True))
    return True


def _collect_news(store: Store, news: NewsProvider, report: CollectReport, end: date) -> None:
    days = store.news_days()
    # Re-read the last stored day: it may have been collected before the day was over.
    start = date.fromisoformat(days[-1]) if days else end - timedelta(days=NEWS_LOOKBACK_DAYS)
    try:
        result = news.headlines(report.symbols, start, end)
        _check_columns(result.data, ["symbol", "published_at", "headline", "source"],
                       f"{news.name} news")
    except _FETCH_ERRORS as exc:
        report.failed["news"] = str(exc)
        return
    for day, items in _news_records_by_day(result.data):
        if store.merge_news(day, items):
            report.news_days.append(day)


def _news_records_by_day(news: pd.DataFrame) -> list[tuple[str, list[dict[str, Any]]]]:
    """NEWS_COLUMNS frame -> (New York day, JSON-ready records with UTC ISO timestamps)."""
    if news.empty:
        return []
    stamps = pd.to_datetime(news["published_at"], utc=True)
    records = news.assign(published_at=stamps.map(lambda t: t.isoformat()))
    ny_day = stamps.dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d")
    cols = ["symbol", "published_at", "headline", "source"]
    return [(str(day), items[cols].to_dict("records"))
            for day, items in records.groupby(ny_day, sort=True)]


def _check_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what}: the provider's frame lacks column(s) {missing}")


def _failures(exc: Exception, items: Sequence[str]) -> dict[str, str]:
    """Per-item reasons of a failed call: the provider's own when it gave them."""
    given: dict[str, str] = getattr(exc, "failures", {}) or {}
    return {i: given.get(i, str(exc)) for i in items}

