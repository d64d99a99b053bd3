"""aion_core.sql_copy against a real PostgreSQL (conftest's pg_server): the jobs' figures in
the tables, counts equal to the files', a server lost mid-run costs a warning only, and
`aion metrics sync` brings the tables level again, a second time changing nothing."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from stand_ins import truth_predictor
from typer.testing import CliRunner

import aion_core.sql_copy.publish as sql_publish
from aion_core.bots.registry import INTRADAY_BOT, SWING_BOTS
from aion_core.cli import app
from aion_core.config import HORIZONS, load_settings
from aion_core.sql_copy.sync import make_engine, migrate, sync_from_root, table_counts
from aion_core.sql_copy.tables import metadata
from aion_core.store import read_jsonl
from jobs.nightly import run_nightly
from jobs.replay import Market, run_replay

REPO = Path(__file__).resolve().parents[1]


def file_counts(store) -> dict[str, int]:
    """What the files hold, counted without the metrics code."""
    brain = store.read_json("rolling_brain")
    bots = [*SWING_BOTS, INTRADAY_BOT]
    return {
        "predictions_as_of": sum(len(e["predictions"]) for e in brain["symbols"].values()),
        "fills": sum(len(read_jsonl(p).records) for b in bots for p in store.bot_trade_files(b)),
        "bot_equity": sum(len((store.read_bot_state(b) or {}).get("equity_history", []))
                          for b in SWING_BOTS),
        "intraday_cycles": len((store.read_json("dt_state_file") or {})
                               .get("equity_history", [])),
    }


def db_counts(engine, as_of: str) -> dict[str, int]:
    with engine.connect() as conn:
        one = lambda sql, **kw: conn.execute(text(sql), kw).scalar_one()  # noqa: E731
        return {
            "predictions_as_of": one("SELECT count(*) FROM predictions WHERE as_of = :d", d=as_of),
            "fills": one("SELECT count(*) FROM fills WHERE source = 'live'"),
            "bot_equity": one("SELECT count(*) FROM bot_equity WHERE source = 'live'"),
            "intraday_cycles": one("SELECT count(*) FROM intraday_cycles"),
        }


def run_jobs(store, settings, synthetic_market) -> None:
    """A nightly, then a replay over the last weeks (the minute-bar days included)."""
    assert run_nightly(store, settings, skip_fetch=True)["status"] == "ok"
    market = Market(store.read_daily_panel())
    days = synthetic_market.intraday_days()
    run_replay(store, settings, (days[0] - pd.Timedelta(days=14)).date(), days[-1].date(),
               predictor=truth_predictor(synthetic_market, market), market=market)


def test_a_nightly_and_a_replay_fill_the_tables_with_the_files_counts(
        demo_root, synthetic_market, metrics_url, caplog):
    settings = load_settings(demo_root.root, env_file=None).model_copy(
        update={"aion_metrics_url": metrics_url})
    with caplog.at_level(logging.WARNING, logger="aion.sql_copy"):
        run_jobs(demo_root, settings, synthetic_market)
    assert not caplog.records
    engine = make_engine(metrics_url)
    brain = demo_root.read_json("rolling_brain")
    files = file_counts(demo_root)
    assert files["predictions_as_of"] == len(brain["symbols"]) * len(HORIZONS)
    assert files["fills"] > 0 and files["intraday_cycles"] > 0
    assert db_counts(engine, brain["as_of"]) == files
    held = table_counts(engine)
    assert held["nightly_runs"] == 1 and held["model_metrics"] == len(HORIZONS)
    with engine.connect() as conn:
        ic = conn.execute(text("SELECT validation->>'rank_ic' FROM model_metrics "
                               "WHERE horizon = '1w'")).scalar_one()
    summary = demo_root.read_json("nightly_summary")
    assert float(ic) == pytest.approx(summary["metrics"]["1w"]["rank_ic"])
    # the jobs' publishes already wrote every row a full sync would: a sync adds nothing
    assert sum(sync_from_root(demo_root, engine).values()) == 0
    engine.dispose()


def test_a_server_stopped_mid_run_costs_a_warning_and_sync_catches_up(
        demo_root, synthetic_market, pg_server, metrics_url, caplog):
    settings = load_settings(demo_root.root, env_file=None).model_copy(
        update={"aion_metrics_url": metrics_url})
    assert run_nightly(demo_root, settings, skip_fetch=True)["status"] == "ok"
    pg_server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="aion.sql_copy"):
            market = Market(demo_root.read_daily_panel())
            days = synthetic_market.intraday_days()
            run_replay(demo_root, settings, (days[0] - pd.Timedelta(days=14)).date(),
                       days[-1].date(), predictor=truth_predictor(synthetic_market, market),
                       market=market)
    finally:
        pg_server.start()
    warnings = [r.getMessage() for r in caplog.records if r.name == "aion.sql_copy"]
    assert len(warnings) == 1 and "after replay" in warnings[0], warnings
    engine = make_engine(metrics_url)
    brain = demo_root.read_json("rolling_brain")
    assert db_counts(engine, brain["as_of"])["fills"] == 0
    env = {"AION_METRICS_URL": metrics_url}
    first = CliRunner().invoke(app, ["metrics", "sync", "--data-dir", str(demo_root.root)],
                               env=env)
    assert first.exit_code == 0, first.output
    assert db_counts(engine, brain["as_of"]) == file_counts(demo_root)
    again = CliRunner().invoke(app, ["metrics", "sync", "--data-dir", str(demo_root.root)],
                               env=env)
    assert again.exit_code == 0 and ": 0 rows written or changed" in again.output, again.output
    engine.dispose()


def test_a_server_that_never_answers_delays_a_job_by_the_budget_only(demo_root, monkeypatch,
                                                                      caplog):
    """A socket that accepts and stays silent: the publish gives up in time, with one
    warning that does not show the URL's password."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(silent.accept()[0]), daemon=True).start()
    monkeypatch.setattr(sql_publish, "PUBLISH_BUDGET_S", 1.0)
    monkeypatch.setattr(sql_publish, "STATEMENT_TIMEOUT_S", 1.0)
    url = f"postgresql+psycopg://aion:s3cret-pw@127.0.0.1:{silent.getsockname()[1]}/aion"
    settings = load_settings(demo_root.root, env_file=None).model_copy(
        update={"aion_metrics_url": url})
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="aion.sql_copy"):
        sql_publish.publish(demo_root, settings, "bots")
    assert time.monotonic() - t0 < 5
    [record] = caplog.records
    assert "s3cret" not in record.getMessage() and "sync" in record.getMessage()
    silent.close()


def test_the_migrations_create_exactly_the_declared_tables(metrics_url):
    engine = make_engine(metrics_url)
    migrate(engine)
    migrate(engine)  # once per process: the second is free
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0001"
    engine.dispose()


def test_without_a_url_no_database_library_is_imported():
    code = ("import sys, jobs.nightly, jobs.bots, jobs.replay, jobs.intraday, aion_core.cli; "
            "print(sorted(m for m in ('sqlalchemy', 'psycopg', 'alembic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_a_backtest_publishes_its_figures_equity_and_fills_under_its_id(
        demo_root, synthetic_market, metrics_url):
    from jobs.replay import run_backtest

    settings = load_settings(demo_root.root, env_file=None).model_copy(
        update={"aion_metrics_url": metrics_url})
    market = Market(demo_root.read_daily_panel())
    days = synthetic_market.intraday_days()
    run_backtest(demo_root, settings, (days[0] - pd.Timedelta(days=30)).date(), days[-1].date(),
                 ["1w", "2w"], predictor=truth_predictor(synthetic_market, market),
                 market=market)
    [run] = [p.parent for p in demo_root.path("backtest_run", backtest_id="bt_20000101T000000")
             .parent.parent.glob("*/run.json")]
    trades = len(read_jsonl(run / "trades.jsonl").records)
    curve = pd.read_parquet(run / "equity.parquet")
    engine = make_engine(metrics_url)
    with engine.connect() as conn:
        one = lambda sql: conn.execute(text(sql), {"id": run.name}).scalar_one()  # noqa: E731
        assert one("SELECT count(*) FROM fills WHERE source = :id") == trades > 0
        assert one("SELECT count(*) FROM bot_equity WHERE source = :id") == len(curve)
        assert one("SELECT count(*) FROM backtests WHERE backtest_id = :id") == 3  # + benchmark
        assert one("SELECT count(*) FROM fills WHERE source = 'live'") == 0
    engine.dispose()


def test_a_nul_byte_in_a_trade_log_costs_that_line_only(demo_root, metrics_url, caplog):
    """One such line used to abort the whole `aion metrics sync` with a line naming no file."""
    from aion_core.store import append_jsonl

    bot = SWING_BOTS[0]
    line = {"ts": "2026-11-20T14:30:00+00:00", "bot": bot.name, "symbol": "A\x00B",
            "side": "buy", "qty": 1.0, "price": 10.0, "fees": 0.01, "reason": "entry",
            "order_id": f"{bot.name}-20261120-AB-buy", "realized_pnl": 0.0}
    append_jsonl(bot.trades_path(demo_root.root, "2026-11-20"), [line])
    engine = make_engine(metrics_url)
    with caplog.at_level(logging.WARNING):
        written = sync_from_root(demo_root, engine, "all")
    engine.dispose()
    lines = sum(len(read_jsonl(p).records) for b in [*SWING_BOTS, INTRADAY_BOT]
                for p in demo_root.bot_trade_files(b))
    assert written["fills"] == lines - 1
    assert any("NUL byte" in r.getMessage() and "A\\x00B" in r.getMessage()
               for r in caplog.records)
