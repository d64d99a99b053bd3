"""Replay and backtest: books agree with the logs, reruns add nothing, kills are survived.
That the 1w bot's trading on a real signal beats picking names at random is
tests/test_replay_beats_random.py."""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from stand_ins import truth_predictor

from aion_core.bots import performance
from aion_core.bots.ledger import Book, Fill
from aion_core.bots.registry import swing_bot
from aion_core.config import HORIZONS, load_settings
from aion_core.store import Store, read_jsonl, read_parquet
from jobs.replay import Market, run_backtest, run_replay

START, END = date(2026, 5, 1), date(2026, 7, 31)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def market(demo_root) -> Market:
    return Market(demo_root.read_daily_panel())


def assert_books_match_logs(store):
    """positions == sum of logged fills; cash == initial - buys + sells - fees; ids unique."""
    for h in HORIZONS:
        state = store.read_json("bot_state", horizon=h)
        fills = store.journal(swing_bot(h)).fills()
        ids = Counter(f.order_id for f in fills)
        assert not [i for i, n in ids.items() if n > 1]
        net: dict[str, float] = {}
        for f in fills:
            net[f.symbol] = net.get(f.symbol, 0) + f.signed_qty
        assert {s: p["qty"] for s, p in state["positions"].items()} == \
            {s: q for s, q in net.items() if q}
        cash = state["initial_cash"] + sum(
            (f.qty * f.price if f.side == "sell" else -f.qty * f.price) - f.fees for f in fills)
        assert state["cash"] == pytest.approx(cash, rel=1e-9)
        assert Book.from_fills(state["initial_cash"], fills).same_as(Book.from_state(state))
    return state


def log_lines(store) -> int:
    folder = store.path("bot_trades", horizon="1w", yyyymmdd="20000101").parent.parent
    return sum(len(read_jsonl(p).records) for p in folder.glob("*/trades_*.jsonl"))


def test_replay_books_agree_with_logs_and_a_rerun_adds_nothing(demo_root, synthetic_market,
                                                                market):
    settings = load_settings(demo_root.root, env_file=None)
    pred = truth_predictor(synthetic_market, market)
    run_replay(demo_root, settings, START, END, predictor=pred, market=market)
    state = assert_books_match_logs(demo_root)
    assert state["as_of"] == "2026-07-31"
    sessions = market.sessions[(market.sessions >= "2026-05-01")
                               & (market.sessions <= pd.Timestamp(END))]
    assert [e["date"] for e in state["equity_history"]] == [f"{d:%Y-%m-%d}" for d in sessions]
    lines, before = log_lines(demo_root), demo_root.path("bot_state", horizon="1w").read_bytes()
    assert lines > 0
    again = run_replay(demo_root, settings, START, END, predictor=pred, market=market)
    assert log_lines(demo_root) == lines
    assert demo_root.path("bot_state", horizon="1w").read_bytes() == before
    assert "equity" in again


def test_a_run_that_died_after_some_fills_is_completed_not_doubled(demo_root, synthetic_market,
                                                                   market):
    settings = load_settings(demo_root.root, env_file=None)
    pred = truth_predictor(synthetic_market, market)
    last = pd.Timestamp(END)
    run_replay(demo_root, settings, START, market.previous(last).date(), predictor=pred,
               market=market)
    saved = {h: demo_root.path("bot_state", horizon=h).read_bytes() for h in HORIZONS}
    run_replay(demo_root, settings, START, END, predictor=pred, market=market)
    reference = {h: demo_root.read_json("bot_state", horizon=h) for h in HORIZONS}
    # The death: the last session's fills half logged (one line torn), its state never written.
    for h in HORIZONS:
        path = demo_root.path("bot_trades", horizon=h, yyyymmdd=last)
        lines = path.read_text().splitlines(keepends=True) if path.exists() else []
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines[: len(lines) // 2]) + '{"torn": ')
        demo_root.path("bot_state", horizon=h).write_bytes(saved[h])
    run_replay(demo_root, settings, START, END, predictor=pred, market=market)
    assert_books_match_logs(demo_root)
    for h in HORIZONS:
        now = demo_root.read_json("bot_state", horizon=h)
        assert now["positions"] == reference[h]["positions"]
        assert now["cash"] == pytest.approx(reference[h]["cash"])
        assert now["equity_history"] == reference[h]["equity_history"]


def test_backtest_report_and_live_state_untouched(demo_root, synthetic_market, market, tmp_path):
    settings = load_settings(demo_root.root, env_file=None)
    out = tmp_path / "report"
    line = run_backtest(demo_root, settings, START, END, list(HORIZONS), out,
                        predictor=truth_predictor(synthetic_market, market), market=market)
    assert "benchmark" in line
    assert demo_root.read_json("bot_state", horizon="1w") is None
    doc = json.loads((out / "metrics.json").read_text())
    keys = {"total_return", "cagr", "sharpe", "sortino", "max_drawdown", "win_rate", "turnover",
            "exposure"}
    assert set(doc["bots"]) == {"swing_1w", "swing_2w", "swing_4w"}
    assert all(keys <= set(m) for m in doc["bots"].values()) and keys <= set(doc["benchmark"])
    equity = read_parquet(out / "equity.parquet")
    assert list(equity.columns)[:3] == ["date", "bot", "equity"]
    text = (out / "trades.jsonl").read_text()
    trades = [Fill.from_record(json.loads(x)) for x in text.splitlines()]
    one = equity[equity.bot == "swing_1w"].set_index("date")["equity"]
    assert doc["bots"]["swing_1w"]["total_return"] == pytest.approx(one.iloc[-1] / 100_000 - 1)
    assert doc["bots"]["swing_1w"]["max_drawdown"] == pytest.approx(
        performance.max_drawdown(pd.concat([pd.Series([100_000.0]), one])))
    assert len({t.order_id for t in trades}) == len(trades) > 0


# --------------------------------------------------------------------------- SIGKILL


def _replay_cmd(root, start, end):
    return [sys.executable, "-m", "aion_core", "replay", "--start", start, "--end", end,
            "--data-dir", str(root)]


def _snapshot(store):
    """Everything a replay leaves: the three states and every trade log line."""
    states = {h: store.read_json("bot_state", horizon=h) for h in HORIZONS}
    folder = store.path("bot_trades", horizon="1w", yyyymmdd="20000101").parent.parent
    lines = sorted(json.dumps(r, sort_keys=True) for p in folder.glob("*/trades_*.jsonl")
                   for r in read_jsonl(p).records)
    return states, lines


def test_replay_runs_the_intraday_bot_on_sessions_with_minute_bars(demo_root, synthetic_market,
                                                                   caplog):
    """The intraday bot's fills and state agree, it ends each session flat, and a second
    replay of the same sessions changes nothing. Its cycles log no line each (they buried the
    console of `make run`)."""
    settings = load_settings(demo_root.root, env_file=None)
    days = synthetic_market.intraday_days()
    start, end = days[0] - pd.Timedelta(days=30), days[-1]
    with caplog.at_level(logging.INFO):
        line = run_replay(demo_root, settings, start.date(), end.date())
    assert not [r for r in caplog.records if r.name == "aion.intraday"
                and r.levelno == logging.INFO]
    assert f"intraday: {len(days)} sessions" in line
    trades = demo_root.path("dt_trades_file")
    fills = [Fill.from_record(r) for r in read_jsonl(trades).records]
    assert fills and len({f.order_id for f in fills}) == len(fills)
    state = demo_root.read_json("dt_state_file")
    assert state["positions"] == {}
    assert Book.from_fills(state["initial_cash"], fills).same_as(Book.from_state(state))
    before = trades.read_bytes()
    again = run_replay(demo_root, settings, start.date(), end.date())
    assert trades.read_bytes() == before
    assert f"equity {state['equity_history'][-1]['equity']:,.2f}" in again.split("intraday")[1]


def test_six_months_replayed_on_imported_real_bars_trade_every_swing_bot(shared_data, tmp_path):
    """The defaults trade on real data too (issue 11): 100 names of the S&P 500 file imported
    as a user would, six months of 2016 replayed with the real pipeline and default knobs."""
    from jobs.imports import import_bars

    raw = pd.read_parquet(shared_data / "sp500_5yr" / "all_stocks_5yr.parquet")
    names = sorted(raw["Name"].unique())[:100]
    subset = tmp_path / "sp100.parquet"
    raw[raw["Name"].isin(names) & (raw["date"] <= "2016-12-31")].to_parquet(subset)
    store = Store(tmp_path / "data")
    import_bars(store, [subset])
    settings = load_settings(store.root, env_file=None)
    run_replay(store, settings, date(2016, 7, 1), date(2016, 12, 30))
    assert_books_match_logs(store)
    for h in HORIZONS:
        fills = store.journal(swing_bot(h)).fills()
        assert {f.side for f in fills} == {"buy", "sell"}, (h, len(fills))


def test_a_second_replay_prints_the_stored_equities(demo_root, synthetic_market, market):
    """Nothing is left to trade the second time: the line must still say what the states
    hold (marked at the last closes), not the books rebuilt from fills at entry prices."""
    settings = load_settings(demo_root.root, env_file=None)
    predict = truth_predictor(synthetic_market, market)
    run_replay(demo_root, settings, START, END, predict, market)
    line = run_replay(demo_root, settings, START, END, predict, market)
    for h in HORIZONS:
        stored = demo_root.read_json("bot_state", horizon=h)["equity_history"][-1]["equity"]
        assert f"swing_{h} equity {stored:,.2f}" in line


def test_aion_universe_narrows_the_backtest_and_the_replay(demo_root, tmp_path):
    from aion_core.store.root import NOT_STORED

    subset = demo_root.daily_symbols()[:6]
    settings = load_settings(demo_root.root, env_file=None).model_copy(
        update={"aion_universe": ",".join([*subset, "GONE"])})
    store = Store.from_settings(settings)  # how every command builds its store
    start, end = date(2026, 10, 5), date(2026, 10, 30)
    line = run_backtest(store, settings, start, end, ["1w"], tmp_path / "bt")
    assert set(read_parquet(tmp_path / "bt" / "predictions.parquet")["symbol"]) == set(subset)
    run_doc = json.loads((tmp_path / "bt" / "run.json").read_text())
    assert run_doc["dropped"] == {"GONE": NOT_STORED} and "report is in" in line
    line = run_replay(store, settings, start, end)
    assert "left out, no bars: GONE" in line
    assert set(read_parquet(store.path("prediction_history"))["symbol"]) == set(subset)
    folder = store.path("bot_trades", horizon="1w", yyyymmdd="20000101").parent.parent
    traded = {r["symbol"] for p in folder.glob("*/trades_*.jsonl") for r in read_jsonl(p).records}
    assert traded and traded <= set(subset)


def test_a_replay_leaves_a_record_of_how_it_ended(demo_root, synthetic_market, market,
                                                   tmp_path):
    """Issue 27 (the newcomer's F): after `make run` replayed 63 sessions from a shell, the
    Admin page said "replay: never run"; each run now leaves logs/replay/last_replay.json,
    which run_now.last_run reads (the page's line: tests/test_app_access.py)."""
    from aion_core.app import run_now
    from aion_core.errors import AionError

    settings = load_settings(demo_root.root, env_file=None)
    assert run_now.last_run(demo_root, run_now.REPLAY_JOB) is None
    line = run_replay(demo_root, settings, date(2026, 7, 1), END,
                      predictor=truth_predictor(synthetic_market, market), market=market)
    doc = demo_root.read_json("replay_summary")
    assert (doc["status"], doc["start"], doc["end"]) == ("ok", "2026-07-01", "2026-07-31")
    assert doc["detail"] == " ".join(line.split())[:300]
    last = run_now.last_run(demo_root, run_now.REPLAY_JOB)
    assert (last.status, last.source) == ("ok", "replay record")
    store = Store(tmp_path / "empty")
    with pytest.raises(AionError):  # an empty root: nothing to replay
        run_replay(store, load_settings(store.root, env_file=None), START, END)
    assert store.read_json("replay_summary")["status"] == "failed"
    assert run_now.last_run(store, run_now.REPLAY_JOB).status == "failed"
