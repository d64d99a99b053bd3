"""aion_core.app.cache against a real redis-server: the encoding of every read model, keys that
follow the files, two processes sharing one cache, and the app rendering with Redis down."""

from __future__ import annotations

import functools
import importlib
import json
import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from app_data import build_filled_root  # noqa: E402
from redis_server import RedisServer  # noqa: E402

import aion_core.app.models_view  # noqa: E402, F401 - registers the Models page's loaders
from aion_core.app import cache, views  # noqa: E402
from aion_core.app.research_view import BacktestRun  # noqa: E402
from aion_core.config import Settings, load_settings, masked_settings  # noqa: E402
from aion_core.errors import ConfigurationError  # noqa: E402
from aion_core.ml.monitoring import Drift, Explanation  # noqa: E402
from aion_core.store import Store  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["bots", "predictions", "models", "config", "logs", "admin", "research"]
DOWN = "Redis unreachable"


def same(a: Any, b: Any) -> None:
    """Deep equality that compares frames as frames and NaN as equal to NaN."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            same(x, y)
    elif is_dataclass(a):
        for f in fields(a):
            same(getattr(a, f.name), getattr(b, f.name))
    elif a is pd.NaT or (isinstance(a, float) and math.isnan(a)):
        assert b is pd.NaT or math.isnan(b)
    else:
        assert a == b


def round_trip(value: Any) -> Any:
    return cache.decode(cache.encode(value))


FRAME = pd.DataFrame({"symbol": ["A", "B", None], "close": [1.5, np.nan, 3.0],
                      "qty": np.array([1, 2, 3], dtype="int64"), "ok": [True, False, True],
                      "ts": pd.to_datetime(["2026-11-20 14:30", "2026-11-20 14:45",
                                            "2026-11-20 15:00"], utc=True)},
                     index=pd.Index([10, 20, 30], name="row"))
CLOSES = pd.DataFrame({"AAA": [1.0, 2.0], "BBB": [3.0, 4.0]},
                      index=pd.DatetimeIndex(["2026-11-19", "2026-11-20"], name="date"))

VALUES = {
    "none": None, "bool": True, "int": 3, "float": 0.25, "nan": float("nan"), "str": "é€",
    "list": [1, "a", [2.5, None]], "tuple": ("1w", 5), "date": date(2026, 11, 20),
    "datetime": datetime(2026, 11, 20, 21, 5, tzinfo=UTC),
    "naive datetime": datetime(2026, 11, 20, 21, 5, 7, 123456),
    "timestamp": pd.Timestamp("2026-11-20 09:30:00.000000001", tz="America/New_York"),
    "nat": pd.NaT,
    "document": {"schema": 1, "symbols": {"A": {"predictions": {"1w": {"rank": 1}}}}},
    "dollar keys": {"$tuple": [1], "b": 2}, "other keys": {date(2026, 1, 2): 1, 5: "x"},
    "frame": FRAME, "closes": CLOSES, "empty frame": pd.DataFrame(columns=["a", "b"]),
    "series": pd.Series([1.0, 2.0], index=["x", "y"], name="equity"),
    "bot": ({"cash": 1.0, "positions": {}}, FRAME),
    "backtest": BacktestRun({"id": "bt_1"}, {"bots": {}}, CLOSES.reset_index(), [{"qty": 1}]),
    "drift": Drift(FRAME, (pd.Timestamp("2026-01-02"), pd.Timestamp("2026-03-02")), (
        pd.Timestamp("2026-10-01"), pd.Timestamp("2026-11-20"))),
}


@pytest.mark.parametrize("name", VALUES)
def test_each_value_type_round_trips(name):
    same(VALUES[name], round_trip(VALUES[name]))


def test_numpy_scalars_come_back_as_python_numbers():
    assert round_trip([np.int64(3), np.bool_(True)]) == [3, True]


@pytest.mark.parametrize("value", [{1, 2}, object(), Path("/x"), b"bytes"])
def test_other_types_are_refused(value):
    with pytest.raises(cache.Unsupported):
        cache.encode(value)


def test_only_registered_dataclasses_are_rebuilt():
    blob = cache.encode(VALUES["drift"]).replace(b'"$dc":"Drift"', b'"$dc":"Popen"')
    with pytest.raises(KeyError):
        cache.decode(blob)
    for name, module in cache.READ_MODEL_TYPES.items():
        assert is_dataclass(getattr(importlib.import_module(module), name))
    assert cache.READ_MODEL_TYPES["Explanation"] == Explanation.__module__


@pytest.fixture
def filled(tmp_path) -> Store:
    store = Store(tmp_path / "filled")
    build_filled_root(store, n_symbols=6, sessions=60, history_days=6)
    return store


LOADS = [("brain", ()), ("doc", ("nightly_summary",)), ("bars_sources", ()), ("model_meta", ()),
         ("bot", ("1w",)), ("bot", ("dt",)), ("bars", ("SYM000",)), ("closes", ()),
         ("prediction_history", ("SYM000",)), ("imports", ()), ("log_days", ()),
         ("nightly_runs", ()), ("job_logs", ()), ("track_record", ()), ("model_runs", ()),
         ("backtests", ()), ("evaluations", ())]


def test_every_read_model_of_a_filled_root_round_trips(filled):
    for name, args in LOADS:
        value = views.load(filled, name, *args)
        same(value, round_trip(value))


# --------------------------------------------------------------------------- keys


def test_the_key_follows_the_loader_its_arguments_and_the_files_mtimes(filled):
    def key(name: str, *args: Any) -> str:
        return cache.read_model_key(name, args, views.source_key(filled, name, *args))

    before = key("bars", "SYM000")
    assert before.startswith(f"{cache.PREFIX}:bars:v1:")
    assert key("bars", "SYM000") == before and key("bars", "SYM001") != before
    path = filled.path("raw_daily", symbol="SYM000")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert key("bars", "SYM000") != before


def test_the_key_follows_the_loaders_version(filled, monkeypatch):
    before = cache.read_model_key("closes", (), views.source_key(filled, "closes"))
    entry = views.LOADERS["closes"]
    monkeypatch.setitem(views.LOADERS, "closes", views.Loader(entry.files, entry.read, 2))
    after = cache.read_model_key("closes", (), views.source_key(filled, "closes"))
    assert after != before and ":closes:v2:" in after


# --------------------------------------------------------------------------- the real server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.client().flushall()
    return redis_server.url


class Counter:
    def __init__(self, value: Any) -> None:
        self.value, self.calls = value, 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.value


def test_a_stored_value_is_read_back_not_loaded_again(redis_url):
    first, second = cache.SharedCache(redis_url), cache.SharedCache(redis_url)
    load = Counter(VALUES["bot"])
    same(first.get_or_load("aion:test:k", load), VALUES["bot"])
    same(second.get_or_load("aion:test:k", load), VALUES["bot"])
    assert load.calls == 1 and first.notice is None
    assert 0 < cache.redis.Redis.from_url(redis_url).ttl("aion:test:k") <= cache.TTL_S


def test_an_unsupported_value_is_returned_but_not_shared(redis_url):
    shared = cache.SharedCache(redis_url)
    assert shared.get_or_load("aion:test:set", lambda: {1, 2}) == {1, 2}
    assert not cache.redis.Redis.from_url(redis_url).exists("aion:test:set")


def test_a_damaged_entry_is_loaded_again_and_replaced(redis_url):
    cache.redis.Redis.from_url(redis_url).set("aion:test:bad", b"AIONRM1\n\x00garbage")
    load = Counter([1, 2])
    assert cache.SharedCache(redis_url).get_or_load("aion:test:bad", load) == [1, 2]
    assert cache.SharedCache(redis_url).get_or_load("aion:test:bad", load) == [1, 2]
    assert load.calls == 1


SECOND_PROCESS = """
import json, sys
import pandas as pd
from aion_core.app import cache, views
from aion_core.store import Store

calls = []
entry = views.LOADERS["closes"]
def counted(*args):
    calls.append(1)
    return entry.read(*args)
views.LOADERS["closes"] = views.Loader(entry.files, counted, entry.version)
closes = cache.cached_load(cache.SharedCache(sys.argv[1]), Store(sys.argv[2]), "closes")
print(json.dumps({"calls": len(calls), "shape": list(closes.shape),
                  "hash": int(pd.util.hash_pandas_object(closes).sum())}))
"""


def _other_process(url: str, store: Store) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", SECOND_PROCESS, url, str(store.root)],
                          capture_output=True, text=True, timeout=120, cwd=store.root,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_processes_share_one_cache(redis_url, filled):
    first = _other_process(redis_url, filled)
    second = _other_process(redis_url, filled)
    assert first["calls"] == 1 and second["calls"] == 0
    assert second["shape"] == first["shape"] == [60, 6] and second["hash"] == first["hash"]
    keys = cache.redis.Redis.from_url(redis_url).keys(f"{cache.PREFIX}:closes:*")
    assert len(keys) == 1


def test_with_redis_down_values_load_from_the_files_and_redis_is_left_alone(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    now = [0.0]
    shared = cache.SharedCache(server.url, clock=lambda: now[0])
    server.stop()
    load = Counter("value")
    assert shared.get_or_load("aion:test:k", load) == "value"
    assert shared.notice and DOWN in shared.notice
    server.start()  # back, but the cache waits out its back-off before asking again
    assert shared.get_or_load("aion:test:k", load) == "value"
    assert not server.client().exists("aion:test:k")
    now[0] += cache.BACKOFF_S
    assert shared.get_or_load("aion:test:k", load) == "value"
    assert server.client().exists("aion:test:k") and shared.notice is None
    assert load.calls == 3
    server.stop()


def test_a_stalled_redis_costs_one_timeout_then_is_left_alone(redis_url):
    stall = threading.Thread(target=lambda: cache.redis.Redis.from_url(redis_url)
                             .execute_command("DEBUG", "SLEEP", 2))
    stall.start()
    time.sleep(0.1)
    shared, load = cache.SharedCache(redis_url), Counter("value")
    started = time.monotonic()
    assert shared.get_or_load("aion:test:k", load) == "value"
    assert shared.get_or_load("aion:test:k", load) == "value"
    assert time.monotonic() - started < 1.0 and load.calls == 2
    assert shared.notice and DOWN in shared.notice
    stall.join()


# --------------------------------------------------------------------------- settings


def test_the_url_is_a_setting_and_its_password_is_never_shown(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AION_REDIS_URL", "redis://:hunter2@10.0.0.5:6379/0")
    shown = masked_settings(load_settings(env_file=None))
    assert shown["AION_REDIS_URL"] == "redis://:••••@10.0.0.5:6379/0"
    monkeypatch.setenv("AION_REDIS_URL", "http://:hunter2@host")
    with pytest.raises(ConfigurationError, match="AION_REDIS_URL") as err:
        load_settings(env_file=None)
    assert "hunter2" not in str(err.value)
    assert Settings.model_fields["aion_redis_url"].default == ""


# --------------------------------------------------------------------------- the app


@pytest.fixture
def app_env(monkeypatch, tmp_path, filled):
    st.cache_data.clear()
    for name in ("ADMIN_PASSWORD_HASH", "ADMIN_COOKIE_KEY", "ADMIN_TOKEN_TTL_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AION_DATA_DIR", str(filled.root))
    return monkeypatch


def _sidebar_text(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_the_app_stores_its_read_models_for_the_other_processes(app_env, redis_url, filled):
    app_env.setenv("AION_REDIS_URL", redis_url)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert DOWN not in _sidebar_text(at)
    client = cache.redis.Redis.from_url(redis_url)
    assert client.keys(f"{cache.PREFIX}:closes:*") and client.keys(f"{cache.PREFIX}:doc:*")
    assert _other_process(redis_url, filled)["calls"] == 0  # what the dashboard stored


def test_with_redis_stopped_every_page_renders_and_the_sidebar_says_so(app_env, tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    app_env.setenv("AION_REDIS_URL", server.url)
    server.stop()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert DOWN in _sidebar_text(at)
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title, page


def test_every_page_renders_with_every_cached_value_poisoned(app_env, redis_url):
    """A 100,000-deep value and well-formed values of the wrong shape under every key the
    app wrote: each page reads its files instead (issue 27, item 4)."""
    app_env.setenv("AION_REDIS_URL", redis_url)
    client = cache.redis.Redis.from_url(redis_url)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
    keys = client.keys(f"{cache.PREFIX}:*")
    assert len(keys) > 10
    for poison in (_framed(DEEP), cache.encode(["wrong"]), cache.encode({"status": 1})):
        client.mset({k: poison for k in keys})
        st.cache_data.clear()
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        assert not at.exception, at.exception
        for page in PAGES:
            at.switch_page(f"pages/{page}.py").run()
            assert not at.exception, (page, [e.value for e in at.exception])
            assert at.title and not at.error, (page, [e.value for e in at.error])


# --------------------------------------------------------------------------- poisoned values
# Issue 27, item 4: whoever reaches the Redis server can write under the cache's keys.

DEEP = b"[" * 100_000 + b"]" * 100_000


def _framed(head: bytes) -> bytes:
    """Bytes in the cache's framing (magic, length, JSON head) around any head."""
    return cache._MAGIC + cache._LEN.pack(len(head)) + head


def test_a_deep_or_huge_value_is_refused_before_it_is_parsed():
    with pytest.raises(ValueError, match=f"deeper than {cache.MAX_DEPTH}"):
        cache.decode(_framed(DEEP))
    with pytest.raises(ValueError, match="more than the cache stores"):
        cache.decode(_framed(b"0") + b"\0" * (cache.MAX_BYTES + 1))
    assert cache.json_depth(b'{"a": [1, {"b": "]]]]{{{["}], "c": "\\"["}') == 3
    with pytest.raises(cache.Unsupported):
        cache.encode(functools.reduce(lambda v, _: [v], range(cache.MAX_DEPTH + 1), 0))


def test_every_read_model_of_a_filled_root_fits_its_own_shape(filled):
    """What a loader returns passes the check a value read back from Redis must pass (else
    the shared cache would miss every time)."""
    for name, args in [*LOADS, ("knob_env", ()), ("run_marker", ("nightly",))]:
        value = round_trip(views.load(filled, name, *args))
        cache.check_shape(name, views.LOADERS[name].files(filled, *args), value)
    assert cache.fits((1, 2.0), tuple[int, float]) and cache.fits([None], list[int | None])
    assert not cache.fits({"a": "x"}, dict[str, int]) and not cache.fits((1,), tuple[int, int])


POISONS = {"deep": _framed(DEEP), "wrong type": cache.encode("x"),
           "wrong document": cache.encode({"status": 1}), "not ours": DEEP}
POISONED = [("bot", ("1w",)), ("doc", ("nightly_summary",)), ("brain", ()), ("closes", ()),
            ("model_meta", ()), ("track_record", ())]


@pytest.mark.parametrize("poison", POISONS)
def test_a_poisoned_value_is_a_miss_logged_once_and_replaced(redis_url, filled, poison,
                                                             caplog):
    shared, client = cache.SharedCache(redis_url), cache.redis.Redis.from_url(redis_url)
    for name, args in POISONED:
        want = views.load(filled, name, *args)
        key = cache.read_model_key(name, args, views.source_key(filled, name, *args))
        client.set(key, POISONS[poison])
        for _ in range(2):  # the second read finds the replaced, good value
            same(cache.cached_load(shared, filled, name, *args), want)
        assert client.get(key) == cache.encode(want)
        client.set(key, POISONS[poison])
        same(cache.cached_load(shared, filled, name, *args), want)
    warned = [r.getMessage() for r in caplog.records if r.name == "aion.app.cache"]
    assert len(warned) == len(POISONED), warned  # once per loader, not per read
    assert shared.notice is None  # Redis answered: nothing to tell the sidebar


def test_a_key_of_another_redis_type_is_a_miss(redis_url, filled):
    client = cache.redis.Redis.from_url(redis_url)
    key = cache.read_model_key("closes", (), views.source_key(filled, "closes"))
    client.rpush(key, "x")
    shared = cache.SharedCache(redis_url)
    same(cache.cached_load(shared, filled, "closes"), views.load(filled, "closes"))
    assert shared.notice is None and client.type(key) == b"string"
