"""Where the raw daily bars live: the data root's `raw/daily/` folder, or object storage.

`AION_RAW_URL=s3://bucket/prefix` stands for the data root's `raw/` folder: a symbol's bars
are `<prefix>/daily/<SYMBOL>.parquet`, the same layout below it as below `raw/`, so a root's
`raw/daily/` copied with `aws s3 sync raw/ s3://bucket/prefix/` is ready to use. Only the
daily bars move there; macro series, news and 1-minute bars stay in the data root.

`RawLocation` is a small frozen value (three strings) so that it pickles: the Dask path ships
it to workers, which call `read_daily_bars` and read the objects themselves instead of
having the client read and send them. Credentials come from the standard AWS variables
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, ...) that botocore reads on each
machine; they are never part of the location, so never logged or pickled.

An object is written with a single PUT (a file of the sizes here is far below s3fs's
multipart threshold, and a multipart upload also appears only when complete), so readers
see the old object or the new one, as `atomic_write_bytes` guarantees on disk. Object
storage has no file locks: writers sharing a data root still serialise on its lock files
(`Store.file_lock`, the nightly's job lock), but writers from two data roots at one
`AION_RAW_URL` are not serialised, and the later PUT of a symbol wins whole.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from aion_core.config import resolve
from aion_core.errors import ConfigurationError, CorruptFileError, TemporaryError
from aion_core.store.files import READ_THREADS, _read_table, parquet_bytes, write_parquet
from aion_core.store.schema import DAILY_SCHEMA, conform_daily

#: Objects fetched per request batch: s3fs fetches a batch concurrently, and a batch bounds
#: the undecoded bytes held at once (about 100 kB per symbol-decade).
FETCH_BATCH = 64


@dataclass(frozen=True)
class RawLocation:
    """The raw daily bars of data root `root`: under it, or under `url` when set
    (`s3://bucket/prefix`; `endpoint_url` for an S3-compatible store such as MinIO)."""

    root: str
    url: str = ""
    endpoint_url: str = ""

    @property
    def remote(self) -> bool:
        return bool(self.url)

    def name(self, symbol: str) -> str:
        """The file or object URL of a symbol's bars (what errors name); the symbol is checked
        by `resolve`, so no symbol reaches outside the folder or the prefix."""
        path = resolve(Path(self.root), "raw_daily", symbol=symbol)
        if not self.remote:
            return str(path)
        below = path.relative_to(Path(self.root) / "raw").as_posix()
        return f"{self.url.rstrip('/')}/{below}"

    def symbols(self) -> list[str]:
        """Symbols with a bars file, sorted."""
        folder = self.name("X").rsplit("/", 1)[0]
        if not self.remote:
            names = [p.name for p in Path(folder).glob("*.parquet")] \
                if Path(folder).is_dir() else []
        else:
            with self._errors(folder):
                fs = self._fs()
                try:
                    names = [k.rsplit("/", 1)[-1] for k in fs.ls(folder, detail=False)]
                except FileNotFoundError:
                    names = []
                bucket = self.url.split("://", 1)[1].split("/", 1)[0]
                if not names and not fs.exists(bucket):  # a typo, not an empty store
                    raise ConfigurationError(f"AION_RAW_URL {self.url}: bucket {bucket!r} "
                                             "does not exist (or is not visible with these "
                                             "credentials)")
        return sorted(n[: -len(".parquet")] for n in names if n.endswith(".parquet"))

    def table(self, symbol: str, use_threads: bool = True) -> pa.Table | None:
        """One symbol's bars in DAILY_SCHEMA (schema.conform_daily), None if absent;
        CorruptFileError naming the file or object when it cannot be read."""
        if not self.remote:
            path = Path(self.name(symbol))
            table = _read_table(path, use_threads=use_threads)
            return None if table is None else conform_daily(table, path, symbol)
        return next(self._fetch([symbol], None))[1]

    def write(self, symbol: str, bars: pd.DataFrame) -> None:
        """Replace a symbol's bars whole (atomic rename on disk, one PUT on object storage)."""
        if not self.remote:
            write_parquet(Path(self.name(symbol)), bars)
            return
        url = self.name(symbol)
        with self._errors(url):
            self._fs().pipe_file(url, parquet_bytes(bars))

    def _fs(self) -> Any:
        """The fsspec filesystem of `url` (fsspec keeps one instance per set of options).
        Listings are not cached: another writer's new symbol must show at the next read."""
        import fsspec  # only a root with AION_RAW_URL pays for importing s3fs and botocore

        protocol = self.url.split("://", 1)[0]
        options: dict[str, Any] = {"use_listings_cache": False}
        if self.endpoint_url:
            options["endpoint_url"] = self.endpoint_url
        return fsspec.filesystem(protocol, **options)

    def _errors(self, url: str) -> contextlib.AbstractContextManager[None]:
        return _store_errors(url, self.endpoint_url)

    def _fetch(self, symbols: list[str],
               refused: dict[str, str] | None) -> Iterator[tuple[str, pa.Table | None]]:
        """(symbol, conformed table or None when absent) for each symbol, fetched in
        concurrent batches; a corrupt object raises, or is recorded in `refused`."""
        fs = self._fs()
        for start in range(0, len(symbols), FETCH_BATCH):
            batch = symbols[start:start + FETCH_BATCH]
            urls = [self.name(s) for s in batch]
            with self._errors(self.url):
                got = fs.cat(urls, on_error="return")
            for symbol, url in zip(batch, urls, strict=True):
                data = got.get(url.split("://", 1)[1])  # fsspec keys drop the protocol
                try:
                    yield symbol, self._decode(symbol, url, data)
                except CorruptFileError as exc:
                    if refused is None:
                        raise
                    refused[symbol] = str(exc)
                    yield symbol, None

    def _decode(self, symbol: str, url: str, data: bytes | BaseException | None) -> pa.Table | None:
        if data is None or isinstance(data, FileNotFoundError):
            return None
        if isinstance(data, BaseException):
            with self._errors(url):
                raise data
        try:
            table = pq.ParquetFile(pa.BufferReader(data)).read(use_threads=False)
        except (OSError, pa.ArrowException, ValueError) as exc:
            raise CorruptFileError(url, str(exc).splitlines()[0][:200]) from exc
        return conform_daily(table, url, symbol)


@contextlib.contextmanager
def _store_errors(url: str, endpoint_url: str) -> Iterator[None]:
    """An object store's failures as the package's errors, by what to do: a refused access
    or no credentials is configuration (stop), a failure on the way is temporary (retry).
    s3fs turns most S3 replies into OSError; botocore raises its own errors before any reply."""
    where = url + (f" (endpoint {endpoint_url})" if endpoint_url else "")
    try:
        yield
    except (CorruptFileError, FileNotFoundError):
        raise
    except PermissionError as exc:
        raise ConfigurationError(f"access to {where} was refused: check AWS_ACCESS_KEY_ID / "
                                 "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket's "
                                 "policy") from exc
    except Exception as exc:
        from botocore.exceptions import BotoCoreError, NoCredentialsError

        if isinstance(exc, NoCredentialsError):
            raise ConfigurationError(f"no AWS credentials for {where}: set AWS_ACCESS_KEY_ID "
                                     "and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)") from exc
        if not isinstance(exc, (OSError, BotoCoreError)):
            raise
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise TemporaryError(f"object storage {where}: {reason}") from exc


def read_daily_bars(location: RawLocation, symbols: Iterable[str] | None = None,
                    end: pd.Timestamp | str | None = None,
                    refused: dict[str, str] | None = None) -> pd.DataFrame:
    """Long frame `symbol, date, open, high, low, close, volume` (date tz-naive datetime64,
    volume int64), sorted by (symbol, date): these symbols' bars (all stored when None).

    The one reader of bars for many symbols: `Store.read_daily_panel` and the Dask workers
    (each on its bucket of symbols) call it, so both see the same frame from disk or S3.
    `end` (inclusive) drops every later bar at read time: this is how `--as-of` keeps the
    future out of everything downstream. A missing or empty file is skipped. A file that
    cannot be read or lacks a column raises CorruptFileError, or, when `refused` is given,
    is left out and recorded there (symbol -> the error's one line).
    """
    wanted = list(symbols if symbols is not None else location.symbols())
    if location.remote:
        tables = [t for _, t in location._fetch(wanted, refused)]
    else:
        def read(symbol: str) -> pa.Table | None:
            # Arrow decodes outside the GIL: a few threads overlap I/O and decoding.
            try:
                return location.table(symbol, use_threads=False)
            except CorruptFileError as exc:
                if refused is None:
                    raise
                refused[symbol] = str(exc)
                return None

        with ThreadPoolExecutor(READ_THREADS) as pool:
            tables = list(pool.map(read, wanted))
    tables = [t for t in tables if t is not None and t.num_rows]
    if not tables:
        return DAILY_SCHEMA.empty_table().to_pandas()
    panel = pa.concat_tables(tables).to_pandas()
    if end is not None:
        panel = panel[panel["date"] <= pd.Timestamp(end)]
    return panel.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)
