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

Whatever Redis hands back is untrusted input (anyone who reaches the server can write under
our keys): a value larger than MAX_BYTES or nested deeper than MAX_DEPTH is refused before it
is decoded, and one that does not decode, or decodes to something the loader does not return
(`fits` its return annotation, and its Loader.check: the documents in it against their
schemas), is a cache miss: logged once per loader, loaded from the files and overwritten.
Never an exception into a page.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import io
import json
import logging
import re
import struct
import time
import types
import typing
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
#: Deepest JSON nesting a stored value may have (the read models need about ten): checked on
#: the bytes before json.loads, whose recursion a 100,000-deep value would exhaust.
MAX_DEPTH = 64
PREFIX = "aion:rm1"  # rm = read model; the number is the encoding's version

log = logging.getLogger("aion.app.cache")

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


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(text: bytes) -> int:
    """How deep the brackets of JSON `text` nest, counted without parsing it (strings are
    skipped): a linear scan in C and numpy, with no recursion to exhaust."""
    brackets = np.frombuffer(_STRING.sub(b"", text).translate(None, _NOT_BRACKET),
                             dtype=np.uint8)
    if not len(brackets):
        return 0
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def encode(value: Any) -> bytes:
    """The bytes stored in Redis: magic, JSON tree, then each blob; raises Unsupported (also
    for a value nested deeper than MAX_DEPTH, which no reader would take back)."""
    enc = _Encoder()
    head = json.dumps(enc.tree(value), separators=(",", ":")).encode()
    if json_depth(head) > MAX_DEPTH:
        raise Unsupported(f"nested deeper than {MAX_DEPTH}")
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
    """The value `encode` stored; ValueError/KeyError when the bytes are not one (ValueError
    before any parsing when they are larger than MAX_BYTES or nest deeper than MAX_DEPTH)."""
    if not data.startswith(_MAGIC):
        raise ValueError("not a cached read model")
    if len(data) > MAX_BYTES:
        raise ValueError(f"{len(data) >> 20} MB, more than the cache stores")
    pos = len(_MAGIC)
    chunks = []
    while pos < len(data):
        (size,) = _LEN.unpack_from(data, pos)
        chunks.append(data[pos + _LEN.size:pos + _LEN.size + size])
        pos += _LEN.size + size
    head, *blobs = chunks
    if json_depth(head) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH}")
    return _untree(json.loads(head), blobs)


# --------------------------------------------------------------------------- shapes


def fits(value: Any, hint: Any) -> bool:  # noqa: C901 - one flat dispatch on the hint's form
    """Whether `value` has the shape type hint `hint` describes, as deep as the hint goes
    (`Any` stops it); a registered dataclass's fields are checked against their own hints."""
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, a) for a in args)
    if hint is float:  # JSON and numpy write a whole float as an int
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin is None:
        return isinstance(value, hint) and (not dataclasses.is_dataclass(hint) or all(
            fits(getattr(value, f), h) for f, h in _hints(hint).items()))
    if not isinstance(value, origin):
        return False
    if origin is dict:
        return all(fits(k, args[0]) and fits(v, args[1]) for k, v in value.items())
    if origin is list:
        return all(fits(v, args[0]) for v in value)
    if origin is tuple and args and args[-1] is not Ellipsis:
        return len(value) == len(args) and all(fits(v, a) for v, a in zip(value, args,
                                                                          strict=True))
    if origin is tuple and args:
        return all(fits(v, args[0]) for v in value)
    return True


@functools.cache
def _hints(owner: Any) -> dict[str, Any]:
    """Resolved annotations of a function or class; {} (nothing checked) where they name a
    type their module does not import at run time."""
    try:
        return typing.get_type_hints(owner)
    except (NameError, TypeError):
        return {}


def check_shape(name: str, paths: list, value: Any) -> None:
    """Raise ValueError unless `value` is what loader `name` returns: its read's return
    annotation, then its Loader.check (the documents in it against their schemas)."""
    entry = views.LOADERS[name]
    hint = _hints(entry.read).get("return", Any)
    if not fits(value, hint):
        raise ValueError(f"not a {hint}")
    if entry.check is not None:
        entry.check(paths, value)


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
        self._reported: set[str] = set()  # loaders whose bad value was logged already
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

    def _bad(self, key: str, why: str) -> None:
        """Log once per loader (the key less its digest) that its value was refused."""
        where = key.rsplit(":", 1)[0]
        if where not in self._reported:
            self._reported.add(where)
            log.warning("shared cache: ignoring the value under %s (%s); reading the files "
                        "instead and replacing it", where, why[:200])

    def get_or_load(self, key: str, load: Callable[[], Any],
                    check: Callable[[Any], None] | None = None) -> Any:
        """The value under `key` from Redis, else `load()` (stored for the other processes).

        A value that cannot be read back (another encoding, damaged, too large or deep, of
        another type in Redis) or that `check` refuses (raises) is a miss: loaded again and
        overwritten. One that cannot be encoded is returned without being shared.
        """
        if not self._usable():
            return load()
        assert self._redis is not None
        try:
            data = self._redis.getrange(key, 0, MAX_BYTES)  # b"" when missing; never more
        except redis.ResponseError as exc:  # a key of another type (a list, a hash)
            self._bad(key, str(exc))
            data = b""
        except (redis.RedisError, OSError):
            self._failed()
            return load()
        self.notice = None
        if data:
            try:
                value = decode(data)
                if check is not None:
                    check(value)
                return value
            except Exception as exc:  # the boundary: bytes from Redis are untrusted input
                self._bad(key, f"{type(exc).__name__}: {exc}")
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
    entry = views.LOADERS[name]
    paths = entry.files(store, *args)
    key = read_model_key(name, args, views.fingerprint(paths))
    return cache.get_or_load(key, lambda: entry.read(store, paths, *args),
                             lambda value: check_shape(name, paths, value))
