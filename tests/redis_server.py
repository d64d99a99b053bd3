"""A real redis-server for the cache tests: Debian's binary on a free port in a temporary
folder, nothing saved to disk. `make test` installs the binary; where it is absent the tests
that need it skip and say why."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

BINARY = "redis-server"
MISSING = ("redis-server is not installed (Debian package redis-server; `make test` installs "
           "it where apt-get can)")


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick for a socket bound to port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process; `stop()` and `start()` again to play an outage on one URL."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        binary = shutil.which(BINARY)
        assert binary, MISSING
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--daemonize", "no",
             "--enable-debug-command", "local",  # DEBUG SLEEP plays a stalled server
             "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start; see {self.folder}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
