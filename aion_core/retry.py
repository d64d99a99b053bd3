"""Retry with exponential backoff, for the TemporaryError an outside service raises.

Rate limits and timeouts are the normal weather of free market-data APIs: the answer is to
wait a little longer each time and then give up with the last error, never to loop forever
or to hammer the service. `sleep` is injectable so tests run without waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from aion_core.errors import TemporaryError

T = TypeVar("T")
log = logging.getLogger(__name__)


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
