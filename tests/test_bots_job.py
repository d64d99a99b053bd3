"""`run_bots` on a data root: logs then state, once per session, refusals that name the cause."""

from __future__ import annotations

import pandas as pd
import pytest
from faults import write_unchecked
from typer.testing import CliRunner

from aion_core.cli import app
from aion_core.config import HORIZONS, load_settings
from aion_core.errors import DataError, KnobError, RefusedError
from aion_core.store import read_jsonl
from jobs.bots import run_bots


def write_brain(store, back=3):
    """A CONTRACT rolling brain as of the `back`-th last session, ranking names by momentum."""
    panel = store.read_daily_panel()
    close = panel.pivot(index="date", columns="symbol", values="close")
    as_of = close.index[-back]
    momentum = (close.loc[as_of] / close.shift(5).loc[as_of] - 1).fillna(0.0)
    symbols = {s: {"last_close": float(close.loc[as_of, s]), "predictions": {
        h: {"expected_return": float(m), "confidence": 0.8, "score": 0.0, "rank": 1}
        for h in HORIZONS}} for s, m in momentum.items()}
    store.write_json("rolling_brain", {"schema": 1, "generated_at": "x", "as_of":
                                       f"{as_of:%Y-%m-%d}", "horizons": list(HORIZONS),
                                       "models": {}, "symbols": symbols})
    return as_of


def trades(store, h="1w"):
    folder = store.path("bot_trades", horizon=h, yyyymmdd="20000101").parent
    return [r for p in sorted(folder.glob("*.jsonl")) for r in read_jsonl(p).records]


@pytest.fixture
def settings(demo_root):
    return load_settings(demo_root.root, env_file=None)


def test_run_trades_the_next_session_once(demo_root, settings):
    as_of = write_brain(demo_root)
    lines = run_bots(demo_root, settings, list(HORIZONS))
    assert len(lines) == 3
    logged = trades(demo_root)
    panel = demo_root.read_daily_panel()
    session = panel.date.drop_duplicates().sort_values().iloc[-2]  # the one after as_of
    opens = panel[panel.date == session].set_index("symbol")["open"]
    assert logged and all(t["session"] == f"{session:%Y-%m-%d}" for t in logged)
    for t in logged:  # filled at that session's open, 5 bps of slippage against us
        assert t["price"] == pytest.approx(opens[t["symbol"]] * 1.0005, abs=1e-4)
    state = demo_root.read_json("bot_state", horizon="1w")
    assert pd.Timestamp(state["as_of"]) > as_of
    assert sum(p["qty"] for p in state["positions"].values()) == sum(t["qty"] for t in logged)
    again = run_bots(demo_root, settings, ["1w"])
    assert "already ran" in again[0] and trades(demo_root) == logged


def test_kill_switch_and_disabled_bot_place_nothing_and_say_so(demo_root, settings):
    write_brain(demo_root)
    demo_root.write_json("admin_settings", {"kill_switch": True})
    run_bots(demo_root, settings, ["1w"])
    assert trades(demo_root) == []
    assert "kill switch" in demo_root.read_json("bot_state", horizon="1w")["last_run"]["status"]
    demo_root.write_json("admin_settings", {"kill_switch": False})
    demo_root.write_json("bots_config", {"swing": {"2w": {"enabled": False}}})
    run_bots(demo_root, settings, ["2w"])
    assert trades(demo_root, "2w") == []
    assert "disabled" in demo_root.read_json("bot_state", horizon="2w")["last_run"]["status"]


def test_knob_out_of_range_is_refused_naming_the_knob(demo_root, settings):
    write_brain(demo_root)
    bad = {"swing": {"1w": {"max_alloc": 0.9}}}
    with pytest.raises(KnobError, match="max_alloc"):  # the store never writes it ...
        demo_root.write_json("bots_config", bad)
    write_unchecked(demo_root.path("bots_config"), bad)  # ... but a hand edit can
    with pytest.raises(KnobError, match="bots_config.json: .*max_alloc"):
        run_bots(demo_root, settings, ["1w"])
    result = CliRunner().invoke(app, ["bots", "run", "--data-dir", str(demo_root.root)])
    assert result.exit_code == 1
    assert "max_alloc" in result.output and "Traceback" not in result.output
    assert demo_root.read_json("bot_state", horizon="1w") is None


def test_live_trading_needs_both_switches(demo_root, settings, monkeypatch):
    write_brain(demo_root)
    keyed = settings.model_copy(update={"alpaca_api_key": "k", "alpaca_secret_key": "s"})
    with pytest.raises(RefusedError, match="ALPACA_PAPER=false"):
        run_bots(demo_root, keyed, ["1w"], broker="alpaca-live")
    assert trades(demo_root) == [] and demo_root.read_json("bot_state", horizon="1w") is None


def test_a_brain_of_another_day_is_refused(demo_root, settings):
    as_of = write_brain(demo_root)
    with pytest.raises(DataError, match="nightly"):
        run_bots(demo_root, settings, ["1w"], as_of=(as_of - pd.Timedelta(days=1)).date())
