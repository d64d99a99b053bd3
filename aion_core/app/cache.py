"""The app's read models shared between its processes through Redis (`AION_REDIS_URL`).

Each app process keeps its own in-process cache (pages/_ui.py, `st.cache_data`); this layer
sits under it, so a value one process loaded is read by the others instead of re-parsing the
same files. The files stay the source of truth: a key names the loader, its version, its
arguments and the (path, mtime) of every file it reads (`read_model_key`), so a job rewriting a
file makes new keys and the old entries simply expire after TTL_S.

Redis must never cost a page more than a blink: the client uses short socket timeouts and no
retries, and after one failure the cache leaves Redis alone for BACKOFF_S (every call goes
straight to the loader) and `notice` says so for the sidebar.

Values are encoded without pickle (a shared cache must not run code on read): JSON with small
type tags for documents, dates and tuples, Arrow IPC for DataFrames and Series, and only the
dataclasses registered in READ_MODEL_TYPES. A value holding anything else (a set, a model
object) raises Unsupported on encoding and is simply not shared: that loader stays in the
process's own cache, which is correct, only not shared.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import struct
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from aion_core.app import views
from aion_core.store import Store

TTL_S = 3600
TIMEOUT_S = 0.3
BACKOFF_S = 30.0
MAX_BYTES = 64 << 20  # larger values are not worth a network round trip; kept in-process
PREFIX = "aion:rm1"  # rm = read model; the number is the encoding's version

_MAGIC = b"AIONRM1\n"
_LEN = struct.Struct(">Q")

#: The dataclasses the app's loaders return (name -> module): decoding builds only these, so
#: the bytes in Redis can name no other class to construct. Modules, not classes, so that
#: importing the cache does not import the models' libraries.
READ_MODEL_TYPES: dict[str, str] = {
    "TrackRecord": "aion_core.ml.monitoring", "Drift": "aion_core.ml.monitoring",
    "Explanation": "aion_core.ml.monitoring", "BacktestRun": "aion_core.app.research_view",
}


class Unsupported(TypeError):
    """The value holds a type this encoding does not carry: keep it in-process only."""


# --------------------------------------------------------------------------- encoding


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    try:
        table = pa.Table.from_pandas(frame, preserve_index=True)
    except (pa.ArrowException, TypeError, ValueError) as exc:  # mixed object columns
        raise Unsupported(f"frame not representable in Arrow: {exc}") from exc
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _frame_from(blob: bytes) -> pd.DataFrame:
    return pa.ipc.open_stream(blob).read_all().to_pandas()


class _Encoder:
    """Turns a value into a JSON tree plus the binary blobs (frames) it refers to."""

    def __init__(self) -> None:
        self.blobs: list[bytes] = []

    def _blob(self, data: bytes) -> int:
        self.blobs.append(data)
        return len(self.blobs) - 1

    def tree(self, v: Any) -> Any:  # noqa: C901 - one flat dispatch on the value's type
        if v is None or isinstance(v, bool | int | float | str):
            return v
        if isinstance(v, np.generic):
            return self.tree(v.item())
        if v is pd.NaT:
            return {"$nat": None}
        if isinstance(v, pd.Timestamp):
            return {"$ts": [v.isoformat(), str(v.tz) if v.tz else None]}
        if isinstance(v, datetime):
            return {"$datetime": v.isoformat()}
        if isinstance(v, date):
            return {"$date": v.isoformat()}
        if isinstance(v, list):
            return [self.tree(x) for x in v]
        if isinstance(v, tuple):
            return {"$tuple": [self.tree(x) for x in v]}
        if isinstance(v, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in v):
                return {k: self.tree(x) for k, x in v.items()}
            return {"$map": [[self.tree(k), self.tree(x)] for k, x in v.items()]}
        if isinstance(v, pd.DataFrame):
            return {"$frame": self._blob(_frame_bytes(v))}
        if isinstance(v, pd.Series):
            return {"$series": self._blob(_frame_bytes(v.to_frame())), "name": self.tree(v.name)}
        if dataclasses.is_dataclass(v) and \
                READ_MODEL_TYPES.get(type(v).__qualname__) == type(v).__module__:
            fields = {f.name: self.tree(getattr(v, f.name)) for f in dataclasses.fields(v)}
            return {"$dc": type(v).__qualname__, "fields": fields}
        raise Unsupported(f"{type(v).__name__} is not carried by the shared cache")


def encode(value: Any) -> bytes:
    """The bytes stored in Redis: magic, JSON tree, then each blob; raises Unsupported."""
    enc = _Encoder()
    head = json.dumps(enc.tree(value), separators=(",", ":")).encode()
    parts = [_MAGIC, _LEN.pack(len(head)), head]
    for blob in enc.blobs:
        parts += [_LEN.pack(len(blob)), blob]
    return b"".join(parts)


def _untree(node: Any, blobs: list[bytes]) -> Any:  # noqa: C901 - the encoder's mirror
    if isinstance(node, list):
        return [_untree(x, blobs) for x in node]
    if not isinstance(node, dict):
        return node
    tag = next(iter(node), "")
    if not tag.startswith("$"):
        return {k: _untree(x, blobs) for k, x in node.items()}
    body = node[tag]
    if tag == "$nat":
        return pd.NaT
    if tag == "$ts":
        stamp = pd.Timestamp(body[0])
        return stamp.tz_convert(body[1]) if body[1] else stamp
    if tag == "$datetime":
        return datetime.fromisoformat(body)
    if tag == "$date":
        return date.fromisoformat(body)
    if tag == "$tuple":
        return tuple(_untree(x, blobs) for x in body)
    if tag == "$map":
        return {_untree(k, blobs): _untree(x, blobs) for k, x in body}
    if tag == "$frame":
        return _frame_from(blobs[body])
    if tag == "$series":
        return _frame_from(blobs[body]).iloc[:, 0].rename(_untree(node["name"], blobs))
    if tag == "$dc":
        cls = getattr(importlib.import_module(READ_MODEL_TYPES[body]), body)  # KeyError: not ours
        return cls(**{k: _untree(x, blobs) for k, x in node["fields"].items()})
    raise ValueError(f"unknown tag {tag!r}")


def decode(data: bytes) -> Any:
    """The value `encode` stored; ValueError/KeyError when the bytes are not one."""
    if not data.startswith(_MAGIC):
        raise ValueError("not a cached read model")
    pos = len(_MAGIC)
    chunks = []
    while pos < len(data):
        (size,) = _LEN.unpack_from(data, pos)
        chunks.append(data[pos + _LEN.size:pos + _LEN.size + size])
        pos += _LEN.size + size
    head, *blobs = chunks
    return _untree(json.loads(head), blobs)


# --------------------------------------------------------------------------- keys


def read_model_key(name: str, args: Iterable[Any],
                   source: Iterable[tuple[str, int]]) -> str:
    """`PREFIX:<loader>:v<version>:<digest>`; the digest covers the arguments and each file's
    path and mtime (views.source_key), which are too long to spell out in a key."""
    loader = views.LOADERS[name]
    payload = json.dumps([_Encoder().tree(list(args)), [list(s) for s in source]],
                         separators=(",", ":"))
    return f"{PREFIX}:{name}:v{loader.version}:{hashlib.sha256(payload.encode()).hexdigest()}"


# --------------------------------------------------------------------------- the shared cache


class SharedCache:
    """Read models in Redis, with the process's own loader as the fallback.

    `clock` is an argument so the back-off can be tested without sleeping.
    """

    def __init__(self, url: str, ttl_s: int = TTL_S, timeout_s: float = TIMEOUT_S,
                 backoff_s: float = BACKOFF_S, clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.backoff_s, self._clock = ttl_s, backoff_s, clock
        self._down_until = 0.0
        self.notice: str | None = None  # what the sidebar shows while Redis cannot be used
        try:
            self._redis: redis.Redis | None = redis.Redis.from_url(
                url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                retry=Retry(NoBackoff(), 0), health_check_interval=0)
        except ValueError:  # never echo the URL: it may hold a password
            self._redis = None
            self.notice = "AION_REDIS_URL is not a Redis URL: using this process's cache"

    def _usable(self) -> bool:
        return self._redis is not None and self._clock() >= self._down_until

    def _failed(self) -> None:
        self._down_until = self._clock() + self.backoff_s
        self.notice = "Redis unreachable: using this process's cache"

    def get_or_load(self, key: str, load: Callable[[], Any]) -> Any:
        """The value under `key` from Redis, else `load()` (stored for the other processes).

        A value that cannot be read back (another encoding, damaged) is loaded again and
        overwritten; one that cannot be encoded is returned without being shared.
        """
        if not self._usable():
            return load()
        assert self._redis is not None
        try:
            data = self._redis.get(key)
        except (redis.RedisError, OSError):
            self._failed()
            return load()
        self.notice = None
        if data is not None:
            try:
                return decode(data)
            except (ValueError, KeyError, TypeError, IndexError, struct.error, pa.ArrowException):
                pass
        value = load()
        try:
            blob = encode(value)
        except Unsupported:
            return value
        if len(blob) <= MAX_BYTES:
            try:
                self._redis.set(key, blob, ex=self.ttl_s)
            except (redis.RedisError, OSError):
                self._failed()
        return value


def cached_load(cache: SharedCache, store: Store, name: str, *args: Any) -> Any:
    """`views.load(store, name, *args)` through the shared cache."""
    key = read_model_key(name, args, views.source_key(store, name, *args))
    return cache.get_or_load(key, lambda: views.load(store, name, *args))
