"""Loaders and the UI's writes: missing, corrupt, cache keys, knob merges, strict log dates."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from app_data import build_filled_root  # noqa: E402

from aion_core.app import views  # noqa: E402
from aion_core.app.auth import Access  # noqa: E402
from aion_core.bots.registry import BOTS  # noqa: E402
from aion_core.errors import CorruptFileError, KnobError, RefusedError  # noqa: E402
from aion_core.store import read_jsonl  # noqa: E402

#: No admin password set (the demo): anyone may change the knobs.
DEMO = Access(gated=False, admin=False)


@pytest.fixture
def filled(store):
    build_filled_root(store, n_symbols=5, sessions=40, history_days=5)
    return store


def test_missing_files_load_as_nothing(store):
    assert views.load(store, "brain") is None
    state, trades = views.load(store, "bot", "1w")
    assert state is None and trades.empty
    assert views.load(store, "closes") is None
    assert views.load(store, "log_days") == []
    assert views.load(store, "prediction_history", "SYM000").empty
    assert views.load(store, "model_meta") == {}


def test_filled_root_loads(filled):
    state, trades = views.load(filled, "bot", "2w")
    n_files = len(list(filled.path("bot_trades", horizon="2w", yyyymmdd="20000101")
                       .parent.glob("*.jsonl")))
    assert len(trades) == 2 * n_files and trades["ts"].is_monotonic_decreasing
    closes = views.load(filled, "closes")
    assert closes.shape == (40, 5)
    hist = views.load(filled, "prediction_history", "SYM001")
    assert set(hist["horizon"]) == {"1w", "2w", "4w"} and len(hist) == 15
    assert set(views.load(filled, "model_meta")) == {"1w", "2w", "4w"}


def test_aion_brain_preferred_over_rolling(filled):
    assert "regime" in views.load(filled, "brain")
    filled.path("aion_brain").unlink()
    assert "regime" not in views.load(filled, "brain")


def test_corrupt_file_named(filled):
    path = filled.path("bot_state", horizon="4w")
    path.write_bytes(b"not gzip")
    with pytest.raises(CorruptFileError) as err:
        views.load(filled, "bot", "4w")
    assert err.value.path == path


def test_bars_of_any_honest_encoding_load_and_a_wrong_file_is_named(filled):
    path = filled.path("raw_daily", symbol="SYM001")
    bars = pd.read_parquet(path)
    bars.assign(date=bars["date"].dt.date).drop(columns=["symbol"]).to_parquet(path)
    loaded = views.load(filled, "bars", "SYM001")
    assert str(loaded["date"].dtype) == "datetime64[ns]" and set(loaded["symbol"]) == {"SYM001"}
    bars.drop(columns=["close"]).to_parquet(path)
    with pytest.raises(CorruptFileError, match="close") as err:
        views.load(filled, "bars", "SYM001")
    assert err.value.path == path


def test_source_key_changes_when_a_job_rewrites(filled):
    before = views.source_key(filled, "bot", "1w")
    assert before == views.source_key(filled, "bot", "1w")
    path = filled.path("bot_state", horizon="1w")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert views.source_key(filled, "bot", "1w") != before
    assert views.source_key(filled, "doc", "nightly_summary")[0][1] > 0
    assert views.source_key(filled, "doc", "bots_config")[0][1] == -1


def test_save_knobs_merges_and_keeps_other_bots(store):
    store.write_json("bots_config", {"swing": {"2w": {"max_positions": 4}}, "dt": {
        "aggression": 0.5}})
    kept = views.save_knobs(store, BOTS["1w"], {"max_positions": 12, "aggression": 1.0},
                            DEMO)
    assert kept == {"max_positions": 12}  # a value equal to its default is no override
    assert store.read_json("bots_config") == {
        "swing": {"2w": {"max_positions": 4}, "1w": {"max_positions": 12}},
        "dt": {"aggression": 0.5}}


def test_save_knobs_refuses_and_writes_nothing(store):
    with pytest.raises(KnobError, match="stop_loss"):
        views.save_knobs(store, BOTS["4w"], {"stop_loss": 0.95}, DEMO)
    with pytest.raises(KnobError, match="unknown knob"):
        views.save_knobs(store, BOTS["dt"], {"leverage": 3}, DEMO)
    assert store.read_json("bots_config") is None


def test_reset_knobs_removes_one_bot(store):
    store.write_json("bots_config", {"swing": {"1w": {"max_positions": 4}}, "dt": {
        "aggression": 0.5}})
    views.reset_knobs(store, BOTS["dt"], DEMO)
    assert store.read_json("bots_config") == {"swing": {"1w": {"max_positions": 4}}}
    views.reset_knobs(store, BOTS["1w"], DEMO)
    assert store.read_json("bots_config") == {}


def test_with_a_password_only_an_admin_session_changes_the_knobs(store):
    """The write path checks the session itself: a visitor's save or reset is refused and
    nothing is written, whatever the page drew (issue 27, item 3)."""
    store.write_json("bots_config", {"swing": {"1w": {"max_positions": 4}}})
    visitor, admin = Access(gated=True, admin=False), Access(gated=True, admin=True)
    with pytest.raises(RefusedError, match="admin login"):
        views.save_knobs(store, BOTS["1w"], {"max_positions": 12}, visitor)
    with pytest.raises(RefusedError, match="Admin page"):
        views.reset_knobs(store, BOTS["1w"], visitor)
    assert store.read_json("bots_config") == {"swing": {"1w": {"max_positions": 4}}}
    views.save_knobs(store, BOTS["1w"], {"max_positions": 12}, admin)
    assert store.read_json("bots_config") == {"swing": {"1w": {"max_positions": 12}}}


def test_kill_switch_keeps_other_admin_settings(store):
    store.write_json("admin_settings", {"note": "x"})
    views.set_kill_switch(store, True)
    assert store.read_json("admin_settings") == {"note": "x", "kill_switch": True}


@pytest.mark.parametrize("bad", ["../../etc/passwd", "2026-11-1", "20261121", "2026-13-01",
                                 "2026-11-21/../x", " "])
def test_log_day_is_strict(bad):
    with pytest.raises(ValueError):
        views.parse_log_day(bad)


def test_logs_by_day(filled):
    assert views.parse_log_day("2026-11-21") == date(2026, 11, 21)
    days = views.load(filled, "log_days")
    assert days == [date(2026, 11, 21)]
    lines = views.load(filled, "log", days[0])
    assert len(lines) == 40 and any("ERROR" in ln for ln in lines)
    assert views.load(filled, "log", date(2026, 1, 2)) is None


def test_log_tail_is_the_last_thousand_lines(store):
    path = store.path("nightly_logs", yyyymmdd="20261120")
    path.parent.mkdir(parents=True)
    path.write_text("".join(f"line {i}\n" for i in range(2500)))
    lines = views.load(store, "log", date(2026, 11, 20))
    assert len(lines) == views.LOG_LINES and lines[-1] == "line 2499"
    assert lines[0] == f"line {2500 - views.LOG_LINES}"


def test_trades_frame_matches_the_log(filled):
    path = filled.path("dt_trades_file")
    records = read_jsonl(path).records
    _, trades = views.load(filled, "bot", "dt")
    assert len(trades) == len(records)
    assert trades["realized_pnl"].sum() == pytest.approx(
        sum(r["realized_pnl"] for r in records))
    assert isinstance(trades["ts"].dtype, pd.DatetimeTZDtype)


def test_money_and_pct_share_one_minus_style():
    from aion_core.app.calc import MINUS, fmt_money, fmt_pct

    assert fmt_money(-527.09) == f"{MINUS}$527.09"  # sign before the "$", as on the axes
    assert fmt_money(-20_000) == f"{MINUS}$20.0k"
    assert fmt_money(5140.65, signed=True) == "+$5,140.65"
    assert fmt_money(5140.65, signed=True, compact_from=1e3) == "+$5.14k"
    assert fmt_money(-527.09, compact_from=1e3, cents=False) == f"{MINUS}$527"
    assert fmt_pct(-0.0123) == f"{MINUS}1.23%"
    assert "-" not in fmt_money(-1.0) + fmt_pct(-0.5)


def test_intraday_equity_is_compared_per_day():
    import pandas as pd

    from aion_core.app.calc import cumulative_returns, daily_equity

    cycles = pd.Series([100.0, 104.0, 102.0, 110.0],
                       index=pd.to_datetime(["2024-01-02 15:00", "2024-01-02 20:45",
                                             "2024-01-03 15:00", "2024-01-03 20:45"]))
    daily = daily_equity(cycles)
    assert list(daily) == [104.0, 110.0]
    assert list(daily.index) == list(pd.to_datetime(["2024-01-02", "2024-01-03"]))
    cum = cumulative_returns({"intraday": cycles}, {"intraday": 100.0}, None)
    assert cum["intraday"].round(4).tolist() == [0.04, 0.10]
