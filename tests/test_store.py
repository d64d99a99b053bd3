"""aion_core.store: atomic files, locks, JSONL, and clear errors for missing or corrupt files."""

from __future__ import annotations

import gzip
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from aion_core import store as st
from aion_core.errors import CorruptFileError
from aion_core.store import Store

# A writer that rewrites one file forever, alternating two versions of different sizes.
WRITER = """
import sys
from aion_core import store
path, kind = sys.argv[1], sys.argv[2]
big = {"v": "new", "rows": list(range(200_000))}
small = {"v": "old", "rows": [1, 2, 3]}
i = 0
print("ready", flush=True)
while True:
    doc = big if i % 2 else small
    if kind == "json":
        store.write_json(path, doc)
    else:
        import pandas as pd
        store.write_parquet(path, pd.DataFrame({"x": doc["rows"]}))
    i += 1
"""

# A process that merges knob overrides read-modify-write, `n` times, under the file lock.
MERGER = """
import sys
from aion_core import store
path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    def add(doc, i=i):
        doc = doc or {}
        doc[f"{who}_{i}"] = i
        return doc
    store.update_json(path, add)
"""


def _run_and_kill(code: str, *args: str, kills: int) -> None:
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(random.uniform(0.01, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("kind,name", [("json", "doc.json"), ("json", "doc.json.gz"),
                                       ("parquet", "doc.parquet")])
def test_sigkilled_writer_always_leaves_a_whole_file(tmp_path: Path, kind: str, name: str):
    random.seed(11)
    path = tmp_path / name
    for _ in range(8):
        _run_and_kill(WRITER, str(path), kind, kills=1)
        if not path.exists():
            continue  # killed before the first rename: nothing yet, which is allowed
        if kind == "json":
            doc = st.read_json(path)
            assert doc["v"] in ("old", "new")
            assert len(doc["rows"]) == (3 if doc["v"] == "old" else 200_000)
        else:
            rows = len(st.read_parquet(path))
            assert rows in (3, 200_000)
    assert path.exists(), "the writer never completed a write in 8 runs"
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # a killed writer may leave its temporary file behind, but never under the real name
    assert all(p.name.startswith(f".{name}.") for p in leftovers)


def test_concurrent_mergers_lose_no_update(tmp_path: Path):
    path = tmp_path / "bots_config.json"
    n = 40
    procs = [subprocess.Popen([sys.executable, "-c", MERGER, str(path), who, str(n)])
             for who in ("a", "b", "c")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    doc = st.read_json(path)
    assert len(doc) == 3 * n
    assert all(doc[f"{w}_{i}"] == i for w in "abc" for i in range(n))


def test_missing_files_read_as_nothing_yet(tmp_path: Path):
    assert st.read_json(tmp_path / "none.json") is None
    assert st.read_json(tmp_path / "none.json.gz") is None
    assert st.read_parquet(tmp_path / "none.parquet") is None
    assert st.read_text(tmp_path / "none.log") is None
    assert st.tail_lines(tmp_path / "none.log", 5) is None
    assert st.read_jsonl(tmp_path / "none.jsonl").records == []


@pytest.mark.parametrize("name,content", [("bad.json", b"{not json"),
                                          ("bad.json.gz", b"not gzip at all"),
                                          ("bad.parquet", b"PAR1 garbage")])
def test_corrupt_files_raise_one_error_naming_the_path(tmp_path: Path, name: str,
                                                       content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    reader = st.read_parquet if name.endswith(".parquet") else st.read_json
    with pytest.raises(CorruptFileError) as err:
        reader(path)
    assert str(path) in str(err.value)
    assert err.value.path == path


def test_huge_documents_and_gzip_bombs_are_refused_before_they_are_read(tmp_path: Path,
                                                                         monkeypatch):
    monkeypatch.setattr(st.files, "MAX_JSON_BYTES", 1 << 20)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"pad": "x" * (2 << 20)}))
    with pytest.raises(CorruptFileError, match="big.json: 2 MB, more than any document"):
        st.read_json(big)
    bomb = tmp_path / "bomb.json.gz"  # 2 kB on disk, 8 MB unpacked
    bomb.write_bytes(gzip.compress(b"[" + b"0," * (4 << 20) + b"0]"))
    assert bomb.stat().st_size < 20_000
    with pytest.raises(CorruptFileError, match="bomb.json.gz: larger than 1 MB once unpacked"):
        st.read_json(bomb)
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(gzip.compress(json.dumps({"a": list(range(1000))}).encode())[:-30])
    with pytest.raises(CorruptFileError, match="cut.json.gz: truncated"):
        st.read_json(cut)


def test_json_gz_is_byte_identical_for_equal_content(tmp_path: Path):
    a, b = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    st.write_json(a, {"x": [1.5, 2]})
    time.sleep(1.1)  # gzip headers carry a time unless told otherwise
    st.write_json(b, {"x": [1.5, 2]})
    assert a.read_bytes() == b.read_bytes()
    assert json.loads(gzip.decompress(a.read_bytes())) == {"x": [1.5, 2]}


def test_nan_is_refused_rather_than_written_as_invalid_json(tmp_path: Path):
    with pytest.raises(ValueError):
        st.write_json(tmp_path / "x.json", {"x": float("nan")})
    assert not (tmp_path / "x.json").exists()


def test_jsonl_torn_last_line_is_skipped_reported_and_trimmed(tmp_path: Path):
    path = tmp_path / "trades.jsonl"
    st.append_jsonl(path, [{"order_id": "a"}, {"order_id": "b"}])
    with open(path, "ab") as fh:  # a crash in the middle of the next append
        fh.write(b'{"order_id": "c", "qty')
    read = st.read_jsonl(path)
    assert [r["order_id"] for r in read.records] == ["a", "b"]
    assert read.torn == 1
    st.append_jsonl(path, [{"order_id": "d"}])
    read = st.read_jsonl(path)
    assert [r["order_id"] for r in read.records] == ["a", "b", "d"]
    assert read.torn == 0


def test_sigkilled_appender_never_garbles_earlier_lines(tmp_path: Path):
    path = tmp_path / "log.jsonl"
    code = ("import sys\nfrom aion_core import store\nprint('ready', flush=True)\n"
            "i = 0\nwhile True:\n"
            "    store.append_jsonl(sys.argv[1], [{'i': i, 'pad': 'x' * 5000}]); i += 1\n")
    random.seed(5)
    for _ in range(5):
        _run_and_kill(code, str(path), kills=1)
        st.append_jsonl(path, [{"i": "marker"}])
    read = st.read_jsonl(path)
    assert read.torn == 0
    assert sum(1 for r in read.records if r["i"] == "marker") == 5


def test_tail_lines_returns_the_last_lines_of_a_large_file(tmp_path: Path):
    path = tmp_path / "big.log"
    st.write_text(path, "".join(f"line {i}\n" for i in range(200_000)))
    assert st.tail_lines(path, 3) == ["line 199997", "line 199998", "line 199999"]
    assert len(st.tail_lines(path, 1000)) == 1000


def test_store_daily_panel_reads_symbols_up_to_end(store: Store):
    days = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"])
    for sym in ("AAA", "BBB"):
        store.write_daily(sym, pd.DataFrame({
            "symbol": sym, "date": days, "open": 1.0, "high": 2.0, "low": 0.5,
            "close": 1.5, "volume": 100.0}))
    assert store.daily_symbols() == ["AAA", "BBB"]
    panel = store.read_daily_panel(end="2024-01-03")
    assert len(panel) == 4
    assert panel["date"].max() == pd.Timestamp("2024-01-03")
    assert list(panel["symbol"]) == ["AAA", "AAA", "BBB", "BBB"]


def test_store_mtime_changes_on_rewrite(store: Store):
    assert store.mtime_ns("bots_config") is None
    store.write_json("bots_config", {"swing": {}})
    first = store.mtime_ns("bots_config")
    time.sleep(0.02)
    store.write_json("bots_config", {"swing": {"1w": {}}})
    assert store.mtime_ns("bots_config") > first


def _daily_panel_one_file_at_a_time(store: Store, symbols: list[str],
                                    end: str | None) -> pd.DataFrame:
    """The panel as pandas builds it from each file on its own: the reference."""
    frames = [df for df in (store.read_daily(s) for s in symbols) if df is not None and len(df)]
    panel = pd.concat(frames, ignore_index=True)
    if end is not None:
        panel = panel[panel["date"] <= pd.Timestamp(end)]
    return panel.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("float_volume", [False, True])
@pytest.mark.parametrize("end", [None, "2024-03-01"])
def test_daily_panel_equals_the_files_read_one_at_a_time(store: Store, end, float_volume):
    rng = random.Random(5)
    days = pd.bdate_range("2024-01-02", periods=60)
    for i, sym in enumerate(["MMM", "AAA", "ZZZ", "BBB", "EMPTY"]):
        n = 0 if sym == "EMPTY" else 20 + 10 * i
        close = [rng.uniform(10, 20) for _ in range(n)]
        volume = [rng.randint(1, 10**6) for _ in range(n)]
        store.write_daily(sym, pd.DataFrame({
            "symbol": sym, "date": days[-n:] if n else days[:0], "open": close,
            "high": [c * 1.01 for c in close], "low": [c * 0.99 for c in close],
            "close": close,
            "volume": [float(v) for v in volume] if float_volume and i == 1 else volume}))
    symbols = ["ZZZ", "MISSING", "AAA", "EMPTY", "MMM", "BBB"]
    got = store.read_daily_panel(symbols, end=end)
    pd.testing.assert_frame_equal(got, _daily_panel_one_file_at_a_time(store, symbols, end))
    pd.testing.assert_frame_equal(store.read_daily_panel(end=end),
                                  _daily_panel_one_file_at_a_time(store, sorted(symbols), end))


def test_daily_panel_names_a_corrupt_file(store: Store):
    days = pd.to_datetime(["2024-01-02"])
    store.write_daily("AAA", pd.DataFrame({"symbol": "AAA", "date": days, "open": 1.0,
                                           "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1}))
    bad = store.path("raw_daily", symbol="BAD")
    bad.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(CorruptFileError) as err:
        store.read_daily_panel()
    assert str(bad) in str(err.value)


def test_aion_universe_narrows_what_the_jobs_read_and_names_symbols_without_bars(tmp_path):
    from aion_core.config import load_settings
    from aion_core.errors import ConfigurationError
    from aion_core.store.root import NOT_STORED

    plain = Store(tmp_path / "data")
    days = pd.to_datetime(["2024-01-02", "2024-01-03"])
    for sym in ("AAA", "BBB", "CCC"):
        plain.write_daily(sym, pd.DataFrame({"symbol": sym, "date": days, "open": 1.0,
                                             "high": 1.0, "low": 1.0, "close": 1.0,
                                             "volume": 1}))
    settings = load_settings(tmp_path / "data", env_file=None).model_copy(
        update={"aion_universe": "ccc, aaa,ZZZ,AAA"})
    store = Store.from_settings(settings)  # how every command builds its store
    assert store.universe == ("CCC", "AAA", "ZZZ")
    assert store.daily_symbols() == ["AAA", "BBB", "CCC"]  # the root itself, whole
    missing: dict[str, str] = {}
    assert store.universe_symbols(missing) == ["AAA", "CCC"]
    assert missing == {"ZZZ": NOT_STORED}
    refused: dict[str, str] = {}
    assert list(store.read_daily_panel(refused=refused)["symbol"].unique()) == ["AAA", "CCC"]
    assert refused == {"ZZZ": NOT_STORED}
    assert list(store.read_closes().columns) == ["AAA", "CCC"]
    assert set(store.read_daily_panel(["BBB"])["symbol"]) == {"BBB"}  # asked for by name
    minute = pd.DataFrame({"symbol": ["AAA", "BBB", "CCC"], "close": [1.0, 2.0, 3.0]})
    assert list(store.in_universe(minute)["symbol"]) == ["AAA", "CCC"]
    assert list(plain.in_universe(minute)["symbol"]) == ["AAA", "BBB", "CCC"]
    assert set(plain.read_daily_panel()["symbol"]) == {"AAA", "BBB", "CCC"}  # no universe
    with pytest.raises(ConfigurationError) as err:
        Store(tmp_path / "data", universe=["XXX", "YYY"]).read_daily_panel()
    assert "AION_UNIVERSE" in str(err.value) and "XXX, YYY" in str(err.value)
