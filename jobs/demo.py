"""`aion demo-data`: fill a data root with the synthetic market, so that a new user without API
keys (and every test) starts from a working, deterministic data set.

Writes, all through aion_core.store: raw_daily (one Parquet per symbol), raw_macro (one
Parquet per series, `date, value`), news_cache (one JSON per New York day with headlines:
`[{symbol, published_at (UTC ISO-8601), headline, source}]`) and DT bars_intraday (one Parquet
per session for the last `intraday_days` sessions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pandas as pd

from aion_core.providers.synthetic import MACRO_SERIES, SyntheticMarket, SyntheticSpec
from aion_core.store import Store
from jobs.progress import progress


def write_demo_data(store: Store, n_symbols: int = 50, years: float = 5, seed: int = 7,
                    intraday_days: int = 5, end: date | None = None) -> str:
    """Write the synthetic market into `store`; returns a one-line summary.

    Files already there are overwritten with identical content for the same arguments
    (the market is deterministic), so running it twice is harmless.
    """
    market = SyntheticMarket(SyntheticSpec(n_symbols=n_symbols, years=years, seed=seed,
                                           intraday_days=intraday_days, end=end))
    first, last = market.sessions[0], market.end
    panel = market.panel()
    news = market.headlines(market.symbols, first, last).data
    macro = market.series(MACRO_SERIES, first.replace(day=1), last).data
    days = market.intraday_days()
    tasks: list[Callable[[], None]] = [
        *(_task(store.write_daily, sym, bars.reset_index(drop=True))
          for sym, bars in panel.groupby("symbol", sort=True)),
        *(_task(store.write_macro, sid, obs[["date", "value"]].reset_index(drop=True))
          for sid, obs in macro.groupby("series", sort=True)),
        *(_task(store.write_news, day, items) for day, items in _news_by_day(news)),
        *(_intraday_task(store, market, day) for day in days),
    ]
    for task in progress(tasks, total=len(tasks), desc="writing demo data"):
        task()
    # Recorded so that later incremental fetches continue this same market.
    store.write_json("synthetic_spec", {"seed": seed, "n_symbols": n_symbols})
    store.record_source("bars", "synthetic", f"aion demo-data: seed {seed}, {n_symbols} symbols",
                        pd.Timestamp.now("UTC").isoformat(timespec="seconds"))
    return (f"synthetic market (seed {seed}): {len(market.symbols)} symbols, "
            f"{len(market.sessions)} sessions {first.date()}..{last.date()}, "
            f"{macro['series'].nunique()} macro series, {len(news)} headlines, "
            f"{len(days)} intraday sessions -> {store.root}")


def _task(fn: Callable[..., None], *args: object) -> Callable[[], None]:
    return lambda: fn(*args)


def _intraday_task(store: Store, market: SyntheticMarket, day: pd.Timestamp
                   ) -> Callable[[], None]:
    def run() -> None:
        bars = market.intraday_bars(market.symbols, day).data
        store.write_minute(day.date(), bars)
    return run


def _news_by_day(news: pd.DataFrame) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Headlines (NEWS_COLUMNS) grouped by New York publication day, as JSON-ready records."""
    ny_day = news["published_at"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d")
    records = news.assign(published_at=news["published_at"].map(lambda t: t.isoformat()))
    for day, items in records.groupby(ny_day, sort=True):
        yield str(day), items[["symbol", "published_at", "headline", "source"]].to_dict("records")
