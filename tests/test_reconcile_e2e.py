"""Issue 28's end-to-end check, as the issue words it:

    ALPACA_BASE_URL=http://127.0.0.1:PORT aion bots run --broker alpaca-paper
    aion reconcile

against the fake Alpaca account (tests/fake_alpaca.py: the real alpaca-py client, Alpaca's
documented payloads) where one fill lands 30 bp away from the open, one order is filled in
part and then canceled, and one order is placed by hand: the report names exactly those
three, and nothing else, by their order ids."""

from __future__ import annotations

from fake_alpaca import FakeAlpaca
from fake_http import serving
from test_alpaca_broker import alpaca_env, session_opens
from test_bots_job import write_brain
from typer.testing import CliRunner

from aion_core.bots.reconcile import parse_order_id
from aion_core.cli import app


def named(report: dict) -> set[str]:
    """Every order id the report's issues name, their own or as what explains them."""
    ids = {i["order_id"] for i in report["issues"] if i["order_id"]}
    return ids | {o for i in report["issues"] for o in i.get("explained_by", [])}


def test_bots_run_then_reconcile_names_the_three_things_that_went_differently(
        demo_root, monkeypatch, tmp_path):
    session, opens = session_opens(demo_root, write_brain(demo_root))
    alpaca = FakeAlpaca(opens, session)
    buys: list[str] = []

    def post(request):  # the swing_1w bot's first buy fills 30 bp away, its second in part
        body = request.json()
        if body["side"] == "buy" and body["client_order_id"].startswith("swing_1w-"):
            buys.append(body["client_order_id"])
            if len(buys) == 1:
                alpaca.away[buys[0]] = 30
            elif len(buys) == 2:
                alpaca.partial[buys[1]] = 0.4
        return alpaca.post(request)

    root = ["--data-dir", str(demo_root.root)]
    with serving() as server:
        alpaca.install(server)
        server.route("POST", "/v2/orders", post)
        alpaca_env(monkeypatch, tmp_path, server.url)  # ALPACA_BASE_URL and the keys
        run = CliRunner().invoke(app, ["bots", "run", "--broker", "alpaca-paper", *root])
        hand = alpaca.by_hand("XOM", "buy", 5, 110.0)["client_order_id"]
        result = CliRunner().invoke(app, ["reconcile", *root])
    assert run.exit_code == 0, run.output
    assert result.exit_code == 0, result.output
    away, partial = buys[:2]
    assert alpaca.orders[partial]["status"] == "canceled"
    assert float(alpaca.orders[partial]["filled_qty"]) > 0

    day = session.replace("-", "")
    report = demo_root.read_json("reconcile_report", bot="swing_1w", yyyymmdd=day)
    assert named(report) == {away, partial, hand}
    kinds = {i["order_id"] or i["symbol"]: i["kind"] for i in report["issues"]}
    assert kinds[away] == "slippage" and kinds[partial] == "partial"
    assert kinds[hand] == "only_at_broker"
    # the positions they move differ at the broker, each explained by its order alone
    for issue in (i for i in report["issues"] if i["kind"] == "position"):
        assert issue["explained_by"] in ([partial], [hand]), issue
    fill = next(r for r in report["shadow"]["fills"] if r["order_id"] == away)
    assert abs(fill["vs_open_bp"] - 30) < 0.05
    # every Aion order is in the journal, the partial one with the shares it got
    assert report["summary"]["matched"] == len(
        [o for o in alpaca.orders if o.startswith("swing_1w-")])

    # the other bots share the account: they see the hand order and the position it moved,
    # and nothing of their own (the partial fill is in swing_1w's journal, so its shares
    # are no difference)
    for bot in ("swing_2w", "swing_4w"):
        other = demo_root.read_json("reconcile_report", bot=bot, yyyymmdd=day)
        assert named(other) == {hand}
        assert {i["kind"] for i in other["issues"]} == {"only_at_broker", "position"}
    assert all(parse_order_id(o) for o in alpaca.orders if o != hand)
    lines = result.output.splitlines()
    assert "intraday: has not traded yet: nothing to reconcile" in lines
    assert any(line.startswith(f"swing_1w {session}: differs:") for line in lines)
