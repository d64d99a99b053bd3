"""collect(): incremental, loss-free collection into a tmp data root.

The synthetic market is the real default provider; `PanelMarket` is a fake of an outside
market-data service over a fixed panel, which logs what it is asked and can fail symbols.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import pytest

from aion_core.config import Settings
from aion_core.errors import ConfigurationError, ProviderError
from aion_core.providers.base import DAILY_COLUMNS, FetchResult
from aion_core.providers.synthetic import MACRO_SERIES, SyntheticMarket, SyntheticSpec
from jobs.collect import DEFAULT_LOOKBACK_YEARS, collect, make_providers

END = date(2026, 11, 20)
CUT = pd.Timestamp("2026-10-30")


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(SyntheticSpec(n_symbols=4, years=1.0, seed=3, end=END))


class PanelMarket:
    """Daily bars served from a fixed panel; `failing` symbols answer with a reason."""

    name = "panel"

    def __init__(self, panel: pd.DataFrame, failing: dict[str, str] | None = None) -> None:
        self.panel = panel
        self.failing = failing or {}
        self.calls: list[tuple[tuple[str, ...], date, date]] = []

    def daily_bars(self, symbols: Sequence[str], start: date, end: date) -> FetchResult:
        self.calls.append((tuple(symbols), start, end))
        failed = {s: self.failing[s] for s in symbols if s in self.failing}
        p = self.panel
        rows = p[p["symbol"].isin(set(symbols) - set(failed)) & (p["date"] >= pd.Timestamp(start))
                 & (p["date"] <= pd.Timestamp(end))]
        if rows.empty:
            raise ProviderError("nothing delivered", failed or {s: "no bars" for s in symbols})
        return FetchResult(rows.reset_index(drop=True), failed)

    def intraday_bars(self, symbols: Sequence[str], day: date) -> FetchResult:
        raise ProviderError("no intraday bars here", {s: "unsupported" for s in symbols})


def _settings(**kw) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def _universe(market: SyntheticMarket) -> Settings:
    return _settings(aion_universe=",".join(market.symbols))


def _store_until(store, panel: pd.DataFrame, cut: pd.Timestamp) -> None:
    for sym, bars in panel[panel["date"] <= cut].groupby("symbol"):
        store.write_daily(str(sym), bars.reset_index(drop=True))


def test_a_fresh_root_is_filled_for_an_explicit_universe(store, market):
    source = PanelMarket(market.panel())
    settings = _settings(aion_universe=",".join(market.symbols))
    report = collect(store, settings, END, providers=(source, market, market), progress=False)

    assert not report.partial and sorted(report.fetched) == sorted(market.symbols)
    assert store.bars_sources() == ["panel"]
    panel = store.read_daily_panel()
    pd.testing.assert_frame_equal(panel[DAILY_COLUMNS], market.panel()[DAILY_COLUMNS],
                                  check_dtype=False)
    assert report.rows_added == len(panel)
    assert store.macro_series_ids() == sorted(MACRO_SERIES)
    assert report.news_days and store.news_days() == sorted(report.news_days)
    day = report.news_days[-1]
    assert {i["symbol"] for i in store.read_news(day)} <= set(market.symbols)


def test_the_synthetic_market_never_fills_an_empty_root(store, market):
    with pytest.raises(ConfigurationError, match="aion demo-data.*aion import bars"):
        collect(store, _settings(), END, providers=(market, market, market), progress=False)
    assert store.daily_symbols() == []


def test_the_synthetic_market_never_extends_imported_bars(store, market):
    _store_until(store, market.panel(), CUT)
    store.record_source("bars", "import", "test", "2026-11-01T00:00:00+00:00")
    with pytest.raises(ConfigurationError, match="holds import bars.*--skip-fetch"):
        collect(store, _settings(), END, providers=(market, market, market), progress=False)
    assert store.read_daily_panel()["date"].max() == CUT


def test_fetching_nothing_fails_with_one_line_per_cause(store, market):
    panel = market.panel()
    _store_until(store, panel, CUT)
    down = dict.fromkeys(market.symbols, "network unreachable (could not reach example.com)")
    with pytest.raises(ProviderError) as caught:
        collect(store, _settings(), END, providers=(PanelMarket(panel, down), None, None),
                progress=False)
    message = str(caught.value)
    assert message.count("network unreachable") == 1 and "\n" not in message
    assert all(sym in message for sym in market.symbols)


def test_incremental_asks_only_for_sessions_after_the_last_stored(store, market):
    panel = market.panel()
    _store_until(store, panel, CUT)
    before = store.read_daily(market.symbols[0])
    source = PanelMarket(panel)

    report = collect(store, _settings(), END, providers=(source, None, None), progress=False)

    assert [(start, end) for _, start, end in source.calls] == [(date(2026, 10, 31), END)]
    assert sorted(source.calls[0][0]) == sorted(market.symbols)
    after = store.read_daily(market.symbols[0])
    pd.testing.assert_frame_equal(after.iloc[:len(before)], before)
    expected_new = panel[(panel["symbol"] == market.symbols[0]) & (panel["date"] > CUT)]
    assert report.fetched[market.symbols[0]] == len(expected_new) == len(after) - len(before)

    again = collect(store, _settings(), END, providers=(source, None, None), progress=False)
    assert len(source.calls) == 1 and again.rows_added == 0  # up to date: nothing asked


def test_new_symbol_gets_the_default_lookback(store, market):
    source = PanelMarket(market.panel())
    collect(store, _settings(aion_universe=market.symbols[1]), END,
            providers=(source, None, None), progress=False)
    (symbols, start, end), = source.calls
    assert symbols == (market.symbols[1],) and end == END
    assert start == date(END.year - DEFAULT_LOOKBACK_YEARS, END.month, END.day)


def test_failed_symbols_are_reported_and_keep_their_bars(store, market):
    panel = market.panel()
    _store_until(store, panel, CUT)
    bad = market.symbols[2]
    stored = store.read_daily(bad)
    source = PanelMarket(panel, failing={bad: "delisted"})

    report = collect(store, _settings(), END, providers=(source, None, None), progress=False)

    assert report.partial and report.failed == {bad: "delisted"}
    assert bad not in report.fetched and len(report.fetched) == len(market.symbols) - 1
    pd.testing.assert_frame_equal(store.read_daily(bad), stored)


def test_a_whole_failed_call_is_reported_per_symbol(store, market):
    source = PanelMarket(market.panel(), failing={s: "rate limited" for s in market.symbols})
    universe = ",".join(market.symbols)
    with pytest.raises(ProviderError, match="rate limited") as caught:
        collect(store, _settings(aion_universe=universe), END, providers=(source, None, None),
                progress=False)
    assert caught.value.failures == {s: "rate limited" for s in market.symbols}
    assert store.daily_symbols() == []


def test_stored_rows_are_never_rewritten(store, market):
    panel = market.panel()
    _store_until(store, panel, CUT)
    sym = market.symbols[0]
    stored = store.read_daily(sym)
    revised = panel.assign(close=panel["close"] * 2)  # a source that restates history

    collect(store, _settings(aion_universe=sym), END, providers=(PanelMarket(revised), None, None),
            progress=False)

    after = store.read_daily(sym)
    pd.testing.assert_frame_equal(after.iloc[:len(stored)], stored)
    assert after["date"].is_monotonic_increasing and after["date"].is_unique


def test_macro_and_news_failures_are_reported_not_fatal(store, market):
    class Down:
        name = "down"

        def series(self, ids, start, end):
            raise ProviderError("FRED down", {i: "HTTP 503" for i in ids})

        def headlines(self, symbols, start, end):
            raise ProviderError("news down")

    report = collect(store, _universe(market), END,
                     providers=(PanelMarket(market.panel()), Down(), Down()), progress=False)
    assert sorted(report.fetched) == sorted(market.symbols)
    assert report.failed["macro:DGS10"] == "HTTP 503" and report.failed["news"] == "news down"
    assert report.partial and store.macro_series_ids() == []


def test_news_days_merge_without_duplicates(store, market):
    daily = PanelMarket(market.panel())
    collect(store, _universe(market), END, providers=(daily, market, market), progress=False)
    day = store.news_days()[-1]
    first = store.read_news(day)
    extra = {"symbol": market.symbols[0], "published_at": f"{day}T15:00:00+00:00",
             "headline": "a headline only the data root had", "source": "archive"}
    store.write_news(day, [*first, extra])

    report = collect(store, _universe(market), END, providers=(daily, market, market),
                     progress=False)

    merged = store.read_news(day)
    assert extra in merged and len(merged) == len(first) + 1
    assert day not in report.news_days and report.rows_added == 0


def test_yfinance_without_universe_says_to_set_it(store):
    with pytest.raises(ConfigurationError, match="AION_UNIVERSE"):
        collect(store, _settings(aion_provider="yfinance"), END, progress=False)


def test_make_providers_follows_settings_and_keys():
    market, macro, news = make_providers(_settings())
    assert market.name == "synthetic" and macro is market and news is market

    market, macro, news = make_providers(_settings(aion_provider="yfinance"))
    assert market.name == "yfinance" and macro is None and news is None

    market, macro, news = make_providers(_settings(
        aion_provider="yfinance", fred_api_key="k", alpaca_api_key="a", alpaca_secret_key="s"))
    assert (macro.name, news.name) == ("fred", "alpaca")


def test_collect_continues_the_market_demo_data_wrote(store):
    """A root made with another seed is extended with that seed's bars, not another market's."""
    from jobs.demo import write_demo_data

    write_demo_data(store, n_symbols=3, years=0.5, seed=11, intraday_days=0,
                    end=date(2026, 10, 30))
    before = store.read_daily_panel()
    report = collect(store, _settings(), END)
    assert report.rows_added > 0 and not report.failed
    after = store.read_daily_panel()
    truth = SyntheticMarket(SyntheticSpec(n_symbols=3, years=1, seed=11, end=END)).panel()
    truth = truth[truth["date"] >= after["date"].min()]
    pd.testing.assert_frame_equal(after.reset_index(drop=True),
                                  truth[after.columns].reset_index(drop=True),
                                  check_dtype=False)
    assert len(after) > len(before)
