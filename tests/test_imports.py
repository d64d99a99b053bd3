"""`aion import`: real files in, bad ones refused by name, nothing stored lost or half-written."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aion_core import market_hours
from aion_core.cli import app
from aion_core.config import HORIZONS, load_settings
from aion_core.ml import model
from aion_core.ml.sentiment import sentiment_columns
from aion_core.store import Store
from jobs.imports import import_bars, import_macro, import_minute, import_news
from jobs.nightly import run_nightly

runner = CliRunner()


def _bars(symbol: str | None, n: int = 80, start: str = "2016-01-04",
          seed: int = 0) -> pd.DataFrame:
    days = market_hours.sessions(start, "2017-12-29")[:n]
    close = 40 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n)))
    frame = pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "Open": close, "High": close * 1.01,
                          "Low": close * 0.99, "Close": close, "Volume": 1000 + np.arange(n)})
    return frame if symbol is None else frame.assign(Symbol=symbol)


def _import(root: Path, *args: str) -> tuple[int, list[str]]:
    res = runner.invoke(app, ["import", *args, "--data-dir", str(root)])
    assert "Traceback" not in res.output
    return res.exit_code, res.output.strip().splitlines()


# --------------------------------------------------------------------------- daily bars


def test_one_file_per_symbol_and_long_files_come_in_adjusted(tmp_path):
    _bars(None).to_csv(tmp_path / "aapl.us.txt", index=False)  # Stooq's naming
    raw = _bars("MSFT", seed=1)
    raw["Adj Close"] = raw["Close"] / 2  # a 2:1 split after the file's end, say
    with gzip.open(tmp_path / "long.csv.gz", "wt") as fh:
        raw.to_csv(fh, index=False)
    store = Store(tmp_path / "root")

    report = import_bars(store, [tmp_path])

    assert report.status == "ok" and store.daily_symbols() == ["AAPL", "MSFT"]
    msft = store.read_daily("MSFT")
    np.testing.assert_allclose(msft["close"], raw["Close"] / 2)
    np.testing.assert_allclose(msft["volume"], raw["Volume"] * 2)  # volume inversely
    assert store.bars_sources() == ["import"]
    saved = store.read_json("import_report", import_id=report.import_id)
    assert saved["items"]["MSFT"]["rows_added"] == 80 and saved["status"] == "ok"


def test_already_adjusted_prices_keep_their_values(tmp_path):
    raw = _bars("MSFT").assign(**{"Adj Close": 1.0})
    raw.to_csv(tmp_path / "msft.csv", index=False)
    store = Store(tmp_path / "root")
    import_bars(store, [tmp_path / "msft.csv"], adjusted=True)
    np.testing.assert_allclose(store.read_daily("MSFT")["close"], raw["Close"])


def test_a_newer_file_appends_and_differing_overlaps_are_reported_not_replaced(tmp_path):
    store = Store(tmp_path / "root")
    full = _bars("ABC")
    full.iloc[:50].to_csv(tmp_path / "old.csv", index=False)
    newer = full.iloc[40:].copy()
    newer.loc[45, "Close"] *= 1.01  # a restated close for a stored day
    newer.to_csv(tmp_path / "new.csv", index=False)
    import_bars(store, [tmp_path / "old.csv"])
    stored_close = store.read_daily("ABC")["close"][45]

    report = import_bars(store, [tmp_path / "new.csv"])

    item = report.items["ABC"]
    assert item["rows_added"] == 30 and len(store.read_daily("ABC")) == 80
    overlap = next(f for f in item["findings"] if f["check"] == "overlap_differs")
    assert overlap["rows"] == 1 and overlap["dates"] == [full["Date"][45]]
    assert store.read_daily("ABC")["close"][45] == stored_close
    again = import_bars(store, [tmp_path / "new.csv"], overwrite=True)
    assert again.items["ABC"]["status"] == "imported"
    assert store.read_daily("ABC")["close"][45] == pytest.approx(newer.loc[45, "Close"])


def _write_bad(kind: str, folder: Path) -> tuple[Path, str]:
    """A bad file of `kind` for symbol BAD and the words its refusal must contain."""
    path = folder / "bad.csv"
    good = _bars("BAD")
    if kind == "missing column":
        good.drop(columns=["Close"]).to_csv(path, index=False)
        return path, "no column for close"
    if kind == "negative prices":
        good.assign(Low=good["Low"].where(good.index != 3, -1.0)).to_csv(path, index=False)
        return path, "non positive price"
    if kind == "duplicate dates":
        pd.concat([good, good.iloc[[5]].assign(Close=1.0)]).to_csv(path, index=False)
        return path, "duplicate dates"
    if kind == "unknown format":
        path = folder / "bad.xlsx"
        path.write_bytes(b"PK\x03\x04")
        return path, "unknown format .xlsx"
    path.write_text("")
    return path, "empty file"


@pytest.mark.parametrize("kind", ["missing column", "negative prices", "duplicate dates",
                                  "unknown format", "empty file"])
def test_a_bad_file_is_one_clear_line_and_leaves_the_symbol_as_it_was(tmp_path, kind):
    root = tmp_path / "root"
    store = Store(root)
    _bars("BAD").iloc[:30].to_csv(tmp_path / "first.csv", index=False)
    _bars("GOOD", seed=2).to_csv(tmp_path / "good.csv", index=False)
    assert _import(root, "bars", str(tmp_path / "first.csv"))[0] == 0
    before = (root / "raw" / "daily" / "BAD.parquet").read_bytes()
    bad, words = _write_bad(kind, tmp_path)

    code, lines = _import(root, "bars", str(bad), str(tmp_path / "good.csv"))

    assert code == 3  # partial: GOOD came in, BAD did not
    refusals = [line for line in lines if "refused" in line and words in line]
    assert len(refusals) == 1, lines
    assert str(bad) in refusals[0]
    assert (root / "raw" / "daily" / "BAD.parquet").read_bytes() == before
    assert len(store.read_daily("GOOD")) == 80


def test_a_synthetic_root_is_not_mixed_with_real_bars(demo_root, tmp_path):
    _bars("REAL").to_csv(tmp_path / "real.csv", index=False)
    code, lines = _import(demo_root.root, "bars", str(tmp_path / "real.csv"))
    assert code == 1 and "synthetic market" in lines[-1] and "--data-dir" in lines[-1]
    assert "REAL" not in demo_root.daily_symbols()


# --------------------------------------------------------------------------- the shared files


def path_of_shared() -> Path:
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def sp500_root(tmp_path_factory) -> Store:
    path = path_of_shared() / "sp500_5yr" / "all_stocks_5yr.parquet"
    if not path.exists():
        pytest.skip("../shared/data is not present")
    store = Store(tmp_path_factory.mktemp("sp500") / "root")
    report = import_bars(store, [path])
    assert report.status == "ok"
    return store


def test_the_sp500_parquet_as_it_is_then_a_nightly_on_it(sp500_root, monkeypatch):
    report = json.loads(sorted((sp500_root.root / "logs" / "imports").glob("*.json"))[-1]
                        .read_text())
    assert report["totals"]["imported"] == 505 and report["totals"]["rows_read"] == 619_040
    lnt = {f["check"]: f for f in report["items"]["LNT"]["findings"]}
    assert lnt["bad_print"]["dates"] == ["2016-05-19"] and lnt["bad_print"]["action"] == "repaired"
    assert pd.Timestamp("2016-05-19") not in set(sp500_root.read_daily("LNT")["date"])
    split = {f["check"] for f in report["items"]["DISCA"]["findings"]}
    assert "split_like" in split

    # With the FRED series and the tweets too, as a new user imports them: their sparse
    # sentiment columns made every nightly abort inside LightGBM (aion_core.ml.model's
    # DEFAULT_PARAMS say why); tests/test_model.py keeps a synthetic reproducer.
    shared = path_of_shared()
    assert import_macro(sp500_root, [shared / "fred"]).count("imported") >= 10
    assert import_news(sp500_root, [shared / "news_tweets"]).status == "ok"
    # The nightly's own walk-forward (its folds, their training subsets and validation sets,
    # early stopping on), only capped at a few rounds: the corruption struck when a fold's
    # training set was first handed to a booster, not after many rounds (as in
    # tests/sparse_news_training.py), and the 300 rounds cost most of this test's time.
    walk_forward = model.walk_forward
    monkeypatch.setattr(model, "walk_forward", lambda data, h, config: walk_forward(
        data, h, replace(config, max_rounds=12)))
    # LightGBM's trees (AION_MODEL=gbm): the composite, the default, trains none
    summary = run_nightly(sp500_root, load_settings(sp500_root.root, env_file=None).model_copy(
        update={"aion_model": "gbm"}), skip_fetch=True)

    assert summary["status"] == "ok" and summary["as_of"] == "2018-02-07"
    assert "macro yes, news yes" in next(s for s in summary["steps"]
                                         if s["name"] == "features")["detail"]
    trained = next(s for s in summary["steps"] if s["name"] == "train")["detail"]
    assert all(f"{h}: " in trained for h in HORIZONS), trained
    for h in HORIZONS:  # every fold of the nightly's walk-forward trained
        meta = sp500_root.read_json("ml_models_meta", horizon=h)
        assert len(meta["validation"]["folds"]) == model.NIGHTLY.n_folds, h
        assert meta["model"] == "gbm" and meta["num_rounds"] >= model.NIGHTLY.min_rounds, h
        assert set(sentiment_columns()) <= set(meta["features"]), h
    brain = sp500_root.read_json("rolling_brain")
    assert len(brain["symbols"]) == 505


def test_the_stocknet_csv_with_adj_close(shared_data, tmp_path):
    store = Store(tmp_path / "root")
    path = shared_data / "us_daily_stocknet88" / "stocknet88_daily_adj_2012_2017.csv.gz"
    report = import_bars(store, [path])
    assert report.count("imported") == 88 and report.status == "ok"
    missing = {k for k, i in report.items.items()
               for f in i["findings"] if f["check"] == "missing_close"}
    assert missing == {"PTR", "REX", "SNP"}  # the three all-missing rows of 2016-06-29
    raw = pd.read_csv(path)
    aapl = raw[raw["symbol"] == "AAPL"].set_index("date")
    stored = store.read_daily("AAPL").set_index("date")
    assert stored["close"].iloc[0] == pytest.approx(aapl["adj_close"].iloc[0])


def test_the_long_history_parquet(shared_data, tmp_path):
    store = Store(tmp_path / "root")
    report = import_bars(store, [shared_data / "us_daily_long" / "us_daily_long_adj.parquet"],
                         adjusted=True)
    assert report.status == "ok" and report.totals()["rows_read"] == 536_046
    assert store.read_daily("AAPL")["date"].min().year < 1990


def test_fred_tweets_and_both_minute_files(shared_data, tmp_path):
    store = Store(tmp_path / "root")
    macro = import_macro(store, [shared_data / "fred"])
    assert macro.status == "ok" and "DGS10" in store.macro_series_ids()
    assert not any("_metadata" in f["path"] for f in macro.files)
    assert store.read_macro("DGS10")["value"].notna().all()

    news = import_news(store, [shared_data / "news_tweets"])
    assert news.status == "ok" and len(news.items) == 87
    item = store.read_news(store.news_days()[0])[0]
    assert pd.Timestamp(item["published_at"]).tzinfo is not None

    lean = import_minute(store, [shared_data / "intraday_1min" / "lean_minute_trade_bars.csv"],
                         stamp="start", tz=None)
    assert lean.status == "ok"
    flags = {f["check"]: f["dates"] for f in lean.items["AAPL"]["findings"]}
    assert flags["split_like"] == ["2014-06-09"]  # the 7:1 split in raw minute prices
    spy = store.read_minute("2013-10-07")
    first = spy[spy["symbol"] == "SPY"]["ts"].min()
    assert first == pd.Timestamp("2013-10-07 13:30", tz="UTC")  # 09:30 New York, pre-market cut

    av = import_minute(store, [shared_data / "intraday_1min" /
                               "alphavantage_1min_2019-02-11_to_15.csv"],
                       stamp="end", tz="America/New_York")
    assert av.status == "ok"
    bars = store.read_minute("2019-02-11")
    aapl = bars[bars["symbol"] == "AAPL"]["ts"]
    assert aapl.min() == pd.Timestamp("2019-02-11 14:30", tz="UTC")  # 09:31 end = 09:30 start
    assert aapl.max() == pd.Timestamp("2019-02-11 20:59", tz="UTC")  # 16:00 end = 15:59 start


def test_minute_stamps_without_a_time_zone_are_refused_by_name(shared_data, tmp_path):
    path = shared_data / "intraday_1min" / "alphavantage_1min_2019-02-11_to_15.csv"
    code, lines = _import(tmp_path / "root", "minute", str(path), "--stamp", "end")
    assert code == 1 and any(str(path) in line and "--tz" in line for line in lines)


def test_a_symbol_option_that_is_no_ticker_is_refused_before_anything_is_written(tmp_path):
    """`--symbol ../../x` was imported as `../../X` and the intraday bot then bought it."""
    store = Store(tmp_path / "root")
    minute = tmp_path / "m.csv"
    minute.write_text("ts,open,high,low,close,volume\n2026-11-20 09:30,1,2,0.5,1,100\n")
    for bad in ("../../x", "A B", "x\x00y"):
        done = CliRunner().invoke(app, ["import", "minute", str(minute), "--stamp", "start",
                                        "--symbol", bad, "--tz", "America/New_York",
                                        "--data-dir", str(store.root)])
        assert done.exit_code != 0 and "is not a ticker" in done.output, (bad, done.output)
    assert not (store.root / "raw").exists()
    assert import_minute(store, [minute], "start", "America/New_York", symbol="abc"
                         ).status == "ok"


def test_a_file_over_the_size_limit_is_refused_unread_and_the_others_come_in(tmp_path):
    """A 2 GB sparse file took 45 s and 4.3 GB of memory before it was refused."""
    store = Store(tmp_path / "root")
    good = tmp_path / "good.csv"
    good.write_text("date,symbol,open,high,low,close,volume\n"
                    "2024-01-03,AAA,1,2,0.5,1,100\n2024-01-04,AAA,1,2,0.5,1.1,100\n")
    big = tmp_path / "big.csv"
    with big.open("wb") as f:  # sparse: 3 MB on paper, nothing on disk
        f.truncate(3 * 2**20)
    report = import_bars(store, [good, big], max_mb=2)
    assert report.status == "partial" and report.count("imported") == 1
    refused = [f for f in report.files if f["status"] == "refused"]
    assert len(refused) == 1 and "over the import limit of 2 MB (AION_IMPORT_MAX_MB)" in \
        refused[0]["reason"]


def test_what_a_killed_import_left_half_written_is_swept_by_the_next(tmp_path):
    store = Store(tmp_path / "root")
    good = tmp_path / "good.csv"
    good.write_text("date,symbol,open,high,low,close,volume\n2024-01-03,AAA,1,2,0.5,1,100\n")
    left = store.root / "raw" / "daily" / ".AAA.parquet.k1ll3d.tmp"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"half a parquet")
    assert import_bars(store, [good]).status == "ok"
    assert not left.exists() and (store.root / "raw" / "daily" / "AAA.parquet").exists()
