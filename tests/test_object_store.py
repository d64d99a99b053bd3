"""Raw daily bars on object storage (issue 15, part 2): `AION_RAW_URL=s3://bucket/prefix`
against moto's S3 server on 127.0.0.1 (tests/conftest.py `moto_server`, `s3_raw`)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pandas as pd
import pytest
from typer.testing import CliRunner

from aion_core.cli import app
from aion_core.config import load_settings
from aion_core.errors import ConfigurationError, CorruptFileError
from aion_core.store import Store
from aion_core.store.raw import RawLocation, read_daily_bars
from jobs.nightly import run_nightly

runner = CliRunner()
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def _client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint)


def _split(url: str) -> tuple[str, str]:
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return bucket, prefix


def _bars_file(synthetic_market, folder: Path, n: int = 4) -> tuple[Path, list[str]]:
    """A long Parquet file of the small market's first `n` symbols (adjusted prices)."""
    panel = synthetic_market.panel()
    symbols = sorted(panel["symbol"].unique())[:n]
    path = folder / "bars.parquet"
    panel[panel["symbol"].isin(symbols)].to_parquet(path, index=False)
    return path, symbols


def _import(root: Path, path: Path) -> None:
    res = runner.invoke(app, ["import", "bars", str(path), "--adjusted", "--data-dir", str(root)])
    assert res.exit_code == 0, res.output


def test_aion_import_writes_bars_to_s3_that_read_back_as_the_disk_copy(
        synthetic_market, s3_raw, tmp_path, monkeypatch):
    url, endpoint = s3_raw
    path, symbols = _bars_file(synthetic_market, tmp_path)
    _import(tmp_path / "disk", path)
    monkeypatch.setenv("AION_RAW_URL", url)
    monkeypatch.setenv("AION_S3_ENDPOINT_URL", endpoint)
    _import(tmp_path / "s3", path)

    bucket, prefix = _split(url)
    listed = _client(endpoint).list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    assert sorted(o["Key"] for o in listed) == [f"{prefix}/daily/{s}.parquet" for s in symbols]
    assert not list((tmp_path / "s3").glob("raw/daily/*.parquet"))  # nothing on disk

    disk = Store(tmp_path / "disk")
    remote = Store.from_settings(load_settings(tmp_path / "s3", env_file=None))
    assert remote.raw.remote and remote.daily_symbols() == disk.daily_symbols() == symbols
    pd.testing.assert_frame_equal(remote.read_daily_panel(), disk.read_daily_panel())
    pd.testing.assert_frame_equal(remote.read_daily(symbols[1]), disk.read_daily(symbols[1]))
    assert remote.read_daily("ZZZZ") is None
    # the workers' entry point: a bucket of symbols, cut at a session
    part = read_daily_bars(remote.raw, symbols[2:], end="2026-06-30")
    assert list(part["symbol"].unique()) == symbols[2:]
    assert part["date"].max() <= pd.Timestamp("2026-06-30")

    _import(tmp_path / "s3", path)  # importing again changes nothing
    pd.testing.assert_frame_equal(remote.read_daily_panel(), disk.read_daily_panel())


def test_a_corrupt_object_is_refused_by_its_url(s3_raw, tmp_path):
    url, endpoint = s3_raw
    bucket, prefix = _split(url)
    store = Store(tmp_path / "data", url, endpoint)
    good = pd.DataFrame({"symbol": "AAA", "date": pd.to_datetime(["2026-11-19", "2026-11-20"]),
                         "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 10})
    store.write_daily("AAA", good)
    s3 = _client(endpoint)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/daily/BAD.parquet", Body=b"not parquet")
    buf = good.drop(columns="close").to_parquet(index=False)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/daily/NOCLOSE.parquet", Body=buf)

    with pytest.raises(CorruptFileError, match=f"{url}/daily/BAD.parquet"):
        store.read_daily("BAD")
    with pytest.raises(CorruptFileError, match=f"{url}/daily/NOCLOSE.parquet.*close"):
        store.read_daily("NOCLOSE")
    refused: dict[str, str] = {}
    panel = store.read_daily_panel(refused=refused)
    assert list(panel["symbol"].unique()) == ["AAA"] and len(panel) == 2
    assert sorted(refused) == ["BAD", "NOCLOSE"]
    assert f"{url}/daily/BAD.parquet" in refused["BAD"]


def _predictions(store: Store) -> dict:
    doc = json.loads(gzip.decompress(store.path("rolling_brain").read_bytes()))
    return {"as_of": doc["as_of"], "models": doc["models"], "symbols": doc["symbols"]}


def test_a_nightly_on_bars_in_s3_predicts_as_on_disk(demo_root, s3_raw, tmp_path):
    url, endpoint = s3_raw
    bucket, prefix = _split(url)
    s3 = _client(endpoint)
    folder = demo_root.path("raw_daily", symbol="X").parent
    for file in sorted(folder.glob("*.parquet")):  # the same bytes, uploaded as they are
        s3.upload_file(str(file), bucket, f"{prefix}/daily/{file.name}")
    remote_root = tmp_path / "remote"
    shutil.copytree(demo_root.root, remote_root, ignore=shutil.ignore_patterns("daily"))
    remote = Store(remote_root, url, endpoint)
    assert not remote.path("raw_daily", symbol="X").parent.exists()
    settings = load_settings(env_file=None)

    on_disk = run_nightly(demo_root, settings, skip_fetch=True, now=lambda: NOW)
    on_s3 = run_nightly(remote, settings, skip_fetch=True, now=lambda: NOW)
    assert on_disk["status"] == on_s3["status"] == "ok"
    assert _predictions(remote) == _predictions(demo_root)
    assert len(_predictions(remote)["symbols"]) == 12


def test_without_the_settings_nothing_changes(tmp_path, monkeypatch):
    monkeypatch.delenv("AION_RAW_URL", raising=False)
    monkeypatch.delenv("AION_S3_ENDPOINT_URL", raising=False)
    store = Store.from_settings(load_settings(tmp_path, env_file=None))
    assert store.raw == RawLocation(str(tmp_path)) and not store.raw.remote
    assert store.raw.name("AAPL") == str(store.path("raw_daily", symbol="AAPL"))
    # and object storage's libraries are never imported for a root on disk
    code = ("import sys; from aion_core.store import Store; s = Store(sys.argv[1]); "
            "s.read_daily_panel(); s.daily_symbols(); "
            "assert not {'s3fs', 'fsspec', 'botocore'} & set(sys.modules), sys.modules.keys()")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)


@pytest.mark.parametrize("name,value", [("AION_RAW_URL", "http://bucket/prefix"),
                                        ("AION_RAW_URL", "s3://"),
                                        ("AION_S3_ENDPOINT_URL", "127.0.0.1:9000")])
def test_a_malformed_setting_is_one_clear_error(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        load_settings(env_file=None)


def test_a_missing_bucket_is_a_configuration_error_not_an_empty_store(s3_raw, tmp_path):
    _, endpoint = s3_raw
    store = Store(tmp_path / "data", "s3://no-such-bucket-here/raw", endpoint)
    with pytest.raises(ConfigurationError, match="no-such-bucket-here"):
        store.daily_symbols()
    assert Store(tmp_path / "data", s3_raw[0], endpoint).daily_symbols() == []


def test_a_worker_process_reads_its_symbols_from_the_pickled_location(s3_raw, tmp_path):
    """What a Dask worker does: it gets the location (three strings, no credentials) and
    reads its bucket of symbols itself, with the credentials of its own environment."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    url, endpoint = s3_raw
    store = Store(tmp_path / "data", url, endpoint)
    for sym, close in (("AAA", 1.0), ("BBB", 2.0)):
        store.write_daily(sym, pd.DataFrame({
            "symbol": sym, "date": pd.to_datetime(["2026-11-19", "2026-11-20"]), "open": close,
            "high": close, "low": close, "close": close, "volume": 10}))
    assert "testing" not in repr(store.raw)  # all it carries: root, url, endpoint
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        part = pool.submit(read_daily_bars, store.raw, ["BBB"]).result(timeout=120)
    pd.testing.assert_frame_equal(part, store.read_daily_panel(["BBB"]))
    assert list(part["close"]) == [2.0, 2.0]
