"""Retry with exponential backoff, for the TemporaryError an outside service raises, and the
time limit that turns a silent service into one.

Rate limits and timeouts are the normal weather of free market-data APIs: the answer is to
wait a little longer each time and then give up with the last error, never to loop forever
or to hammer the service. `sleep` is injectable so tests run without waiting.

A retry only helps a call that ends: a server that accepts a request and never answers would
block a job forever (and, under the scheduler, hold its lock so later runs are skipped). So
every network call the adapters make waits at most HTTP_TIMEOUT_S, after which the adapter
raises TemporaryError and the retry above takes over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aion_core.errors import TemporaryError

T = TypeVar("T")
log = logging.getLogger(__name__)

#: (connect, read) seconds. Connecting takes milliseconds when a service is up; 30 s between
#: bytes is far beyond any healthy answer of Alpaca, Yahoo or FRED, yet short enough that all
#: retries of one call still end within minutes, well before the next scheduled run.
HTTP_TIMEOUT_S: tuple[float, float] = (10.0, 30.0)


def http_timeout(read_s: float | None = None) -> tuple[float, float]:
    """(connect, read) seconds: HTTP_TIMEOUT_S, with `read_s` as the read limit when given
    (and as the connect limit too when it is the shorter; tests use fractions of a second)."""
    connect, read = HTTP_TIMEOUT_S
    return (connect, read) if read_s is None else (min(connect, read_s), read_s)


def time_limited(session: Any, timeout: tuple[float, float]) -> Any:
    """`session` (a requests.Session), changed so that a request sent without a timeout of its
    own waits at most `timeout` (connect, read), then raises requests' Timeout.

    For SDKs that own a requests.Session but offer no timeout option: alpaca-py's RESTClient
    sends every call as `self._session.request(method, url, **opts)` with no timeout at all.
    Wrapping `request` (what `get`, `post`, ... all go through) keeps the SDK's own request
    building, its retries and its error parsing unchanged."""
    request = session.request

    def limited(method: str, url: str, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = timeout
        return request(method, url, **kwargs)

    session.request = limited
    return session


@dataclass(frozen=True)
class Backoff:
    """`attempts` tries in all; waits base, base*factor, ... seconds (capped) between them."""

    attempts: int = 4
    base_s: float = 2.0
    factor: float = 2.0
    max_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def delays(self) -> list[float]:
        """The waits between tries (one fewer than `attempts`)."""
        return [min(self.max_s, self.base_s * self.factor**i) for i in range(self.attempts - 1)]


def with_retry(fn: Callable[[], T], backoff: Backoff, what: str) -> T:
    """`fn()`, retried on TemporaryError as `backoff` says; after the last try, one
    TemporaryError saying how many tries failed (the adapters' one retry policy)."""
    for delay in backoff.delays():
        try:
            return fn()
        except TemporaryError as exc:
            log.warning("%s: %s; retrying in %.1f s", what, exc, delay)
            backoff.sleep(delay)
    try:
        return fn()
    except TemporaryError as exc:
        raise TemporaryError(f"{what}: still failing after {backoff.attempts} attempts: "
                             f"{exc}") from exc
