"""The Bots page's "Live vs simulated": the read model (aion_core.app.live_view) on reconcile
reports, and the page under AppTest for a bot run through Alpaca and a simulated one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from app_data import build_filled_root  # noqa: E402

from aion_core.app.live_view import NOTHING, live_vs_sim  # noqa: E402
from aion_core.store import Store  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HAND = "3f1c2a6e-0d7b-4f8e-9a55-8f2b0e7c1d22"


def oid(symbol, day="20261118", side="buy"):
    return f"swing_1w-{day}-{symbol}-{side}"


def fill(symbol, day, price, shadow, qty=10, side="buy"):
    sign = 1 if side == "buy" else -1
    return {"order_id": oid(symbol, day.replace("-", ""), side), "symbol": symbol,
            "side": side, "qty": qty, "price": price, "shadow_price": shadow,
            "vs_shadow_bp": round((price / shadow - 1) * 1e4 * sign, 2),
            "vs_open_bp": 1.0, "vs_decision_bp": 2.0}


def report(day, tracking, fills, issues=(), status=None):
    empty = {k: [] for k in ("matched", "only_at_broker", "only_in_journal", "partial",
                             "rejected_or_cancelled")}
    return {"schema": 1, "bot": "swing_1w", "session": day, **empty, "positions": [],
            "cash": {"beyond_fees": 0.0}, "issues": list(issues),
            "status": status or ("differs" if issues else "ok"),
            "summary": {"matched": len(fills)},
            "shadow": {"start": "2026-11-18", "tracking_bp": tracking,
                       "tracking_day_bp": tracking, "live_equity": 1.0, "shadow_equity": 1.0,
                       "fills": fills}}


REPORTS = [
    report("2026-11-18", -3.0, [fill("AAA", "2026-11-18", 100.3, 100.05),
                                fill("BBB", "2026-11-18", 50.0, 50.025, qty=20)]),
    report("2026-11-19", -1.5, [fill("AAA", "2026-11-19", 99.0, 99.0, side="sell")], [
        {"kind": "only_at_broker", "order_id": HAND, "symbol": "XOM",
         "text": f"{HAND}: only at the broker (placed by outside): buy 5/5 XOM (filled)"},
        {"kind": "partial", "order_id": oid("CCC", "20261119"), "symbol": "CCC",
         "text": "partially filled: 40 of 100 at the broker, 0 in the journal (canceled)"}]),
]


def test_the_view_orders_sessions_and_weighs_slippage_by_notional():
    view = live_vs_sim(list(reversed(REPORTS)))
    assert view.note is None and list(view.tracking["session"]) == ["2026-11-18", "2026-11-19"]
    assert view.tracking["tracking_bp"].iloc[-1] == -1.5 and len(view.fills) == 3
    aaa = view.by_symbol.set_index("symbol").loc["AAA"]
    expected = (24.99 * 1003 + 0.0 * 990) / (1003 + 990)
    assert aaa["vs_shadow_bp"] == pytest.approx(expected, abs=0.01)
    assert aaa["cost"] == pytest.approx(2.5) and view.by_symbol["symbol"].iloc[0] == "AAA"
    assert list(view.issues["order_id"]) == [HAND, oid("CCC", "20261119")]
    assert view.last["session"] == "2026-11-19" and view.last["status"] == "differs"


def test_no_report_is_one_line():
    view = live_vs_sim([])
    assert view.note == NOTHING and view.tracking.empty


@pytest.fixture
def filled(tmp_path, monkeypatch) -> Store:
    st.cache_data.clear()
    monkeypatch.chdir(tmp_path)  # no stray .env
    store = Store(tmp_path / "filled")
    build_filled_root(store, n_symbols=8, sessions=60, history_days=5)
    for r in REPORTS:
        store.write_json("reconcile_report", r, bot="swing_1w",
                         yyyymmdd=r["session"].replace("-", ""))
    monkeypatch.setenv("AION_DATA_DIR", str(store.root))
    return store


def test_the_bots_page_shows_live_vs_simulated_for_a_bot_run_through_alpaca(filled):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/bots.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Live vs simulated" in [s.value for s in at.subheader]
    shown = {m.label: m.value for m in at.metric}
    assert shown["Tracking difference"] == "−1.5 bp" and shown["Open issues"] == "2"
    assert shown["Fills reconciled"] == "3"
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Slippage by fill" in t for t in titles)
    assert any("Tracking difference, cumulative" in t for t in titles)
    (issues,) = [d.value for d in at.dataframe if "kind" in d.value.columns]
    assert list(issues["order_id"]) == [HAND, oid("CCC", "20261119")]
    (symbols,) = [d.value for d in at.dataframe if "vs_shadow_bp" in d.value.columns
                  and "fills" in d.value.columns]
    assert list(symbols["symbol"]) == ["AAA", "BBB"]

    at.segmented_control(key="bots_pick").set_value("2w").run()  # simulated only
    assert not at.exception
    assert NOTHING in [c.value for c in at.caption]
