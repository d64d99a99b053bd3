"""File primitives of the data root: atomic writes, locks, JSON, text, Parquet, JSONL."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import os
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from aion_core.errors import CorruptFileError, TemporaryError
from aion_core.store import documents

log = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 60.0
#: The largest JSON document read (unpacked): a brain of 5,000 symbols and three horizons is
#: about 5 MB, so a file far past this is a fault or a gzip bomb, not data to load whole.
MAX_JSON_BYTES = 64 << 20
#: Threads reading many small files at once (Arrow decodes outside the GIL, so reads
#: overlap each other's I/O and decoding even on two cores).
READ_THREADS = 4


# --------------------------------------------------------------------------- primitives


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # write() on a full disk names no file: name ours
        raise
    _fsync_dir(path.parent)


def lock(path: Path, timeout: float = LOCK_TIMEOUT_S) -> FileLock:
    """The lock that serialises writers of `path` (a `.lock` file beside it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path) + ".lock", timeout=timeout)


@contextlib.contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    try:
        with lock(path, timeout):
            yield
    except Timeout as exc:
        raise TemporaryError(f"{path} is locked by another writer; try again") from exc


# --------------------------------------------------------------------------- JSON / text


def _json_bytes(obj: Any, gz: bool) -> bytes:
    raw = json.dumps(obj, indent=None if gz else 2, sort_keys=False, default=str,
                     allow_nan=False).encode()
    # mtime=0 keeps the gzip header free of time, so equal content gives equal bytes.
    return gzip.compress(raw, compresslevel=6, mtime=0) if gz else raw + b"\n"


def write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write; gzip when the name ends in .gz. NaN/inf are refused, not written,
    and so is a document that does not fit its model (documents.check): what a reader
    would refuse is never stored. The check runs on the JSON as written (after `default=str`
    and numpy's numbers become JSON), since that is what readers will get."""
    gz = str(path).endswith(".gz")
    data = _json_bytes(obj, gz)
    if documents.key_of(path) is not None:
        documents.check(path, json.loads(gzip.decompress(data) if gz else data))
    atomic_write_bytes(Path(path), data)


def _gunzip(data: bytes, limit: int) -> bytes:
    """gzip's content, refusing one that grows past `limit` (a gzip bomb) or is cut short."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit:
        raise ValueError(f"larger than {limit >> 20} MB once unpacked; refused")
    if not inflater.eof:
        raise EOFError("truncated gzip data")
    return out


def read_json(path: Path) -> Any | None:
    """Parsed JSON (gzip when .gz), None when the file does not exist. A document larger
    than MAX_JSON_BYTES is refused before it is read whole."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise CorruptFileError(path, f"{size >> 20} MB, more than any document of the "
                                         f"root ({MAX_JSON_BYTES >> 20} MB); refused")
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        if path.name.endswith(".gz"):
            data = _gunzip(data, MAX_JSON_BYTES)
        doc = json.loads(data)
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise CorruptFileError(path, str(exc).splitlines()[0][:200]) from exc
    documents.check(path, doc)
    return doc


def update_json(path: Path, fn: Callable[[Any | None], Any]) -> Any:
    """Read-modify-write under the file's lock: `fn(old_or_None) -> new`, written atomically."""
    with locked(path):
        new = fn(read_json(path))
        write_json(path, new)
    return new


def write_text(path: Path, text: str) -> None:
    atomic_write_bytes(Path(path), text.encode())


def read_text(path: Path) -> str | None:
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return None


def tail_lines(path: Path, n: int) -> list[str] | None:
    """The last `n` lines of a text file without reading all of a large one."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    block = 1 << 16
    with path.open("rb") as fh:
        data = b""
        pos = size
        while pos > 0 and data.count(b"\n") <= n:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
    return data.decode(errors="replace").splitlines()[-n:]


# --------------------------------------------------------------------------- Parquet


def write_parquet(path: Path, df: pd.DataFrame, compression: str = "zstd") -> None:
    """Atomic Parquet write (index dropped: every column that matters is a column).

    Dictionary encoding is tried on the non-float columns only: on float columns it almost
    never pays (their values rarely repeat) and trying it costs a third of the write.
    `compression`: any Parquet codec; "lz4" writes a large file about twice as fast as zstd
    for ~10% more bytes.
    """
    atomic_write_bytes(Path(path), parquet_bytes(df, compression))


def parquet_bytes(df: pd.DataFrame, compression: str = "zstd") -> bytes:
    """`df` as one Parquet file in memory, encoded as write_parquet writes it: the bytes an
    object store receives in a single PUT (raw_location), so both places hold equal files."""
    buf = io.BytesIO()
    table = pa.Table.from_pandas(df, preserve_index=False)
    repeating = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    pq.write_table(table, buf, compression=compression, use_dictionary=repeating)
    return buf.getvalue()


def _read_table(path: Path, columns: list[str] | None = None,
                filters: list[tuple] | None = None,
                use_threads: bool = True) -> pa.Table | None:
    """The Arrow table of a Parquet file, None when it does not exist (CorruptFileError when
    it cannot be read). `use_threads=False` for callers that already read files in parallel."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        # ParquetFile skips the dataset machinery: half the cost per file. A directory is a
        # cluster nightly's dataset (jobs/cluster/dataset.py): its part files, read in name order.
        if filters is None and not path.is_dir():
            with pq.ParquetFile(path) as parquet:
                return parquet.read(columns=columns, use_threads=use_threads)
        return pq.read_table(path, columns=columns, filters=filters, use_threads=use_threads)
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise CorruptFileError(path, str(exc).splitlines()[0][:200]) from exc


def read_parquet(path: Path, columns: list[str] | None = None,
                 filters: list[tuple] | None = None) -> pd.DataFrame | None:
    table = _read_table(path, columns, filters)
    return None if table is None else table.to_pandas()


# --------------------------------------------------------------------------- JSONL


@dataclass
class JsonlRead:
    """Records of a JSONL file; `torn` counts unparseable lines that were skipped."""

    records: list[dict[str, Any]] = field(default_factory=list)
    torn: int = 0


def _trim_torn_tail(fh) -> None:
    """Cut a last line that has no newline: a crash mid-append left it, nobody saw it land."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    if size == 0:
        return
    fh.seek(size - 1)
    if fh.read(1) == b"\n":
        return
    back = min(size, 1 << 20)
    fh.seek(size - back)
    tail = fh.read(back)
    cut = tail.rfind(b"\n")
    new_size = (size - back + cut + 1) if cut >= 0 else 0
    log.warning("trimming a torn last line (%d bytes) of %s", size - new_size, fh.name)
    fh.truncate(new_size)


def append_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Append records durably (one line each, fsync) under the file's lock; returns the count."""
    path = Path(path)
    encoded = [json.dumps(r, default=str, allow_nan=False, separators=(",", ":"))
               for r in records]
    if documents.key_of(path) is not None:
        for text in encoded:
            documents.check(path, json.loads(text))
    lines = b"".join(text.encode() + b"\n" for text in encoded)
    if not lines:
        return 0
    with locked(path):
        with open(path, "a+b") as fh:
            _trim_torn_tail(fh)
            fh.seek(0, os.SEEK_END)
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(path.parent)
    return lines.count(b"\n")


def read_jsonl(path: Path) -> JsonlRead:
    """Every parseable record; a torn or garbled line is skipped, counted and logged. A line
    that parses but does not fit its model (a fill with qty 0, a missing order id) raises
    CorruptFileError naming the line: a ledger is not guessed at, so no bot trades on it."""
    path = Path(path)
    out = JsonlRead()
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise CorruptFileError(path, f"{size >> 20} MB, more than any log of the root "
                                         f"({MAX_JSON_BYTES >> 20} MB); refused")
        raw = path.read_bytes()
    except FileNotFoundError:
        return out
    for lineno, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            out.torn += 1
            log.warning("skipping unreadable line %d of %s", lineno, path)
            continue
        documents.check(path, rec, lineno)
        out.records.append(rec)
    return out


@contextlib.contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """A new directory that replaces `final` (a file or a directory) by renames when the block
    succeeds, removed when it fails: a reader sees the old one or the new one, never a part.
    Stagings a killed run left beside `final` go first; the caller's job lock says no other
    run is writing one."""
    for left in [*final.parent.glob(f"{final.name}.*.tmp"),
                 *final.parent.glob(f"{final.name}.*.old")]:
        _remove(left)
    staging = final.with_name(f"{final.name}.{uuid.uuid4().hex[:8]}.tmp")
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = final.with_name(f"{final.name}.{uuid.uuid4().hex[:8]}.old")
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
