"""`aion reconcile` on a data root whose swing bot traded through the fake Alpaca account
(tests/fake_alpaca.py, reached through ALPACA_BASE_URL): one report per bot and session,
the same twice, a simulated bot left alone, a broker down or silent leaving the last report."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alpaca.trading.client import TradingClient
from fake_alpaca import FakeAlpaca
from fake_http import Reply, serving
from test_alpaca_broker import alpaca_env, session_opens
from test_bots_job import write_brain
from typer.testing import CliRunner

from aion_core.brokers.alpaca import AlpacaBroker
from aion_core.cli import app
from aion_core.config import load_settings
from aion_core.errors import TemporaryError
from jobs.bots import run_bots
from jobs.reconcile import reconcile_bots


def cli(store, *args):
    return CliRunner().invoke(app, [*args, "--data-dir", str(store.root)])


def report_path(store, session, bot="swing_1w"):
    return store.path("reconcile_report", bot=bot, yyyymmdd=session.replace("-", ""))


@pytest.fixture
def traded(demo_root, monkeypatch, tmp_path):
    """The 1w bot has traded its session through the fake account; yields (store, account,
    server, session)."""
    session, opens = session_opens(demo_root, write_brain(demo_root))
    alpaca = FakeAlpaca(opens, session)
    with serving() as server:
        alpaca.install(server)
        alpaca_env(monkeypatch, tmp_path, server.url)
        result = cli(demo_root, "bots", "run", "--horizon", "1w", "--broker", "alpaca-paper")
        assert result.exit_code == 0, result.output
        yield demo_root, alpaca, server, session


def test_reconcile_writes_a_report_per_bot_and_session_the_same_twice(traded):
    store, alpaca, server, session = traded
    result = cli(store, "reconcile")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "swing_2w: has not traded yet: nothing to reconcile"
    assert any(line.startswith(f"swing_1w {session}: ok: {len(alpaca.orders)} matched")
               for line in lines)
    path = report_path(store, session)
    report = store.read_json("reconcile_report", bot="swing_1w",
                              yyyymmdd=session.replace("-", ""))  # schema-checked
    assert report["status"] == "ok" and report["issues"] == [] and report["positions"] == []
    first = path.read_bytes()
    assert cli(store, "reconcile", "--bot", "1w").exit_code == 0
    assert path.read_bytes() == first
    assert not server.requests_to("/v2/orders", method="POST")[len(alpaca.orders):]


def test_trade_lines_of_alpaca_fills_say_so_and_simulated_ones_are_unchanged(traded):
    store, *_ = traded
    lines = store.read_bot_trades(store_bot("1w"))
    assert lines and all(t["broker"] == "alpaca" for t in lines)
    settings = load_settings(store.root, env_file=None)
    run_bots(store, settings, ["2w"])
    assert all("broker" not in t for t in store.read_bot_trades(store_bot("2w")))


def store_bot(key):
    from aion_core.bots.registry import BOTS

    return BOTS[key]


def test_a_bot_that_traded_in_simulation_has_nothing_to_reconcile(traded):
    store, _, _, session = traded
    run_bots(store, load_settings(store.root, env_file=None), ["2w"])  # sim
    result = cli(store, "reconcile", "--bot", "2w")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (f"swing_2w {session}: traded in simulation (no order of "
                                     "it at the broker): nothing to reconcile")
    assert not report_path(store, session, "swing_2w").exists()


def test_a_broker_that_fails_keeps_the_last_report_and_exits_with_one_line(traded):
    store, alpaca, server, session = traded
    assert cli(store, "reconcile", "--bot", "1w").exit_code == 0
    before = report_path(store, session).read_bytes()
    alpaca.by_hand("XOM", "buy", 5, 110.0)  # a new report would differ ...
    server.route("GET", "/v2/account/activities/FILL", Reply.json({"message": "gone"}, 404))
    result = cli(store, "reconcile", "--bot", "1w")  # ... but none can be made
    assert result.exit_code == 1 and "Traceback" not in result.output
    out = result.output.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"aion: error: reconcile {session}: Alpaca ")
    assert out[0].endswith("the last reports are kept")
    assert report_path(store, session).read_bytes() == before


def test_a_broker_silent_mid_reconcile_writes_nothing(traded):
    store, alpaca, server, session = traded
    settings = load_settings(store.root, env_file=None)
    reconcile_bots(store, settings, ["1w"])
    before = report_path(store, session).read_bytes()
    alpaca.by_hand("XOM", "buy", 5, 110.0)
    server.route("GET", "/v2/positions", Reply.stalled(10.0))  # orders and fills answer
    client = TradingClient("k", "s", paper=True, url_override=server.url)
    silent = AlpacaBroker(client, sleep=lambda s: None, attempts=2, timeout_s=0.3)
    started = datetime.now(UTC)
    with pytest.raises(TemporaryError, match="no answer within the time limit.*reports are kept"):
        reconcile_bots(store, settings, ["1w"], reader=silent)
    assert (datetime.now(UTC) - started).total_seconds() < 5
    assert report_path(store, session).read_bytes() == before


@pytest.mark.parametrize("args, says", [
    (["--bot", "8w"], "--bot must be one of 1w, 2w, 4w, dt or all"),
    (["--date", "2026-11-21"], "is not an NYSE session"),
    (["--date", "19/11/2026"], "--date must be YYYY-MM-DD")])
def test_bad_arguments_are_one_line(demo_root, args, says):
    result = cli(demo_root, "reconcile", *args)
    assert result.exit_code != 0 and says in result.output


def test_the_scheduler_reconciles_after_a_run_through_alpaca(demo_root, monkeypatch, tmp_path):
    from jobs import scheduler as sched

    session, opens = session_opens(demo_root, write_brain(demo_root))
    brain = demo_root.read_json("rolling_brain")
    demo_root.write_json("nightly_summary", {
        "run_id": "r", "started_at": "x", "as_of": brain["as_of"], "status": "ok", "steps": []})
    at = datetime.fromisoformat(f"{session}T09:00:00-05:00")
    alpaca = FakeAlpaca(opens, session)
    with serving() as server:
        alpaca.install(server)
        alpaca_env(monkeypatch, tmp_path, server.url)
        monkeypatch.setenv("AION_BROKER", "sim")
        sim = sched._swing_bots(demo_root, load_settings(demo_root.root, env_file=None), at)
        assert "reconcile" not in sim.detail and not server.requests_to("/v2/orders")
    for key in ("1w", "2w", "4w"):  # start again: the same session through Alpaca
        for path in demo_root.bot_trade_files(store_bot(key)):
            path.unlink()
        demo_root.path("bot_state", horizon=key).unlink()
    with serving() as server:
        alpaca.install(server)
        alpaca_env(monkeypatch, tmp_path, server.url)
        monkeypatch.setenv("AION_BROKER", "alpaca-paper")
        outcome = sched._swing_bots(demo_root, load_settings(demo_root.root, env_file=None), at)
    assert outcome.status == "ok"
    for bot in ("swing_1w", "swing_2w", "swing_4w"):
        assert f"{bot} {session}: ok" in outcome.detail
        assert report_path(demo_root, session, bot).exists()


def test_the_shadow_names_a_fill_away_from_the_open_and_carries_on_a_session_later(
        demo_root, monkeypatch, tmp_path):
    """Session one: one buy fills 30 bp away from the open; the report's shadow (SimBroker at
    the open with the knobs' 5 bp slippage and 1 bp fees) puts it 25 bp from its twin, an
    issue past AION_RECONCILE_SLIPPAGE_BP (20). Session two carries the shadow on."""
    session, opens = session_opens(demo_root, write_brain(demo_root))
    alpaca = FakeAlpaca(opens, session)
    with serving() as server:
        alpaca.install(server)
        alpaca_env(monkeypatch, tmp_path, server.url)
        first = run_session(demo_root, alpaca, server, away=30)
        report = first["report"]
        away = first["away"]
        rows = {r["order_id"]: r for r in report["shadow"]["fills"]}
        assert rows[away]["vs_open_bp"] == pytest.approx(30, abs=0.05)
        assert rows[away]["vs_shadow_bp"] == pytest.approx(25, abs=0.05)
        assert all(abs(r["vs_shadow_bp"] + 5) < 0.05 for o, r in rows.items() if o != away)
        assert [i["order_id"] for i in report["issues"]] == [away]
        assert report["issues"][0]["kind"] == "slippage" and report["status"] == "differs"
        shadow = report["shadow"]
        assert shadow["start"] == session and shadow["tracking_day_bp"] == shadow["tracking_bp"]
        # the same buys marked at the same closes: the equities differ by what was paid
        paid_live = sum(r["qty"] * r["price"] for r in shadow["fills"])
        paid_shadow = sum(f["qty"] * f["price"] + f["fees"] for f in shadow["shadow_fills"])
        assert shadow["live_equity"] - shadow["shadow_equity"] == pytest.approx(
            paid_shadow - paid_live, abs=0.02)
        assert shadow["tracking_bp"] == pytest.approx(
            (shadow["live_equity"] / shadow["shadow_equity"] - 1) * 1e4, abs=0.01)

        panel = demo_root.read_daily_panel()
        write_brain(demo_root, back=2)
        second_day = f"{panel['date'].max():%Y-%m-%d}"
        alpaca.open_session({s: round(float(p), 4) for s, p in panel[panel["date"] == panel[
            "date"].max()].set_index("symbol")["open"].items()}, second_day)
        second = run_session(demo_root, alpaca, server, away=0)["report"]
    assert second["session"] == second_day and second["shadow"]["start"] == session
    assert second["shadow"]["tracking_day_bp"] == pytest.approx(
        second["shadow"]["tracking_bp"] - shadow["tracking_bp"], abs=0.02)
    assert second["positions"] == [] and not second["shadow"]["restarted"]


def run_session(store, alpaca, server, away):
    """`aion bots run --broker alpaca-paper` for 1w with the first name it buys filled `away`
    bp from the open, then `aion reconcile --bot 1w`; the report and that order's id."""
    first_buy = []
    post = alpaca.post

    def posting(request):
        body = request.json()
        if away and not first_buy and body["side"] == "buy":
            first_buy.append(body["client_order_id"])
            alpaca.away[body["symbol"]] = away
        return post(request)

    server.route("POST", "/v2/orders", posting)
    alpaca.away.clear()
    result = cli(store, "bots", "run", "--horizon", "1w", "--broker", "alpaca-paper")
    assert result.exit_code == 0, result.output
    result = cli(store, "reconcile", "--bot", "1w")
    assert result.exit_code == 0, result.output
    state = store.read_json("bot_state", horizon="1w")
    report = store.read_json("reconcile_report", bot="swing_1w",
                             yyyymmdd=state["as_of"].replace("-", ""))
    server.route("POST", "/v2/orders", post)
    return {"report": report, "away": first_buy[0] if first_buy else None}


def test_an_order_placed_by_hand_notifies_through_the_existing_notifications(traded,
                                                                             monkeypatch):
    store, alpaca, server, session = traded
    server.route("POST", "/hooks/aion", Reply.json({"ok": True}))
    monkeypatch.setenv("AION_NOTIFY_URLS", server.url.replace("http://", "json://")
                       + "/hooks/aion")
    hand = alpaca.by_hand("XOM", "buy", 5, 110.0)["client_order_id"]
    result = cli(store, "reconcile", "--bot", "1w")
    assert result.exit_code == 0, result.output
    assert f"  - {hand}: only at the broker (placed by outside): buy 5/5 XOM (filled)" \
        in result.output.splitlines()
    titles = sorted(r.json()["title"] for r in server.requests_to("/hooks/aion"))
    assert titles == ["Aion: XOM differs at the broker", "Aion: an order only at the broker (XOM)"]
