"""A real PostgreSQL for the metrics store's tests and bench (issue 14): Debian's PostgreSQL 15,
a throw-away cluster on a free port in a temporary folder, fsync off. PostgreSQL refuses to run
as root, so as root the folder belongs to `postgres` and every command runs through runuser.
`make test` installs the server; where it is absent the callers skip and say why (MISSING)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
MISSING = f"PostgreSQL 15 is not installed ({PG_BIN}): `make test` installs it"


def installed() -> bool:
    """Whether the server's binaries are where Debian puts them."""
    return (PG_BIN / "initdb").exists()


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick for a socket bound to port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One throw-away cluster: `url(db)` for SQLAlchemy, `stop()`/`start()` for the tests that
    take the server away in the middle of a job, `create_db()` for a clean database per test."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.data, self.port, self.log = folder / "data", port, folder / "server.log"
        self.sockets = folder / "sockets"

    @classmethod
    def launch(cls) -> PgServer:
        """A new cluster in a new temporary folder, initialised and started; `close()` ends it."""
        folder = Path(tempfile.mkdtemp(prefix="aion-pg-"))
        server = cls(folder, free_port())
        server.sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
            shutil.chown(server.sockets, "postgres", "postgres")
        try:
            server.init()
            server.start()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return server

    def close(self) -> None:
        """Stop the server and delete its folder (the folder goes even if the stop fails)."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, *args: str) -> None:
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
        """A new, empty database `name` (dropped first if it exists); its URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
