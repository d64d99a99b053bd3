"""The nightly job end to end on small synthetic data roots."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aion_core.config import HORIZONS, load_settings
from aion_core.errors import CorruptFileError
from aion_core.providers.base import FetchResult
from aion_core.providers.synthetic import SyntheticMarket, SyntheticSpec
from aion_core.store import Store, read_json, read_jsonl, read_parquet
from jobs.nightly import run_nightly

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
STEPS = ["collect", "features", "train", "predict", "brain", "summary"]


@pytest.fixture
def settings(tmp_path):
    return load_settings(tmp_path / "data", env_file=None)


def run(store, settings, **kw):
    return run_nightly(store, settings, now=lambda: NOW, **kw)


def brain_without_clock(store: Store) -> dict:
    doc = json.loads(gzip.decompress(store.path("rolling_brain").read_bytes()))
    doc.pop("generated_at")
    return doc


@pytest.mark.parametrize("kind", ["composite", "gbm"])
def test_a_run_writes_every_contract_file(demo_root, settings, kind):
    settings = settings.model_copy(update={"aion_model": kind})
    stale = demo_root.path("ml_models", horizon="1w")  # an earlier night's trees
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("tree\nversion=v4\n")
    summary = run(demo_root, settings, skip_fetch=True)
    assert summary["status"] == "ok" and summary["as_of"] == "2026-11-20"
    assert [s["name"] for s in summary["steps"]] == STEPS
    assert summary["steps"][0]["status"] == "skipped"
    assert all(s["status"] == "ok" for s in summary["steps"][1:])
    assert set(summary["metrics"]) == {"1w", "2w", "4w"}
    assert set(summary["metrics"]["1w"]) == {"ic", "rank_ic"}
    assert read_json(demo_root.path("nightly_summary")) == summary
    brain = demo_root.read_json("rolling_brain")
    assert len(brain["symbols"]) == 12 and brain["as_of"] == "2026-11-20"
    aion = demo_root.read_json("aion_brain")
    assert {"regime", "portfolio"} <= set(aion)
    for h in ("1w", "2w", "4w"):
        meta = demo_root.read_json("ml_models_meta", horizon=h)
        assert meta["trained_through"] < "2026-11-20" and meta["model"] == kind
        trees = demo_root.path("ml_models", horizon=h)
        if kind == "gbm":
            assert trees.read_text().startswith("tree") and meta["num_rounds"] > 0
        else:  # the composite is its metadata; trees of another model would mislead
            assert not trees.exists() and meta["num_rounds"] == 0 and meta["slope"] >= 0
    history = read_parquet(demo_root.path("prediction_history"))
    assert len(history) == 36 and set(history["horizon"]) == {"1w", "2w", "4w"}
    assert read_parquet(demo_root.path("ml_datasets")) is not None
    runs = read_jsonl(demo_root.path("model_runs")).records  # the Models page's importance
    assert [(r["horizon"], r["as_of"]) for r in runs] == [(h, "2026-11-20") for h in HORIZONS]
    log = demo_root.path("nightly_logs", yyyymmdd="20261123").read_text()
    assert "step train: ok" in log


def test_a_rerun_for_the_same_as_of_gives_identical_predictions(demo_root, settings):
    settings = settings.model_copy(update={"aion_model": "gbm"})  # trees, byte for byte
    run(demo_root, settings, skip_fetch=True, as_of=date(2026, 10, 30))
    first = brain_without_clock(demo_root)
    model_text = demo_root.path("ml_models", horizon="1w").read_bytes()
    history = read_parquet(demo_root.path("prediction_history"))
    run(demo_root, settings, skip_fetch=True, as_of=date(2026, 10, 30))
    assert brain_without_clock(demo_root) == first
    assert demo_root.path("ml_models", horizon="1w").read_bytes() == model_text
    pd.testing.assert_frame_equal(read_parquet(demo_root.path("prediction_history")), history)


def test_the_dataset_directory_replaces_an_old_file_and_what_a_killed_run_left(demo_root,
                                                                              settings):
    final = demo_root.path("ml_datasets")
    final.parent.mkdir(parents=True, exist_ok=True)
    final.write_bytes(b"an older nightly's single-file dataset")
    left = [final.with_name(f"{final.name}.dead1234.tmp"),
            final.with_name(f"{final.name}.dead5678.old")]
    for d in left:
        (d / "part-00000.parquet").parent.mkdir()
        (d / "part-00000.parquet").write_bytes(b"half written")
    assert run(demo_root, settings, skip_fetch=True)["status"] == "ok"
    assert final.is_dir() and sorted(final.parent.iterdir()) == [final]
    frame = read_parquet(final)
    assert frame["symbol"].nunique() == 12 and frame["date"].max() == pd.Timestamp("2026-11-20")


def test_bars_after_as_of_change_nothing(demo_root, settings, tmp_path):
    as_of = pd.Timestamp("2026-09-30")
    other = Store(tmp_path / "other")
    shutil.copytree(demo_root.root, other.root)
    rng = np.random.default_rng(0)
    for sym in other.daily_symbols():
        bars = other.read_daily(sym)
        later = bars["date"] > as_of
        bars.loc[later, ["open", "high", "low", "close"]] *= rng.uniform(0.5, 2.0, later.sum())[
            :, None]
        bars.loc[later, "volume"] *= 3
        other.write_daily(sym, bars)
    for store in (demo_root, other):
        assert run(store, settings, skip_fetch=True, as_of=as_of.date())["status"] == "ok"
    pd.testing.assert_frame_equal(read_parquet(other.path("ml_datasets")),
                                  read_parquet(demo_root.path("ml_datasets")))
    assert brain_without_clock(other) == brain_without_clock(demo_root)


class FailingMarket:
    """An outside market over the synthetic one's bars; some symbols cannot be fetched."""

    name = "failing"

    def __init__(self, market: SyntheticMarket, broken: set[str]) -> None:
        self.market, self.broken, self.symbols = market, broken, market.symbols

    def daily_bars(self, symbols, start, end) -> FetchResult:
        got = self.market.daily_bars([s for s in symbols if s not in self.broken], start, end)
        return FetchResult(got.data, {**got.failed, **{s: "HTTP 500" for s in symbols
                                                      if s in self.broken}})

    def intraday_bars(self, symbols, day) -> FetchResult:
        return self.market.intraday_bars(symbols, day)


def test_a_fetch_failure_for_some_symbols_is_partial_and_the_rest_is_predicted(store, settings):
    market = SyntheticMarket(SyntheticSpec(n_symbols=12, years=2.0, seed=7, intraday_days=0,
                                           end=date(2026, 11, 20)))
    broken = set(market.symbols[:3])
    settings = settings.model_copy(update={"aion_universe": ",".join(market.symbols)})
    summary = run(store, settings, providers=(FailingMarket(market, broken), market, market))
    assert summary["status"] == "partial"
    assert summary["steps"][0]["status"] == "ok" and "3 failed" in summary["steps"][0]["detail"]
    predicted = set(store.read_json("rolling_brain")["symbols"])
    assert predicted == set(market.symbols) - broken


def test_aion_universe_narrows_the_nightly_and_names_a_symbol_without_bars(demo_root, settings):
    from aion_core.store.root import NOT_STORED

    subset = demo_root.daily_symbols()[2:8]
    settings = settings.model_copy(update={"aion_universe": ",".join([*subset, "nope"])})
    store = Store.from_settings(settings)  # how every command builds its store
    summary = run(store, settings, skip_fetch=True)
    assert set(store.read_json("rolling_brain")["symbols"]) == set(subset)
    assert set(read_parquet(store.path("prediction_history"))["symbol"]) == set(subset)
    # the one name without bars is named; the root's names outside the universe are not
    assert summary["dropped"] == {"NOPE": NOT_STORED} and summary["status"] == "partial"
    features = next(s for s in summary["steps"] if s["name"] == "features")
    assert f"{len(subset)} symbols" in features["detail"]
    log = store.path("nightly_logs", yyyymmdd="20261123").read_text()
    assert f"NOPE left out: {NOT_STORED}" in log


def test_an_aion_universe_without_any_stored_symbol_fails_naming_the_setting(demo_root,
                                                                            settings):
    settings = settings.model_copy(update={"aion_universe": "NOPE,NADA"})
    summary = run(Store.from_settings(settings), settings, skip_fetch=True)
    features = next(s for s in summary["steps"] if s["name"] == "features")
    assert summary["status"] == "failed" and features["status"] == "failed"
    assert "AION_UNIVERSE" in features["detail"] and "NOPE, NADA" in features["detail"]


def test_an_empty_root_is_refused_not_filled_with_a_synthetic_market(store, settings):
    summary = run(store, settings)
    assert summary["status"] == "failed" and store.daily_symbols() == []
    detail = summary["steps"][0]["detail"]
    assert "aion demo-data" in detail and "aion import bars" in detail


@pytest.mark.parametrize("dates", ["date32", "string", "tz-aware"])
def test_bars_with_ordinary_dates_in_raw_daily_work(demo_root, settings, dates):
    sym = demo_root.daily_symbols()[0]
    bars = demo_root.read_daily(sym)
    encoded = {"date32": bars["date"].dt.date, "string": bars["date"].dt.strftime("%Y-%m-%d"),
               "tz-aware": bars["date"].dt.tz_localize("America/New_York")}[dates]
    odd = bars.assign(date=encoded, volume=bars["volume"].astype("int64"))
    odd[["date", "close", "open", "high", "low", "volume", "symbol"]].to_parquet(
        demo_root.path("raw_daily", symbol=sym))  # another column order, int volume

    summary = run(demo_root, settings, skip_fetch=True)

    assert summary["status"] == "ok" and summary["dropped"] == {}
    assert sym in demo_root.read_json("rolling_brain")["symbols"]


def test_a_raw_file_with_wrong_columns_is_named_and_the_run_is_partial(demo_root, settings):
    bad = demo_root.daily_symbols()[0]
    demo_root.read_daily(bad).drop(columns=["close"]).to_parquet(
        demo_root.path("raw_daily", symbol=bad))

    summary = run(demo_root, settings, skip_fetch=True)

    assert summary["status"] == "partial"
    assert "close" in summary["dropped"][bad] and f"{bad}.parquet" in summary["dropped"][bad]
    predict = next(s for s in summary["steps"] if s["name"] == "predict")
    assert bad in predict["detail"]
    assert bad not in demo_root.read_json("rolling_brain")["symbols"]


def test_imported_bars_are_never_extended_by_the_synthetic_market(demo_root, settings):
    demo_root.path("synthetic_spec").unlink()
    demo_root.path("bars_provenance").unlink()  # as if the bars had been imported
    demo_root.record_source("bars", "import", "test", "2026-11-01T00:00:00+00:00")
    before = demo_root.read_daily_panel()

    summary = run(demo_root, settings)

    collect = summary["steps"][0]
    assert collect["status"] == "skipped" and "does not extend" in collect["detail"]
    assert summary["status"] == "ok"
    pd.testing.assert_frame_equal(demo_root.read_daily_panel(), before)


def test_bars_alone_are_enough(demo_root, settings):
    shutil.rmtree(demo_root.root / "raw" / "macro")
    shutil.rmtree(demo_root.root / "raw" / "news")
    summary = run(demo_root, settings, skip_fetch=True)
    assert summary["status"] == "ok"
    assert "macro no, news no" in summary["steps"][1]["detail"]


def test_a_failed_step_skips_what_needs_it_and_fails_the_run(store, settings):
    summary = run(store, settings, skip_fetch=True)
    status = {s["name"]: s["status"] for s in summary["steps"]}
    assert summary["status"] == "failed"
    assert status == {"collect": "skipped", "features": "failed", "train": "skipped",
                      "predict": "skipped", "brain": "skipped", "summary": "ok"}
    assert "no daily bars" in summary["steps"][1]["detail"]
    assert read_json(store.path("nightly_summary"))["status"] == "failed"


def test_an_as_of_that_is_not_a_session_fails_clearly(demo_root, settings):
    summary = run(demo_root, settings, skip_fetch=True, as_of=date(2026, 11, 21))
    assert summary["status"] == "failed"
    assert "not an NYSE session" in summary["steps"][1]["detail"]


def _news_from_a_list_of_dicts(store: Store, as_of: pd.Timestamp) -> pd.DataFrame:
    """The headlines as pandas builds them from every item's dict: the reference."""
    items = [item for day in store.news_days() if day <= as_of.strftime("%Y-%m-%d")
             for item in store.read_news(day)]
    news = pd.DataFrame(items)
    news["published_at"] = pd.to_datetime(news["published_at"], utc=True)
    close = pd.Timestamp(f"{as_of.date()} 16:00", tz="America/New_York")
    return news[news["published_at"] <= close].reset_index(drop=True)


def test_read_news_equals_the_frame_of_every_headline_dict(demo_root):
    day = demo_root.news_days()[-1]
    items = demo_root.read_news(day)
    items[0]["source"] = None  # a provider without a source for one headline
    items.append({**items[-1], "published_at": f"{day}T23:59:00+00:00"})  # after the close
    demo_root.write_news(day, items)
    for as_of in (pd.Timestamp(day), pd.Timestamp("2026-03-02")):
        got = demo_root.read_news_asof(as_of)
        pd.testing.assert_frame_equal(got, _news_from_a_list_of_dicts(demo_root, as_of))
    assert len(got) and got["published_at"].max() < pd.Timestamp("2026-03-02 21:00", tz="UTC")


def test_read_news_names_a_day_file_that_is_not_headlines(demo_root):
    day = demo_root.news_days()[-1]
    demo_root.write_news(day, [{"symbol": 7, "published_at": f"{day}T12:00:00+00:00"}])
    with pytest.raises(CorruptFileError) as err:
        demo_root.read_news_asof(pd.Timestamp(day))
    assert day in str(err.value)


def _nightly_command(store: Store, **env: str) -> subprocess.CompletedProcess:
    """`aion nightly --skip-fetch` as a user runs it, AION_DEBUG as given (default unset)."""
    base = {k: v for k, v in os.environ.items() if k != "AION_DEBUG"}
    return subprocess.run([sys.executable, "-m", "aion_core", "nightly", "--skip-fetch",
                           "--data-dir", str(store.root)], capture_output=True, text=True,
                          timeout=300, env={**base, **env})


def test_a_truncated_parquet_is_one_line_on_stderr_and_its_traceback_is_in_the_log(demo_root):
    """A bars file and a macro series cut in half (a copy cut short): the bars file leaves
    its symbol out, the macro file fails the features step. Each failure is one line on
    stderr naming the file; the traceback is in the run's log, on stderr only with
    AION_DEBUG=1, and the clear line stays the last."""
    bars = demo_root.path("raw_daily", symbol=demo_root.daily_symbols()[0])
    macro = demo_root.path("raw_macro", series=demo_root.macro_series_ids()[0])
    for path in (bars, macro):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    res = _nightly_command(demo_root)
    assert res.returncode == 1
    failures = [line for line in res.stderr.splitlines() if line.strip() and " INFO " not in line]
    assert len(failures) == 2, res.stderr
    assert f"corrupt file {bars}" in failures[0]
    log = Path(demo_root.read_json("nightly_summary")["log"])
    assert failures[1] == (f"aion: error: nightly step features failed: corrupt file {macro}: "
                           "Parquet magic bytes not found in footer. Either the file is "
                           f"corrupted or this is not a parquet file. (see {log})")
    assert "Traceback" not in res.stderr
    assert "Traceback" in log.read_text() and str(macro) in log.read_text()

    debug = _nightly_command(demo_root, AION_DEBUG="1")
    assert "Traceback" in debug.stderr
    assert debug.stderr.splitlines()[-1] == failures[1]
