"""Shared fixtures: data roots in tmp_path, filled from the synthetic market."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

# The suite runs LightGBM in this process and in the jobs it starts, on two cores: OpenMP's
# default spin-waiting threads then starve each other and a fit now and then takes 40x as
# long. Passive waiting costs a single fit nothing measurable; set before lightgbm loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from pg_server import MISSING as PG_MISSING
from pg_server import PgServer, free_port
from pg_server import installed as pg_installed
from redis_server import MISSING, RedisServer

from aion_core.providers.synthetic import SyntheticMarket, SyntheticSpec
from aion_core.store import Store

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# The longest test files first (what each costs `make test` on two cores, seconds in the
# comments), the rest after them in collection order. `make test` hands whole files to its two
# workers (`--dist loadfile`) in this order (`--no-loadscope-reorder`: xdist's own order, most
# tests first, left these few-test files for last, and one worker then ran the kill suite
# alone while the other sat idle).
LONGEST_FIRST = [
    "test_faults.py",  # 125: every document damaged every way, every page visited
    "test_replay_beats_random.py",  # 85
    "test_kills_trading.py",  # 70
    "test_e2e.py",  # 60
    "test_kills.py",  # 55
    "test_imports.py",  # 55
    "test_replay.py",  # 55
    "test_cluster.py",  # 45
    "test_nightly.py",  # 30
    "test_cli.py",  # 25
    "test_store.py",  # 25
    "test_e2e_research.py",  # 25
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files stay whole


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty data root."""
    return Store(tmp_path / "data")


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a clean skip where it is absent (as on a user's machine)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


# --------------------------------------------------------------------------- synthetic market
# A small market (12 symbols x 2 years, seed 7, fixed end) shared by everyone's tests: fixed
# `end` keeps results independent of the day the suite runs.

SMALL_MARKET = {"n_symbols": 12, "years": 2.0, "seed": 7, "intraday_days": 2,
                "end": date(2026, 11, 20)}


@pytest.fixture(scope="session")
def synthetic_market() -> SyntheticMarket:
    """The small synthetic market (read-only: do not mutate what it returns)."""
    return SyntheticMarket(SyntheticSpec(**SMALL_MARKET))


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data root filled by write_demo_data, copied per test by `demo_root`."""
    from jobs.demo import write_demo_data

    root = tmp_path_factory.mktemp("demo_template") / "data"
    write_demo_data(Store(root), **SMALL_MARKET)
    return root


@pytest.fixture
def demo_root(tmp_path: Path, _demo_template: Path) -> Store:
    """A data root in tmp_path filled with the small synthetic market (a private copy)."""
    root = tmp_path / "data"
    shutil.copytree(_demo_template, root)
    return Store(root)


# --------------------------------------------------------------------------- PostgreSQL
# A real server for the metrics store's tests (issue 14), started once per session: the start
# and stop live in tests/pg_server.py, which bench/bench_metrics.py uses too.


@pytest.fixture(scope="module")
def kill_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small synthetic root every run of a kill-suite module copies (tests/kills.py)."""
    from kills import write_template

    return write_template(tmp_path_factory)


@pytest.fixture(scope="module")
def kill_launcher(request: pytest.FixtureRequest) -> Iterator:
    """The kill suite's job launcher for a module whose jobs are its KILL_JOBS; at the
    module's end, their figures in one line."""
    from kills import Launcher, print_figures

    started = Launcher()
    yield started
    started.close()
    print_figures(request, request.module.KILL_JOBS)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL, or a skip naming what is missing (stopped at the end)."""
    if not pg_installed():
        pytest.skip(PG_MISSING)
    server = PgServer.launch()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def metrics_url(pg_server: PgServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the session's server, for one test."""
    import re

    return pg_server.create_db(re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:60])


# --------------------------------------------------------------------------- Redis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for the session, on a free port under a temporary folder."""
    if not shutil.which("redis-server"):
        pytest.skip(MISSING)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- S3 (moto)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's S3 server as its own process on 127.0.0.1 (issue 15: raw bars on object
    storage are tested against a real HTTP server, not a mock of our code); its endpoint URL."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                             "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto's server did not start on {endpoint}")
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_raw(moto_server: str, monkeypatch: pytest.MonkeyPatch,
           request: pytest.FixtureRequest) -> tuple[str, str]:
    """(AION_RAW_URL, AION_S3_ENDPOINT_URL): a fresh bucket on the session's moto server, fake
    credentials in the standard AWS variables."""
    import re

    import boto3

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:50].strip("-")
    boto3.client("s3", endpoint_url=moto_server).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/aion/raw", moto_server
