"""Shared fixtures: data roots in tmp_path, filled from the synthetic market."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from redis_server import MISSING, RedisServer

from aion_core.providers.synthetic import SyntheticMarket, SyntheticSpec
from aion_core.store import Store

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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
# A real server for the metrics store's tests (issue 14): Debian's PostgreSQL 15, started once
# per session on a free port in a temporary folder. It refuses to run as root, so as root the
# folder belongs to `postgres` and every command runs through runuser.

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PgServer:
    """One throw-away cluster: `url(db)` for SQLAlchemy, `stop()`/`start()` for the tests that
    take the server away in the middle of a job, `create_db()` for a clean database per test."""

    def __init__(self, folder: Path, port: int) -> None:
        self.data, self.port, self.log = folder / "data", port, folder / "server.log"
        self.sockets = folder / "sockets"

    def _run(self, *args: str) -> None:
        import os
        import subprocess

        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                  "-o", options, "start")

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def create_db(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """The session's PostgreSQL, or a skip naming what is missing (stopped at the end)."""
    import os
    import tempfile

    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 is not installed ({PG_BIN}): `make test` installs it")
    folder = Path(tempfile.mkdtemp(prefix="aion-pg-"))
    server = PgServer(folder, _free_port())
    server.sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(server.sockets, "postgres", "postgres")
    server.init()
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


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

    port = _free_port()
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
