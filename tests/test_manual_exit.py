"""`aion bots exit`: an admin's manual exit through the desk, once per request, between the
bot's last session and its next."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
import test_bots_job as bots_job
from typer.testing import CliRunner

from aion_core.app import run_now
from aion_core.bots.manual import manual_key
from aion_core.cli import app
from aion_core.config import load_settings
from jobs.bots import run_bots

AT = "2026-11-23T10:15:00-05:00"


def exit_cli(root, symbol: str, at: str = AT, bot: str = "1w"):
    return CliRunner().invoke(app, ["bots", "exit", "--bot", bot, "--symbol", symbol, "--at",
                                    at, "--data-dir", str(root)])


def manual_lines(store) -> list[dict]:
    return [t for t in bots_job.trades(store) if t["reason"] == "manual"]


@pytest.fixture
def traded(demo_root):
    """The demo root after one session of the 1w bot: a book with open positions."""
    bots_job.write_brain(demo_root, back=3)
    run_bots(demo_root, load_settings(demo_root.root, env_file=None), ["1w"])
    return demo_root


def test_the_key_sits_between_the_last_session_and_the_next():
    at = datetime.fromisoformat("2026-11-23T01:30:00-05:00")  # before that morning's run
    key = manual_key("2026-11-20", at)
    assert key == "20261120M20261123T0130" and "-" not in key
    assert "20261120" < key < "20261123"


def test_the_exit_sells_the_position_once_and_the_next_session_still_runs(traded):
    state = traded.read_json("bot_state", horizon="1w")
    symbol, pos = sorted(state["positions"].items())[0]
    result = exit_cli(traded.root, symbol.lower())
    assert result.exit_code == 0, result.output
    assert f"sold {pos['qty']:,.0f} {symbol}" in result.output
    (line,) = manual_lines(traded)
    assert (line["symbol"], line["side"], line["qty"]) == (symbol, "sell", pos["qty"])
    last = traded.read_daily(symbol)["close"].iloc[-1]
    assert line["price"] == pytest.approx(last * (1 - 5e-4), abs=1e-4)  # 5 bp slippage
    key = manual_key(state["as_of"], datetime.fromisoformat(AT))
    assert line["order_id"] == f"swing_1w-{key}-{symbol}-sell"
    after = traded.read_json("bot_state", horizon="1w")
    assert symbol not in after["positions"] and after["last_exit"]["symbol"] == symbol
    assert after["as_of"] == state["as_of"] and after["last_run"] == state["last_run"]
    assert after["cash"] == pytest.approx(
        state["cash"] + line["qty"] * line["price"] - line["fees"])
    # the same request again: done, nothing sent; the same symbol asked anew: refused
    again = exit_cli(traded.root, symbol)
    assert again.exit_code == 0 and again.output.startswith("already done:")
    anew = exit_cli(traded.root, symbol, at="2026-11-23T10:16:00-05:00")
    assert anew.exit_code == 1 and f"holds no {symbol}" in anew.output
    assert len(manual_lines(traded)) == 1
    # the bot's next session is not taken for done by the exit logged before it
    bots_job.write_brain(traded, back=2)
    (next_run,) = run_bots(traded, load_settings(traded.root, env_file=None), ["1w"])
    assert "already ran" not in next_run
    assert traded.read_json("bot_state", horizon="1w")["as_of"] > state["as_of"]


def test_a_retry_after_a_crash_before_the_state_books_the_logged_fill(traded):
    state = traded.read_json("bot_state", horizon="1w")
    symbol = sorted(state["positions"])[0]
    assert exit_cli(traded.root, symbol).exit_code == 0
    traded.write_json("bot_state", state, horizon="1w")  # as if it died before the state
    retry = exit_cli(traded.root, symbol)
    assert retry.exit_code == 0 and f"{symbol} at $" in retry.output
    assert len(manual_lines(traded)) == 1
    assert symbol not in traded.read_json("bot_state", horizon="1w")["positions"]


def test_refusals_name_the_cause(traded):
    assert exit_cli(traded.root, "NOPE").exit_code == 1
    assert "must be one of" in exit_cli(traded.root, "X", bot="dt").output
    bad_time = exit_cli(traded.root, "X", at="2026-11-23 10:15")
    assert bad_time.exit_code != 0 and "UTC offset" in bad_time.output
    fresh = exit_cli(traded.root, "X", bot="4w")
    assert fresh.exit_code == 1 and "has not traded yet" in fresh.output
    assert manual_lines(traded) == []


def test_the_pages_background_job_runs_the_exit_and_logs_its_line(traded):
    symbol = sorted(traded.read_json("bot_state", horizon="1w")["positions"])[0]
    run_now.start_job(traded, run_now.BOT_EXIT_JOB,
                      extra=["--bot", "1w", "--symbol", symbol, "--at", AT])
    deadline = time.monotonic() + 120
    while run_now.job_view(traded, run_now.BOT_EXIT_JOB).running:
        assert time.monotonic() < deadline, "the exit job did not end"
        time.sleep(0.2)
    job = run_now.job_view(traded, run_now.BOT_EXIT_JOB)
    assert job.status == "ok", job.log_tail
    assert "sold" in job.log_tail[-1] and symbol in job.log_tail[-1]
    assert len(manual_lines(traded)) == 1
