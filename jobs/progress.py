"""What a person watching a job sees on stderr: progress of long work (a bar on a terminal,
plain log lines every ~10 % otherwise) and one line per failure.

Why one line per failure: a traceback is for whoever debugs the code, not for whoever runs
the job, and on stderr it buried the line that says what to do. So a failure is logged as one
line naming the file or setting and what to do (`describe`), and its traceback travels in a
record marked FILE_ONLY: the job's log file keeps it, stderr shows it only with AION_DEBUG=1
(`stderr_handler`).
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from aion_core.errors import AionError

T = TypeVar("T")
log = logging.getLogger("aion.progress")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DEBUG_ENV = "AION_DEBUG"
#: `extra=` of a record for the job's log file only (a traceback, a failure that the command
#: or the scheduler reports itself in one line): on stderr only with AION_DEBUG=1.
FILE_ONLY = {"file_only": True}

_MOVE = "or point --data-dir / AION_DATA_DIR elsewhere"
#: What to do about the OS errors a job meets on the data root; `{path}` is the file.
OS_ADVICE = {
    errno.ENOSPC: "disk full writing {path}: free space on that disk, then run again",
    errno.EDQUOT: "disk quota exceeded writing {path}: free space or raise the quota, then "
                  "run again",
    errno.EACCES: f"permission denied on {{path}}: let this user read and write it, {_MOVE}",
    errno.EPERM: f"operation not permitted on {{path}}: let this user read and write it, "
                 f"{_MOVE}",
    errno.EROFS: f"{{path}} is on a read-only file system: {_MOVE}",
    errno.ENOTDIR: f"{{path}}: part of this path is a file, not a folder: remove that file, "
                   f"{_MOVE}",
    errno.EISDIR: "{path} is a folder where a file belongs: remove or rename it",
}


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


def debug() -> bool:
    """AION_DEBUG=1: tracebacks on stderr too."""
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def describe(exc: BaseException, root: Path | str | None = None) -> str:
    """One line for a person: what failed, on which file, and what to do.

    An AionError's message is already that line. An OS error the job can meet on the data
    root (disk full, permissions, a file where a folder belongs) gets its advice; the system
    names the file only for some calls (not for a write() that hits a full disk), so then
    the data root `root` is named instead.
    """
    if isinstance(exc, OSError) and exc.errno in OS_ADVICE:
        where = exc.filename or (f"a file under {root}" if root is not None
                                 else "the data root (--data-dir / AION_DATA_DIR)")
        return OS_ADVICE[exc.errno].format(path=where)
    first = (str(exc).splitlines() or [""])[0]
    return first if isinstance(exc, AionError) else f"{type(exc).__name__}: {first}"


class _OneLine(logging.Formatter):
    """A record as one line, without its traceback (that is in the job's log file)."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        return " ".join(self.formatMessage(record).splitlines())


def _not_file_only(record: logging.LogRecord) -> bool:
    return not getattr(record, "file_only", False)


def stderr_handler() -> logging.Handler:
    """The commands' stderr: one line per record, FILE_ONLY records left out, unless
    AION_DEBUG=1, which shows everything with its traceback."""
    handler = logging.StreamHandler(sys.stderr)
    if debug():
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    else:
        handler.setFormatter(_OneLine(LOG_FORMAT))
        handler.addFilter(_not_file_only)
    return handler
