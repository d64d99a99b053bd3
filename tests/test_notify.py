"""The notifier end to end: a data root, Apprise's real `json://` service, and a local HTTP
server (tests/fake_http.py) receiving its posts. One test per cause; the throttle; a cleared
cause re-arms; a down or silent endpoint costs a bounded time and fails nothing; no secret
reaches a message."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from fake_http import FakeHTTPServer, Reply, serving

from aion_core.alerts.sender import AppriseSender, redact, split_urls
from aion_core.config import Settings
from aion_core.store import Store, write_parquet
from jobs.notify import check_alerts

NOW = datetime(2026, 3, 11, 19, 0, tzinfo=UTC)  # Wednesday 15:00 New York
FRESH = "2026-03-11T06:00:00+00:00"  # the night's run, after Tuesday's close
HOOK = "/hooks/aion"


@pytest.fixture
def server() -> Iterator[FakeHTTPServer]:
    with serving() as http:
        http.route("POST", HOOK, Reply.json({"ok": True}))
        yield http


def settings_for(server: FakeHTTPServer, **more: str) -> Settings:
    url = server.url.replace("http://", "json://") + HOOK
    return Settings(_env_file=None, aion_notify_urls=url, **more)  # type: ignore[call-arg]


def posts(server: FakeHTTPServer) -> list[dict]:
    return [r.json() for r in server.requests_to(HOOK, "POST")]


def summary(status: str = "ok", started: str = FRESH, detail: str = "3 symbols failed") -> dict:
    return {"run_id": "nightly-20260311T060000Z", "started_at": started,
            "finished_at": started, "as_of": "2026-03-10", "status": status,
            "steps": [{"name": "collect", "status": "failed" if status != "ok" else "ok",
                       "seconds": 1.0, "detail": detail}]}


def bot_state(equity: list[float]) -> dict:
    days = pd.bdate_range("2026-02-02", periods=len(equity))
    return {"schema": 1, "bot": "swing_1w", "as_of": "2026-03-10", "initial_cash": 100_000.0,
            "cash": equity[-1], "positions": {},
            "equity_history": [{"date": d.date().isoformat(), "equity": e}
                               for d, e in zip(days, equity, strict=True)]}


def write_reversed_forecasts(store: Store, names: int = 8, sessions: int = 40) -> None:
    """Bars and a 1w prediction history whose every forecast ranks the names backwards."""
    rng = np.random.default_rng(5)
    days = pd.bdate_range("2026-01-05", periods=sessions)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (sessions, names)), axis=0))
    rows = []
    for i in range(names):
        sym = f"S{i}"
        store.write_daily(sym, pd.DataFrame({
            "symbol": sym, "date": days, "open": closes[:, i], "high": closes[:, i],
            "low": closes[:, i], "close": closes[:, i], "volume": 1e6}))
        for t in range(sessions - 6):  # judged on the tradeable return: open t+1 -> t+6
            future = closes[t + 6, i] / closes[t + 1, i] - 1
            rows.append({"as_of": days[t], "symbol": sym, "horizon": "1w",
                         "expected_return": -future, "confidence": 0.5, "score": 0.0,
                         "rank": 1})
    write_parquet(store.path("prediction_history"), pd.DataFrame(rows))


# --------------------------------------------------------------------------- each cause


def test_a_failed_nightly_is_posted(store: Store, server: FakeHTTPServer):
    store.write_json("nightly_summary", summary("failed"))
    assert check_alerts(store, settings_for(server), NOW) == ["notified: Aion: nightly failed"]
    [post] = posts(server)
    assert post["title"] == "Aion: nightly failed" and post["type"] == "failure"
    assert "collect: failed: 3 symbols failed" in post["message"]


def test_a_partial_nightly_is_posted(store: Store, server: FakeHTTPServer):
    store.write_json("nightly_summary", summary("partial"))
    check_alerts(store, settings_for(server), NOW)
    assert [p["title"] for p in posts(server)] == ["Aion: nightly partial"]


def test_the_kill_switch_is_posted(store: Store, server: FakeHTTPServer):
    store.write_json("admin_settings", {"kill_switch": True})
    check_alerts(store, settings_for(server), NOW)
    [post] = posts(server)
    assert post["title"] == "Aion: kill switch engaged" and "Admin page" in post["message"]


def test_a_bot_past_its_drawdown_knob_is_posted(store: Store, server: FakeHTTPServer):
    store.write_json("bot_state", bot_state([100_000.0, 110_000.0, 95_000.0]), horizon="1w")
    store.write_json("bots_config", {"swing": {"1w": {"max_drawdown_alert": 0.1}}})
    check_alerts(store, settings_for(server), NOW)
    [post] = posts(server)
    assert post["title"] == "Aion: swing_1w drawdown 13.6%"
    assert "max_drawdown_alert 10%" in post["message"]


def test_a_drawdown_within_the_default_knob_is_quiet(store: Store, server: FakeHTTPServer):
    store.write_json("bot_state", bot_state([100_000.0, 110_000.0, 95_000.0]), horizon="1w")
    assert check_alerts(store, settings_for(server), NOW) == [] and posts(server) == []


def test_a_negative_realised_rank_ic_is_posted(store: Store, server: FakeHTTPServer):
    write_reversed_forecasts(store)
    check_alerts(store, settings_for(server), NOW)
    [post] = posts(server)
    assert post["title"] == "Aion: 1w model's realised rank IC below zero"
    assert "last 20 forecast dates averages -1.000" in post["message"]


def test_a_stale_nightly_is_posted(store: Store, server: FakeHTTPServer):
    store.write_json("nightly_summary", summary("ok", started="2026-03-09T06:00:00+00:00"))
    check_alerts(store, settings_for(server), NOW)
    assert [p["title"] for p in posts(server)] == ["Aion: nightly is stale"]


def test_a_stale_scheduler_heartbeat_is_posted(store: Store, server: FakeHTTPServer):
    store.write_json("scheduler_heartbeat", {
        "schema": 1, "pid": 4242, "at": (NOW - timedelta(minutes=30)).isoformat(),
        "status": "running", "jobs": {}})
    check_alerts(store, settings_for(server), NOW)
    [post] = posts(server)
    assert post["title"] == "Aion: scheduler heartbeat is stale" and "30 minutes" in \
        post["message"]


# --------------------------------------------------------------------------- the throttle


def test_a_repeat_is_throttled_and_a_cleared_cause_rearms(store: Store, server: FakeHTTPServer):
    settings = settings_for(server)
    store.write_json("admin_settings", {"kill_switch": True})
    assert len(check_alerts(store, settings, NOW)) == 1
    assert check_alerts(store, settings, NOW + timedelta(minutes=15)) == []  # throttled
    assert len(posts(server)) == 1
    store.write_json("admin_settings", {"kill_switch": False})
    check_alerts(store, settings, NOW + timedelta(minutes=30))  # cleared
    assert store.read_json("notify_state")["causes"] == {}
    store.write_json("admin_settings", {"kill_switch": True})
    assert len(check_alerts(store, settings, NOW + timedelta(minutes=45))) == 1  # re-armed
    assert check_alerts(store, settings, NOW + timedelta(hours=25)) != []  # a day's reminder
    assert len(posts(server)) == 3


def test_nothing_is_read_or_written_without_notify_urls(store: Store):
    store.write_json("admin_settings", {"kill_switch": True})
    assert check_alerts(store, Settings(_env_file=None), NOW) == []  # type: ignore[call-arg]
    assert not store.path("notify_state").exists()


# --------------------------------------------------------------------------- failures


def test_a_down_endpoint_fails_nothing_and_is_tried_again(store: Store, server: FakeHTTPServer):
    settings = settings_for(server)
    store.write_json("admin_settings", {"kill_switch": True})
    server.close()  # connection refused from now on
    started = time.monotonic()
    assert check_alerts(store, settings, NOW) == []
    assert time.monotonic() - started < 10
    cause = store.read_json("notify_state")["causes"]["kill_switch"]
    assert cause["sent_at"] is None  # not sent: the next check tries again


def test_a_silent_endpoint_costs_a_bounded_time(store: Store):
    with serving() as http:
        http.route("POST", HOOK, Reply.stalled(30))
        url = http.url.replace("http://", "json://") + HOOK
        store.write_json("admin_settings", {"kill_switch": True})
        store.write_json("nightly_summary", summary("failed"))
        started = time.monotonic()
        assert check_alerts(store, Settings(_env_file=None), NOW,  # type: ignore[call-arg]
                            sender=AppriseSender([url], read_s=0.5)) == []
        assert time.monotonic() - started < 5
        assert len(http.requests_to(HOOK)) == 1  # two causes, one wait: the rest next time
        causes = store.read_json("notify_state")["causes"]
        assert sorted(causes) == ["kill_switch", "nightly:failed"]
        assert all(c["sent_at"] is None for c in causes.values())


def test_no_secret_reaches_a_message(store: Store, server: FakeHTTPServer):
    url = server.url.replace("http://", "json://user:hunter2pass@") + HOOK
    settings = Settings(_env_file=None, aion_notify_urls=url,  # type: ignore[call-arg]
                        fred_api_key="fredkey0123456789", alpaca_secret_key="alpacaSECRETxyz")
    detail = ("GET https://api.stlouisfed.org/fred/series?series_id=DGS10&api_key="
              "fredkey0123456789 -> 500; alpaca said alpacaSECRETxyz; "
              f"https://bob:pw123456@example.com/x; token=abcdef123456; hook {url}")
    store.write_json("nightly_summary", summary("failed", detail=detail))
    check_alerts(store, settings, NOW)
    [request] = server.requests_to(HOOK, "POST")
    text = request.body.decode()
    for secret in ("fredkey0123456789", "alpacaSECRETxyz", "hunter2pass", "pw123456",
                   "abcdef123456"):
        assert secret not in text, secret
    assert "series_id=DGS10" in text and "api_key=****" in text  # the rest still helps


def test_redact_and_split_urls():
    assert split_urls("json://a.example/x, ntfy://ntfy.sh/topic  tgram://123:ABC/456") == [
        "json://a.example/x", "ntfy://ntfy.sh/topic", "tgram://123:ABC/456"]
    assert redact("see postgresql://aion:s3cret@db/aion") == "see postgresql://****@db/aion"
    assert redact("x TOKEN123456 y", ["TOKEN123456"]) == "x **** y"


def test_the_scheduler_checks_on_its_own_only_when_urls_are_set(store: Store,
                                                                 server: FakeHTTPServer):
    from apscheduler.schedulers.background import BackgroundScheduler

    from jobs.scheduler import build_scheduler

    with_urls, _ = build_scheduler(store, settings_for(server), [], BackgroundScheduler)
    without, _ = build_scheduler(store, Settings(_env_file=None),  # type: ignore[call-arg]
                                 [], BackgroundScheduler)
    assert with_urls.get_job("notify") is not None and without.get_job("notify") is None


def test_a_job_run_checks_after_itself(store: Store, server: FakeHTTPServer):
    """The hook of a job: an intraday cycle on a closed market still reports the kill
    switch (the cheapest job to run; the nightly and the bots call the same line)."""
    from jobs.intraday import run_intraday_cycle

    store.write_json("admin_settings", {"kill_switch": True})
    line = run_intraday_cycle(store, settings_for(server), at=datetime(2026, 3, 14, 15,
                                                                       tzinfo=UTC))
    assert "market closed" in line
    assert [p["title"] for p in posts(server)] == ["Aion: kill switch engaged"]


def test_one_service_down_of_two_still_counts_as_sent(store: Store, server: FakeHTTPServer):
    """Else every check would repeat the alert on the service that is up."""
    with serving() as down:
        down_url = down.url.replace("http://", "json://") + HOOK
    up_url = server.url.replace("http://", "json://") + HOOK
    settings = Settings(_env_file=None,  # type: ignore[call-arg]
                        aion_notify_urls=f"{up_url}, {down_url}")
    store.write_json("admin_settings", {"kill_switch": True})
    assert len(check_alerts(store, settings, NOW)) == 1
    assert check_alerts(store, settings, NOW + timedelta(minutes=15)) == []
    assert len(posts(server)) == 1


def reconcile_report(bot: str = "swing_1w", tracking_bp: float = -10.0, **lists) -> dict:
    empty = {k: [] for k in ("matched", "only_at_broker", "only_in_journal", "partial",
                             "rejected_or_cancelled")}
    return {"schema": 1, "bot": bot, "session": "2026-03-10", "status": "differs",
            **empty, "positions": [], "cash": {"beyond_fees": 0.0}, "issues": [],
            "summary": {}, "shadow": {"start": "2026-03-02", "tracking_bp": tracking_bp},
            **lists}


def test_reconcile_differences_are_posted_once_per_cause(store: Store, server: FakeHTTPServer):
    """A position that differs (once, though two bots' reports name it), an order only at
    the broker, and a live book past AION_RECONCILE_TRACKING_BP from its shadow."""
    position = {"symbol": "XOM", "journal_qty": 0, "broker_qty": 5, "kind": "quantity",
                "explained_by": ["3f1c2a6e"]}
    by_hand = {"order_id": "3f1c2a6e", "symbol": "XOM", "side": "buy", "qty": 5,
               "filled_qty": 5, "status": "filled", "placed_by": "outside"}
    store.write_json("reconcile_report", reconcile_report(
        positions=[position], only_at_broker=[by_hand], tracking_bp=-62.5),
        bot="swing_1w", yyyymmdd="20260310")
    store.write_json("reconcile_report", reconcile_report("swing_2w", positions=[position]),
                     bot="swing_2w", yyyymmdd="20260310")
    store.write_json("reconcile_report", reconcile_report(tracking_bp=0.0),  # an older one
                     bot="swing_1w", yyyymmdd="20260309")
    check_alerts(store, settings_for(server), now=NOW)
    titles = sorted(p["title"] for p in posts(server))
    assert titles == ["Aion: XOM differs at the broker",
                      "Aion: an order only at the broker (XOM)",
                      "Aion: swing_1w is -62 bp from its shadow"]
    assert "Explained by 3f1c2a6e" in next(p["message"] for p in posts(server)
                                           if "differs" in p["title"])


def test_a_tracking_difference_within_the_setting_is_quiet(store: Store, server: FakeHTTPServer):
    store.write_json("reconcile_report", reconcile_report(tracking_bp=-62.5),
                     bot="swing_1w", yyyymmdd="20260310")
    check_alerts(store, settings_for(server, aion_reconcile_tracking_bp=100.0), now=NOW)
    assert posts(server) == []
