"""The nightly on Dask (issue 15): the same dataset bit for bit, close predictions, the same
files; and without a cluster setting Dask is never imported.

One module-scoped LocalCluster (2 worker processes, 1 thread each: what `local:2` starts) and
one data root run both paths once; the tests compare what they wrote."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import spearmanr

from aion_core.config import HORIZONS, load_settings
from aion_core.errors import ConfigurationError
from aion_core.ml.dataset import build_dataset
from aion_core.store import Store, read_json, read_parquet
from jobs.cluster.dataset import cluster_address
from jobs.demo import write_demo_data
from jobs.nightly import run_nightly

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
MARKET = {"n_symbols": 40, "years": 3.0, "seed": 11, "intraday_days": 0,
          "end": date(2026, 11, 20)}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Store, dict, dict]:
    """(single root, cluster root, single summary, cluster summary) on one demo market."""
    from distributed import LocalCluster

    base = tmp_path_factory.mktemp("cluster")
    single = Store(base / "single")
    write_demo_data(single, **MARKET)
    shutil.copytree(single.root, base / "cluster")
    on_cluster = Store(base / "cluster")
    # the cluster trains LightGBM (AION_MODEL=composite has nothing to train there)
    settings = load_settings(single.root, env_file=None).model_copy(
        update={"aion_model": "gbm"})
    one = run_nightly(single, settings, skip_fetch=True, now=lambda: NOW)
    with LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        many = run_nightly(on_cluster, settings.model_copy(
            update={"aion_dask_scheduler": cluster.scheduler_address}),
            skip_fetch=True, now=lambda: NOW)
    return single, on_cluster, one, many


def test_both_paths_succeed(runs) -> None:
    _, _, one, many = runs
    assert one["status"] == many["status"] == "ok", many["steps"]
    assert one["as_of"] == many["as_of"]


def test_features_equal_exactly(runs) -> None:
    import dask.dataframe as dd

    single, on_cluster, _, _ = runs
    path = on_cluster.path("ml_datasets")
    assert path.is_dir() and len(list(path.glob("part-*.parquet"))) >= 2
    # Against the whole panel's dataset in one piece (both nightly paths build in buckets).
    as_of = pd.Timestamp(read_json(single.path("nightly_summary"))["as_of"])
    expected = build_dataset(single.read_daily_panel(end=as_of.date()),
                             single.read_macro_asof(as_of), single.read_news_asof(as_of)).frame
    pd.testing.assert_frame_equal(read_parquet(single.path("ml_datasets")), expected,
                                  check_exact=True)
    targets = [f"resid_fwd_{h}" for h in HORIZONS]
    for got in (read_parquet(path),  # the app's reader, and Dask's (its own text dtype)
                dd.read_parquet(path).compute().reset_index(drop=True)):
        got = got.astype({"symbol": expected["symbol"].dtype})
        pd.testing.assert_frame_equal(got.drop(columns=targets),
                                      expected.drop(columns=targets), check_exact=True)
        # The float64 targets sum the residual factors' projections, whose matrix products
        # round in the last bits by BLAS thread count (Dask workers run BLAS on one thread);
        # the float32 residual features do not see it.
        pd.testing.assert_frame_equal(got[targets], expected[targets], rtol=1e-9, atol=1e-12)


def test_predictions_rank_correlate(runs) -> None:
    single, on_cluster, _, _ = runs
    one, many = read_json(single.path("rolling_brain")), read_json(on_cluster.path("rolling_brain"))
    assert one["as_of"] == many["as_of"] and one["symbols"].keys() == many["symbols"].keys()
    for h in HORIZONS:
        a = [one["symbols"][s]["predictions"][h]["expected_return"] for s in one["symbols"]]
        b = [many["symbols"][s]["predictions"][h]["expected_return"] for s in one["symbols"]]
        assert spearmanr(a, b).statistic >= 0.95, h


def test_same_files(runs) -> None:
    single, on_cluster, _, _ = runs
    for key in ("rolling_brain", "aion_brain", "nightly_summary"):
        assert on_cluster.path(key).exists(), key
    for h in HORIZONS:
        meta = read_json(on_cluster.path("ml_models_meta", horizon=h))
        assert meta["trained_through"] == read_json(
            single.path("ml_models_meta", horizon=h))["trained_through"]
        assert on_cluster.path("ml_models", horizon=h).read_text().startswith("tree")


def test_cluster_address() -> None:
    assert cluster_address(None, "") is None
    assert cluster_address("local:2", "tcp://h:8786") == "local:2"
    assert cluster_address(None, "tcp://h:8786") == "tcp://h:8786"
    with pytest.raises(ConfigurationError):
        cluster_address("local:two", "")


def test_the_composite_on_a_cluster_is_refused_in_one_line(demo_root: Store) -> None:
    settings = load_settings(demo_root.root, env_file=None).model_copy(
        update={"aion_model": "composite", "aion_dask_scheduler": "tcp://127.0.0.1:9"})
    with pytest.raises(ConfigurationError, match="AION_MODEL=gbm or unset AION_DASK_SCHEDULER"):
        run_nightly(demo_root, settings, skip_fetch=True, now=lambda: NOW)


def test_no_dask_without_a_cluster_setting(demo_root: Store) -> None:
    code = ("import sys; from datetime import datetime, UTC;"
            "from aion_core.config import load_settings; from aion_core.store import Store;"
            "from jobs.nightly import run_nightly;"
            f"s = run_nightly(Store({str(demo_root.root)!r}), load_settings("
            f"{str(demo_root.root)!r}, env_file=None), skip_fetch=True,"
            " now=lambda: datetime(2026, 11, 23, 7, tzinfo=UTC));"
            "assert s['status'] == 'ok', s['steps'];"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in"
            " ('dask', 'distributed'));"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=300,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(demo_root.root)})
