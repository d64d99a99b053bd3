"""The intraday cycle end to end on a synthetic data root: closed markets, a replayed session,
reruns, no look-ahead, and a cycle that died between its fills and its state write."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from aion_core.bots.ledger import Book, Fill
from aion_core.config import Settings
from aion_core.store import Store, read_jsonl, write_json, write_parquet
from jobs.demo import write_demo_data
from jobs.intraday import (
    replay_intraday_session,
    run_intraday_cycle,
    session_cycles,
    train_intraday_model,
)

SESSION = pd.Timestamp("2026-11-20")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dt") / "data"
    write_demo_data(Store(root), n_symbols=6, years=0.3, seed=7, intraday_days=3,
                    end=date(2026, 11, 20))
    return root


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Store:
    """A fresh copy of the demo root with trading made likely (min_confidence 0)."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(template, root)
    s = Store(root)
    write_json(s.path("bots_config"), {"dt": {"min_confidence": 0.0}})
    return s


@pytest.fixture
def settings(store: Store) -> Settings:
    return Settings(_env_file=None, aion_data_dir=store.root)  # type: ignore[call-arg]


def ny(s: str) -> datetime:
    return datetime.fromisoformat(s + "-05:00")


def files(store: Store) -> dict[str, bytes]:
    folder = store.root / "da_brains" / "intraday"
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*"))} if folder.is_dir() else {}


def dt_fills(store: Store) -> list[Fill]:
    return [Fill.from_record(r) for r in read_jsonl(store.path("dt_trades_file")).records]


def test_a_closed_market_does_nothing_but_log(store: Store, settings: Settings,
                                              caplog: pytest.LogCaptureFixture) -> None:
    before = sorted(p for p in store.root.rglob("*"))
    with caplog.at_level(logging.INFO, logger="aion.intraday"):
        for at in ("2026-11-26T11:00:00", "2026-11-20T16:00:00", "2026-11-20T09:29:00",
                   "2026-11-21T12:00:00"):
            assert "market closed" in run_intraday_cycle(store, settings, at=ny(at))
    assert sorted(p for p in store.root.rglob("*")) == before
    assert sum("market closed" in r.getMessage() for r in caplog.records) == 4


def test_a_replayed_session_ends_flat_with_state_and_log_in_agreement(
        store: Store, settings: Settings) -> None:
    lines = replay_intraday_session(store, settings, SESSION)
    assert len(lines) == len(session_cycles(SESSION)) == 25  # 09:45 .. 15:45
    state = store.read_json("dt_state_file")
    fills = dt_fills(store)
    assert fills, "the replay should have traded (min_confidence 0)"
    assert state["positions"] == {} and state["last_cycle"] == "202611201545"
    assert len({f.order_id for f in fills}) == len(fills)
    assert Book.from_fills(state["initial_cash"], fills).same_as(Book.from_state(state))
    assert state["cash"] == pytest.approx(state["initial_cash"] + sum(
        f.realized_pnl for f in fills), abs=0.01)
    assert {f.reason for f in fills if f.side == "sell"} <= {
        "flat_before_close", "stop_loss", "take_profit", "signal_faded"}
    assert all(f.ts <= "2026-11-20T20:45:00+00:00" for f in fills)
    brain = store.read_json("dt_brain_file")
    assert brain["trained_through"] == "2026-11-19"  # sessions before the replayed one only
    assert len(state["equity_history"]) == 25


def test_aion_universe_narrows_the_intraday_bot(store: Store, settings: Settings) -> None:
    subset = store.daily_symbols()[:3]
    settings = settings.model_copy(update={"aion_universe": ",".join(subset)})
    narrowed = Store.from_settings(settings)  # how every command builds its store
    run_intraday_cycle(narrowed, settings, at=ny("2026-11-20T11:00:00"))
    assert sorted(narrowed.read_json("rolling")["symbols"]) == subset
    assert {f.symbol for f in dt_fills(narrowed)} <= set(subset)
    assert len(set(store.read_minute(SESSION.date())["symbol"])) == 6  # the file stays whole


def test_a_rerun_of_a_cycle_changes_nothing(store: Store, settings: Settings) -> None:
    for at in ("2026-11-20T10:30:00", "2026-11-20T11:00:00"):
        run_intraday_cycle(store, settings, at=ny(at))
    before = files(store)
    for at in ("2026-11-20T11:00:00", "2026-11-20T10:30:00"):
        assert "already ran" in run_intraday_cycle(store, settings, at=ny(at))
    assert files(store) == before


def test_bars_after_the_cycle_are_never_used(store: Store, settings: Settings) -> None:
    at = ny("2026-11-20T11:15:00")
    run_intraday_cycle(store, settings, at=at)
    seen = store.read_json("rolling")
    other = Store(store.root.parent / "other")
    import shutil

    shutil.copytree(store.root, other.root)
    for name in ("dt_state.json.gz", "dt_trades.jsonl", "rolling_intraday.json.gz"):
        (other.root / "da_brains" / "intraday" / name).unlink(missing_ok=True)
    path = other.path("bars_intraday", day="2026-11-20")
    bars = pd.read_parquet(path)
    later = bars["ts"] >= pd.Timestamp(at)
    bars.loc[later, ["open", "high", "low", "close"]] *= 3.0
    write_parquet(path, bars)
    run_intraday_cycle(other, settings.model_copy(update={"aion_data_dir": other.root}), at=at)
    again = other.read_json("rolling")
    assert again["symbols"] == seen["symbols"] and again["model"] == seen["model"]


def test_a_cycle_that_died_after_its_fills_is_completed_not_refilled(
        store: Store, settings: Settings) -> None:
    replay_intraday_session(store, settings, SESSION)
    full = dt_fills(store)
    entry = next(f for f in full if f.side == "buy")
    cycle = entry.order_id.split("-")[1]
    at = datetime.strptime(cycle, "%Y%m%d%H%M").isoformat()
    # Rebuild the world as it was just after that cycle's fills hit the log, before its state.
    for name in ("dt_state.json.gz", "dt_trades.jsonl"):
        (store.root / "da_brains" / "intraday" / name).unlink()
    kept = [f for f in full if f.order_id.split("-")[1] <= cycle]
    store.path("dt_trades_file").write_text(
        "".join(json.dumps(f.to_record()) + "\n" for f in kept))
    line = run_intraday_cycle(store, settings, at=ny(at))
    assert "state rebuilt" not in line
    state = store.read_json("dt_state_file")
    assert state["last_cycle"] == cycle
    assert [f.order_id for f in dt_fills(store)] == [f.order_id for f in kept]
    assert Book.from_fills(state["initial_cash"], dt_fills(store)).same_as(
        Book.from_state(state))


def test_the_nightly_training_writes_a_brain_of_the_last_session(store: Store,
                                                                 settings: Settings) -> None:
    line = train_intraday_model(store, settings, now=ny("2026-11-21T02:00:00"))
    assert "trained through 2026-11-20" in line
    doc = store.read_json("dt_brain_file")
    assert doc["model"]["kind"] == "ridge" and doc["sessions"][-1] == "2026-11-20"
