"""jobs/demo.py: the demo data set lands in the contract's files, readable through Store."""

from __future__ import annotations

from datetime import date

import pandas as pd

from aion_core.providers.synthetic import MACRO_SERIES, SyntheticMarket, SyntheticSpec
from aion_core.store import Store, read_parquet
from jobs.demo import write_demo_data


def test_demo_root_holds_every_contract_file(demo_root: Store,
                                             synthetic_market: SyntheticMarket) -> None:
    m = synthetic_market
    assert demo_root.daily_symbols() == sorted(m.symbols)
    bars = demo_root.read_daily(m.symbols[0])
    assert list(bars.columns) == ["symbol", "date", "open", "high", "low", "close", "volume"]
    assert pd.DatetimeIndex(bars["date"]).equals(m.sessions)
    assert demo_root.macro_series_ids() == sorted(MACRO_SERIES)
    assert list(demo_root.read_macro("VIXCLS").columns) == ["date", "value"]
    for day in m.intraday_days():
        intraday = read_parquet(demo_root.path("bars_intraday", day=day.date()))
        assert set(intraday["symbol"]) == set(m.symbols)
        assert str(intraday["ts"].dt.tz) == "UTC"


def test_news_files_are_per_new_york_day(demo_root: Store) -> None:
    days = demo_root.news_days()
    assert len(days) > 100
    for day in days[:: max(1, len(days) // 20)]:
        items = demo_root.read_news(day)
        assert items and set(items[0]) == {"symbol", "published_at", "headline", "source"}
        ny = {pd.Timestamp(i["published_at"]).tz_convert("America/New_York").strftime("%Y-%m-%d")
              for i in items}
        assert ny == {day}
        assert all(pd.Timestamp(i["published_at"]).utcoffset() == pd.Timedelta(0)
                   for i in items)


def test_demo_panel_matches_the_market(demo_root: Store,
                                       synthetic_market: SyntheticMarket) -> None:
    stored = demo_root.read_daily_panel()
    pd.testing.assert_frame_equal(stored, synthetic_market.panel(), check_dtype=False)


def test_summary_line_and_rewrite_is_identical(store: Store) -> None:
    args = {"n_symbols": 3, "years": 0.5, "seed": 11, "intraday_days": 1,
            "end": date(2026, 6, 30)}
    summary = write_demo_data(store, **args)
    assert "\n" not in summary and "3 symbols" in summary
    first = {p: p.read_bytes() for p in store.root.rglob("*.parquet")}
    write_demo_data(store, **args)
    assert first == {p: p.read_bytes() for p in store.root.rglob("*.parquet")}
    spec = SyntheticSpec(**args)
    assert store.daily_symbols() == sorted(SyntheticMarket(spec).symbols)
