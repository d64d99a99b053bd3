"""aion_core.alerts.rules: each cause from its inputs alone, and the throttle's memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from aion_core.alerts import rules
from aion_core.alerts.rules import Alert, BotBook, Inputs

# Wednesday 2026-03-11, 15:00 New York: Tuesday's session closed 23 h ago.
NOW = datetime(2026, 3, 11, 19, 0, tzinfo=UTC)


def summary(status: str = "ok", started: str = "2026-03-11T06:00:00+00:00") -> dict:
    return {"run_id": "nightly-x", "started_at": started, "as_of": "2026-03-10",
            "status": status, "steps": [
                {"name": "collect", "status": "failed", "detail": "yahoo: 3 symbols failed"},
                {"name": "train", "status": "ok", "detail": "fine"}]}


def keys(found: list[Alert]) -> list[str]:
    return [a.key for a in found]


def test_a_failed_or_partial_nightly_is_a_cause_naming_its_bad_steps():
    assert rules.nightly_alerts(summary("ok")) == [] and rules.nightly_alerts(None) == []
    [failed] = rules.nightly_alerts(summary("failed"))
    assert failed.key == "nightly:failed" and failed.level == "failure"
    assert "collect: failed: yahoo: 3 symbols failed" in failed.body and "train" not in failed.body
    assert keys(rules.nightly_alerts(summary("partial"))) == ["nightly:partial"]


def test_a_nightly_that_has_not_started_since_the_last_session_is_stale():
    fresh = summary(started="2026-03-11T06:00:00+00:00")  # after Tuesday's close
    assert rules.nightly_stale(fresh, NOW) == []
    old = summary(started="2026-03-10T06:00:00+00:00")  # before it: Monday's run
    assert keys(rules.nightly_stale(old, NOW)) == ["nightly_stale"]
    # At 01:00 New York the night's run is not due yet; a fresh root has nothing to be late for.
    assert rules.nightly_stale(old, datetime(2026, 3, 11, 5, 0, tzinfo=UTC)) == []
    assert rules.nightly_stale(None, NOW) == []


def test_a_running_heartbeat_that_stopped_beating_is_stale():
    beat = {"pid": 7, "status": "running", "at": (NOW - timedelta(minutes=9)).isoformat()}
    [stale] = rules.heartbeat_stale(beat, NOW)
    assert stale.key == "scheduler_stale" and "9 minutes" in stale.body
    assert rules.heartbeat_stale({**beat, "at": NOW.isoformat()}, NOW) == []
    assert rules.heartbeat_stale({**beat, "status": "stopped"}, NOW) == []
    assert rules.heartbeat_stale(None, NOW) == []


def test_the_kill_switch_is_a_cause_while_it_is_on():
    assert keys(rules.kill_switch_alerts(True)) == ["kill_switch"]
    assert rules.kill_switch_alerts(False) == []


def test_a_bot_past_its_drawdown_knob_is_a_cause():
    books = [BotBook("swing_1w", [100.0, 120.0, 95.0], 0.20),  # 20.8% below the peak
             BotBook("swing_2w", [100.0, 120.0, 100.0], 0.20),  # 16.7%: within
             BotBook("dt", [100.0], 0.01)]  # one point: no drawdown yet
    [dd] = rules.drawdown_alerts(books)
    assert dd.key == "drawdown:swing_1w" and "20.8%" in dd.title and "max_drawdown_alert 20%" \
        in dd.body


def track(sign: float, dates: int = 20, names: int = 8) -> pd.DataFrame:
    """Forecasts whose ranking matches (sign 1) or reverses (sign -1) the outcomes."""
    rng = np.random.default_rng(3)
    rows = []
    for d in pd.bdate_range("2026-01-05", periods=dates):
        realised = rng.normal(0, 0.02, names)
        rows += [{"date": d, "symbol": f"S{i}", "horizon": "4w", "expected_return": sign * r,
                  "confidence": 0.5, "realised": r} for i, r in enumerate(realised)]
    return pd.DataFrame(rows)


def test_a_negative_realised_20_session_rank_ic_is_a_cause():
    assert rules.realised_rank_ic(track(-1.0)) == {"4w": -1.0}
    assert keys(rules.rank_ic_alerts(track(-1.0))) == ["rank_ic:4w"]
    assert rules.rank_ic_alerts(track(1.0)) == []
    assert rules.rank_ic_alerts(track(-1.0, dates=19)) == []  # too few dates for a verdict
    assert rules.rank_ic_alerts(None) == []


def test_evaluate_gathers_every_rule():
    found = rules.evaluate(Inputs(now=NOW, summary=summary("failed"), kill_switch=True,
                                   books=[BotBook("dt", [10.0, 5.0], 0.1)], track=track(-1.0)))
    assert keys(found) == ["nightly:failed", "kill_switch", "drawdown:dt", "rank_ic:4w"]


def test_one_cause_notifies_once_until_it_clears_or_a_day_passes():
    cause = Alert("kill_switch", "t", "b")
    assert rules.due([cause], None, NOW) == [cause]
    state = rules.remember(None, [cause], {"kill_switch"}, NOW)
    assert rules.due([cause], state, NOW + timedelta(hours=1)) == []  # the throttled repeat
    assert rules.due([cause], state, NOW + rules.RENOTIFY) == [cause]  # a daily reminder
    kept = rules.remember(state, [cause], set(), NOW + timedelta(hours=1))
    assert kept["causes"]["kill_switch"]["sent_at"] == NOW.isoformat()
    cleared = rules.remember(state, [], set(), NOW + timedelta(hours=2))
    assert cleared["causes"] == {}
    assert rules.due([cause], cleared, NOW + timedelta(hours=3)) == [cause]  # re-armed


def test_an_unsent_cause_is_tried_again_and_an_unreadable_rule_clears_nothing():
    cause = Alert("drawdown:dt", "t", "b")
    state = rules.remember(None, [cause], set(), NOW)  # the endpoint was down
    assert rules.due([cause], state, NOW + timedelta(minutes=15)) == [cause]
    sent = rules.remember(None, [cause], {"drawdown:dt"}, NOW)
    unknown = rules.remember(sent, [], set(), NOW, unknown=frozenset({"drawdown"}))
    assert unknown["causes"] == sent["causes"]


def test_reconcile_alerts_tracking_either_way_and_one_per_symbol():
    from aion_core.alerts.rules import reconcile_alerts

    def report(bot, track, symbols=()):
        return {"bot": bot, "session": "2026-03-10", "shadow": {"start": "x",
                                                                "tracking_bp": track},
                "positions": [{"symbol": s, "journal_qty": 1, "broker_qty": 2,
                               "kind": "split 2:1", "explained_by": []} for s in symbols],
                "only_at_broker": []}

    keys = [a.key for a in reconcile_alerts(
        [report("swing_1w", 60.0, ["AAA"]), report("swing_2w", -40.0, ["AAA"])], 50.0)]
    assert keys == ["reconcile_position:AAA", "reconcile_tracking:swing_1w"]
    assert reconcile_alerts([report("swing_1w", -50.0)], 50.0)[0].title == \
        "Aion: swing_1w is -50 bp from its shadow"
    assert reconcile_alerts([{"bot": "dt", "session": "d", "positions": None}], 1.0) == []
