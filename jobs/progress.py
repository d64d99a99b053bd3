"""Progress for long work: a bar on a terminal, plain log lines (every ~10 %) otherwise."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("aion.progress")


def progress(items: Iterable[T], total: int | None = None, desc: str = "working") -> Iterator[T]:
    """Yield `items` while showing how far along the work is."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if sys.stderr.isatty():
        from rich.progress import track

        yield from track(items, total=total, description=desc, transient=True)
        return
    step = max(1, (total or 0) // 10)
    for i, item in enumerate(items, 1):
        yield item
        if total and (i % step == 0 or i == total):
            log.info("%s: %d/%d", desc, i, total)
