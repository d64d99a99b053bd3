"""AlpacaBroker against a fake Alpaca on 127.0.0.1 driving the real alpaca-py client:
duplicate ids recovered, 429/5xx retried, silence timed out, notional cap, and the two
live-trading switches."""

from __future__ import annotations

import json
import time

import pytest
from alpaca.trading.client import TradingClient
from fake_http import Reply, Request, serving
from test_bots_job import write_brain
from typer.testing import CliRunner

from aion_core.bots.ledger import Order
from aion_core.brokers.alpaca import AlpacaBroker, use_paper
from aion_core.cli import app
from aion_core.config import Settings
from aion_core.errors import RefusedError, TemporaryError

ORDER = Order("AAPL", "buy", 10, "entry", 190.0, order_id="swing_1w-20260105-AAPL-buy")
DUPLICATE = Reply.json({"code": 40010001, "message": "client_order_id must be unique"}, 422)
STALL_S = 10.0  # how long the fake stays silent: a client without a time limit waits it out


def alpaca_order(status="filled", qty="10", price="190.5", cid=ORDER.order_id):
    return {"id": "61e69015-8549-4bfd-b9c3-01e75843f47d", "client_order_id": cid,
            "created_at": "2026-01-05T14:30:00Z", "updated_at": "2026-01-05T14:30:01Z",
            "submitted_at": "2026-01-05T14:30:00Z", "filled_at": "2026-01-05T14:30:01Z",
            "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415", "symbol": "AAPL",
            "asset_class": "us_equity", "qty": qty, "filled_qty": qty,
            "filled_avg_price": price, "order_class": "simple", "order_type": "market",
            "type": "market", "side": "buy", "time_in_force": "day", "status": status,
            "extended_hours": False}


def broker_for(server, sleeps=None, **kw):
    client = TradingClient("key", "secret", paper=True, url_override=server.url)
    client._retry_wait = 0
    return AlpacaBroker(client, sleep=(sleeps.append if sleeps is not None else lambda s: None),
                        **kw)


def test_fill_carries_the_deterministic_client_order_id():
    with serving() as server:
        server.route("POST", "/v2/orders", Reply.json(alpaca_order()))
        fill = broker_for(server).submit(ORDER)
        sent = server.requests_to("/v2/orders")[0].json()
    assert sent["client_order_id"] == ORDER.order_id and sent["qty"] in (10, "10", 10.0)
    assert (fill.qty, fill.price, fill.order_id) == (10.0, 190.5, ORDER.order_id)


def test_a_day_order_canceled_after_a_partial_fill_is_a_fill_of_the_part_filled():
    """The shares bought are the journal's: refusing the order lost them, and the books
    differed from the broker's for good."""
    part = {**alpaca_order(status="canceled", price="190.25"), "filled_qty": "4",
            "filled_at": None, "canceled_at": "2026-01-05T21:00:00Z"}
    nothing = {**alpaca_order(status="canceled"), "filled_qty": "0", "filled_at": None,
               "filled_avg_price": None, "canceled_at": "2026-01-05T21:00:00Z"}
    with serving() as server:
        server.route("POST", "/v2/orders", Reply.json(part))
        fill = broker_for(server).submit(ORDER)
    assert (fill.qty, fill.price, fill.order_id) == (4.0, 190.25, ORDER.order_id)
    with serving() as server:
        server.route("POST", "/v2/orders", Reply.json(nothing))
        with pytest.raises(RefusedError, match="ended canceled"):
            broker_for(server).submit(ORDER)


def test_duplicate_id_recovers_the_earlier_order_instead_of_placing_another():
    with serving() as server:
        server.route("POST", "/v2/orders", DUPLICATE)
        server.route("GET", "/v2/orders:by_client_order_id", Reply.json(alpaca_order()))
        fill = broker_for(server).submit(ORDER)
        asked = server.requests_to("/v2/orders:by_client_order_id")[0].query
        posts = server.requests_to("/v2/orders", method="POST")
    assert asked["client_order_id"] == [ORDER.order_id]
    assert len(posts) == 1 and fill.price == 190.5


def test_429_and_5xx_are_retried_with_growing_backoff():
    sleeps: list[float] = []
    with serving() as server:
        server.route("POST", "/v2/orders", Reply.json({"message": "rate"}, 429),
                     Reply.json({"message": "boom"}, 503), Reply.json(alpaca_order()))
        fill = broker_for(server, sleeps, attempts=5, backoff_s=0.5).submit(ORDER)
    assert fill.qty == 10.0
    assert len(server.requests_to("/v2/orders")) >= 3
    assert sleeps and sleeps == sorted(sleeps)


def test_persistent_server_errors_become_a_temporary_error():
    with serving() as server:
        server.route("POST", "/v2/orders", Reply.json({"message": "down"}, 500))
        with pytest.raises(TemporaryError, match="attempts"):
            broker_for(server, attempts=3).submit(ORDER)


class SilentAlpaca:
    """Alpaca's order book, reached over a link that loses the answer to a new order: the
    first POST of a client_order_id places the order and nothing comes back; a later POST of
    the same id gets Alpaca's duplicate answer, and the lookup by that id finds the order."""

    def __init__(self) -> None:
        self.orders: dict[str, dict] = {}

    def post(self, request: Request) -> Reply:
        cid = request.json()["client_order_id"]
        if cid in self.orders:
            return DUPLICATE
        self.orders[cid] = alpaca_order(cid=cid)
        return Reply.stalled(STALL_S)

    def lookup(self, request: Request) -> Reply:
        order = self.orders.get(request.query["client_order_id"][0])
        return Reply.json(order) if order else Reply.json({"message": "order not found"}, 404)


def test_an_order_accepted_but_never_answered_times_out_and_is_recovered_not_doubled():
    alpaca = SilentAlpaca()
    with serving() as server:
        server.route("POST", "/v2/orders", alpaca.post)
        server.route("GET", "/v2/orders:by_client_order_id", alpaca.lookup)
        started = time.monotonic()
        fill = broker_for(server, timeout_s=0.3).submit(ORDER)
        took = time.monotonic() - started
        posts = server.requests_to("/v2/orders", method="POST")
    assert list(alpaca.orders) == [ORDER.order_id]  # one order at the broker, not two
    assert [p.json()["client_order_id"] for p in posts] == [ORDER.order_id] * 2
    assert (fill.order_id, fill.qty, fill.price) == (ORDER.order_id, 10.0, 190.5)
    assert took < STALL_S / 2


def test_a_broker_that_never_answers_fails_the_order_within_the_time_limit():
    with serving() as server:
        server.route("POST", "/v2/orders", Reply.stalled(STALL_S))
        started = time.monotonic()
        with pytest.raises(TemporaryError, match="3 attempts: no answer within the time limit"):
            broker_for(server, attempts=3, timeout_s=0.3).submit(ORDER)
        assert time.monotonic() - started < STALL_S / 2
        assert len(server.requests_to("/v2/orders")) == 3


def test_bots_run_against_a_silent_broker_ends_with_one_error_line(demo_root, monkeypatch,
                                                                   tmp_path):
    """`aion bots run` must end, not hang holding its lock, when Alpaca goes silent. The URL
    comes from ALPACA_BASE_URL; only the backoff wait and the time limit are swapped in."""
    write_brain(demo_root)
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in {"ALPACA_API_KEY": "k", "ALPACA_SECRET_KEY": "s",
                        "ALPACA_MAX_ORDER_NOTIONAL": "1e12"}.items():
        monkeypatch.setenv(name, value)
    from_settings = AlpacaBroker.from_settings.__func__
    with serving() as server:
        monkeypatch.setenv("ALPACA_BASE_URL", server.url)

        def pointed(cls, settings, broker, **kwargs):
            return from_settings(cls, settings, broker, sleep=lambda s: None, timeout_s=0.3)

        monkeypatch.setattr(AlpacaBroker, "from_settings", classmethod(pointed))
        for method, path in (("POST", "/v2/orders"), ("GET", "/v2/positions")):
            server.route(method, path, Reply.stalled(STALL_S))
        started = time.monotonic()
        result = CliRunner().invoke(app, ["bots", "run", "--horizon", "1w", "--broker",
                                          "alpaca-paper", "--data-dir", str(demo_root.root)])
        took = time.monotonic() - started
        asked = server.requests_to("/v2/orders")
    assert result.exit_code == 1 and "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("aion: error: Alpaca") and "no answer within the time limit" in last
    assert asked and len({r.json()["client_order_id"] for r in asked}) == 1
    assert took < STALL_S


def test_unfilled_order_is_polled_then_left_for_the_next_run():
    with serving() as server:
        server.route("POST", "/v2/orders", Reply.json(alpaca_order(status="accepted")))
        server.route("GET", "/v2/orders:by_client_order_id",
                     Reply.json(alpaca_order(status="new")), Reply.json(alpaca_order()))
        assert broker_for(server).submit(ORDER).price == 190.5
        server.route("GET", "/v2/orders:by_client_order_id",
                     Reply.json(alpaca_order(status="new")))
        with pytest.raises(TemporaryError, match="not filled"):
            broker_for(server, fill_polls=2).submit(ORDER)


def test_notional_cap_refuses_without_calling_the_broker():
    with serving() as server:
        with pytest.raises(RefusedError, match="cap"):
            broker_for(server, notional_cap=1_000.0).submit(ORDER)
        assert server.requests_to("/v2/orders") == []


def test_positions_and_account():
    with serving() as server:
        server.route("GET", "/v2/positions", Reply.json([{
            "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415", "symbol": "AAPL",
            "exchange": "NASDAQ", "asset_class": "us_equity", "avg_entry_price": "190",
            "qty": "10", "side": "long", "market_value": "1900", "cost_basis": "1900",
            "unrealized_pl": "0", "unrealized_plpc": "0", "unrealized_intraday_pl": "0",
            "unrealized_intraday_plpc": "0", "current_price": "190", "lastday_price": "189",
            "change_today": "0.005", "qty_available": "10"}]))
        server.route("GET", "/v2/account", Reply.json(json.loads(ACCOUNT)))
        broker = broker_for(server)
        assert broker.positions() == {"AAPL": 10.0}
        assert broker.account() == {"cash": 98100.0, "equity": 100000.0}


ACCOUNT = """{"id": "0d969814-40d6-4b2b-99ac-2e37427f692f", "account_number": "PA1",
 "status": "ACTIVE", "crypto_status": "ACTIVE", "currency": "USD", "buying_power": "196200",
 "regt_buying_power": "196200", "daytrading_buying_power": "0", "non_marginable_buying_power":
 "98100", "cash": "98100", "accrued_fees": "0", "pending_transfer_in": "0", "portfolio_value":
 "100000", "pattern_day_trader": false, "trading_blocked": false, "transfers_blocked": false,
 "account_blocked": false, "created_at": "2026-01-01T00:00:00Z", "trade_suspended_by_user":
 false, "multiplier": "2", "shorting_enabled": true, "equity": "100000", "last_equity":
 "100000", "long_market_value": "1900", "short_market_value": "0", "initial_margin": "950",
 "maintenance_margin": "570", "last_maintenance_margin": "0", "sma": "0",
 "daytrade_count": 0}"""


@pytest.mark.parametrize("paper_setting, broker, paper", [
    (True, "alpaca-paper", True), (False, "alpaca-paper", True), (False, "alpaca-live", False)])
def test_live_only_with_both_switches(paper_setting, broker, paper):
    assert use_paper(Settings(alpaca_paper=paper_setting), broker) is paper


def test_live_flag_alone_is_refused_before_any_client_exists():
    settings = Settings(alpaca_paper=True, alpaca_api_key="k", alpaca_secret_key="s")
    with pytest.raises(RefusedError, match="ALPACA_PAPER=false"):
        AlpacaBroker.from_settings(settings, "alpaca-live", url_override="http://127.0.0.1:9")


def test_the_notional_cap_comes_from_settings():
    from aion_core.config import Settings

    settings = Settings(_env_file=None, alpaca_api_key="k", alpaca_secret_key="s",  # type: ignore[call-arg]
                        alpaca_max_order_notional=1_000.0)
    with serving() as server:
        broker = AlpacaBroker.from_settings(settings, "alpaca-paper", url_override=server.url,
                                            sleep=lambda s: None)
        broker._client._retry_wait = 0
        with pytest.raises(RefusedError, match="cap 1,000"):
            broker.submit(ORDER)
        assert server.requests_to("/v2/orders") == []


def session_opens(store, as_of):
    """The session after `as_of` and every name's open on it (where the bots fill)."""
    panel = store.read_daily_panel()
    session = panel.loc[panel["date"] > as_of, "date"].min()
    opens = panel[panel["date"] == session].set_index("symbol")["open"]
    return f"{session:%Y-%m-%d}", {s: round(float(p), 4) for s, p in opens.items()}


def alpaca_env(monkeypatch, tmp_path, url):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in {"ALPACA_API_KEY": "k", "ALPACA_SECRET_KEY": "s",
                        "ALPACA_MAX_ORDER_NOTIONAL": "1e12", "ALPACA_BASE_URL": url}.items():
        monkeypatch.setenv(name, value)


def test_alpaca_base_url_points_bots_run_at_another_endpoint(demo_root, monkeypatch, tmp_path):
    """ALPACA_BASE_URL alone (nothing patched) sends `aion bots run`'s orders to the fake."""
    from fake_alpaca import FakeAlpaca
    from test_bots_job import trades

    session, opens = session_opens(demo_root, write_brain(demo_root))
    with serving() as server:
        alpaca = FakeAlpaca(opens, session)
        alpaca.install(server)
        alpaca_env(monkeypatch, tmp_path, server.url)
        result = CliRunner().invoke(app, ["bots", "run", "--horizon", "1w", "--broker",
                                          "alpaca-paper", "--data-dir", str(demo_root.root)])
        positions_asked = server.requests_to("/v2/positions")
    assert result.exit_code == 0, result.output
    logged = trades(demo_root)
    assert logged and {t["order_id"] for t in logged} == set(alpaca.orders)
    assert all(t["price"] == opens[t["symbol"]] and t["fees"] == 0 for t in logged)
    assert positions_asked  # the books were compared with the fake's positions too


def test_alpaca_base_url_reaches_the_data_clients(monkeypatch, tmp_path, demo_root):
    """The 1-minute bars of the intraday bot and the nightly's news ask the same endpoint."""
    from datetime import date

    from aion_core.config import load_settings
    from aion_core.errors import ProviderError
    from jobs.collect import make_providers
    from jobs.intraday import _market

    with serving() as server:
        server.route("GET", "/v2/stocks/bars", Reply.json({"bars": {}, "next_page_token": None}))
        server.route("GET", "/v1beta1/news", Reply.json({"news": [], "next_page_token": None}))
        alpaca_env(monkeypatch, tmp_path, server.url + "/")
        monkeypatch.setenv("AION_PROVIDER", "yfinance")
        settings = load_settings(demo_root.root, env_file=None)
        market = _market(demo_root, settings, None)
        market.client._retry_wait = 0
        with pytest.raises(ProviderError, match="delivered nothing"):
            market.intraday_bars(["AAPL"], date(2026, 11, 19))
        _, _, news = make_providers(settings)
        assert news.headlines(["AAPL"], date(2026, 11, 19), date(2026, 11, 19)).data.empty
        assert server.requests_to("/v2/stocks/bars") and server.requests_to("/v1beta1/news")


def test_alpaca_base_url_is_checked_where_it_is_read(monkeypatch):
    from aion_core.config import load_settings
    from aion_core.errors import ConfigurationError

    monkeypatch.setenv("ALPACA_BASE_URL", "ftp://x")
    with pytest.raises(ConfigurationError, match="ALPACA_BASE_URL"):
        load_settings(env_file=None)
