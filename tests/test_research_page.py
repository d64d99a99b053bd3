"""The Research page under AppTest on empty, filled and corrupt roots; its tear sheet's figures
against aion_core.bots.performance on the same run (a real backtest of the nightly's recipe); a
backtest started from the form goes through the job runner, and its progress shows."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from analytics_data import write_analytics  # noqa: E402
from research_data import EVAL_ID, model_run, truth_run, write_evaluation  # noqa: E402

from aion_core.app import research_view as vr  # noqa: E402
from aion_core.app import run_now  # noqa: E402
from aion_core.bots import performance
from aion_core.store import read_jsonl, read_parquet, write_json  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "pages/research.py"


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    st.cache_data.clear()
    monkeypatch.delenv("ADMIN_PASSWORD_HASH", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def research(monkeypatch, root: Path) -> AppTest:
    monkeypatch.setenv("AION_DATA_DIR", str(root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Research"
    return at


def shown(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_an_empty_root_says_which_commands_fill_it(monkeypatch, tmp_path):
    at = research(monkeypatch, tmp_path / "empty")
    infos = " ".join(i.value for i in at.info)
    assert "aion backtest --start" in infos and "aion evaluate --start" in infos
    assert "aion demo-data" in infos, "no bars: the form says how to get some"
    assert not at.error and not at.metric


def expected_sheet(store, run_id: str, bot: str) -> dict[str, float | None]:
    """The tear sheet computed here from the run's files, figure by figure."""
    equity = read_parquet(store.path("backtest_equity", backtest_id=run_id))
    trades = [t for t in read_jsonl(store.path("backtest_trades", backtest_id=run_id)).records
              if t["bot"] == bot]
    assert trades, "a run that traded"
    initial = store.read_json("backtest_run", backtest_id=run_id)["knobs"][bot]["initial_cash"]
    mine = equity[equity["bot"] == bot].set_index("date")
    bench = equity[equity["bot"] == "benchmark"].set_index("date")["equity"]
    eq = mine["equity"]
    rets = performance.session_returns(eq, initial)
    worst = performance.max_drawdown(pd.concat([pd.Series([initial]), eq]))
    growth = performance.cagr(eq, initial)
    bench_rets = performance.session_returns(bench, initial)
    alpha, beta = performance.alpha_beta(rets, bench_rets)
    active = (rets - bench_rets.reindex(rets.index)).dropna().to_numpy()
    closing = [t["realized_pnl"] for t in trades if t["realized_pnl"]]
    notional = sum(t["qty"] * t["price"] for t in trades)
    return {"total_return": performance.total_return(eq, initial), "cagr": growth,
            "volatility": performance.volatility(rets), "sharpe": performance.sharpe(rets),
            "sortino": performance.sortino(rets), "max_drawdown": worst,
            "calmar": performance.calmar(growth, worst), "alpha": alpha, "beta": beta,
            "active_risk": np.std(active, ddof=1) * np.sqrt(252),
            "win_rate": performance.trade_stats(closing)["win_rate"],
            "profit_factor": performance.profit_factor(closing),
            "avg_holding_days": performance.round_trips(trades)["days_held"].mean(),
            "turnover": notional / eq.mean() / (len(eq) / 252),
            "exposure": (mine["gross"] / eq).mean()}


def test_a_filled_root_shows_a_tear_sheet_that_agrees_with_the_metrics(monkeypatch,
                                                                      demo_root):
    run_id = model_run(demo_root)
    write_evaluation(demo_root)
    at = research(monkeypatch, demo_root.root)
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="bt_run").value == run_id
    want = expected_sheet(demo_root, run_id, "swing_1w")
    assert shown(at) == {label: vr.fmt_figure(kind, want[key])
                         for key, label, kind, _ in vr.FIGURES}
    assert at.selectbox(key="eval_pick").value == EVAL_ID
    assert len(at.get("download_button")) == 2


def test_a_corrupt_run_and_report_are_named_and_the_rest_renders(monkeypatch, demo_root,
                                                               synthetic_market):
    good = truth_run(demo_root, synthetic_market, ["1w"])
    bad = truth_run(demo_root, synthetic_market, ["1w"])
    demo_root.path("backtest_run", backtest_id=bad).write_bytes(b"{not json")
    write_evaluation(demo_root)
    demo_root.path("evaluation_report", eval_id=EVAL_ID).write_text(json.dumps({"id": 1}))
    at = research(monkeypatch, demo_root.root)
    errors = " ".join(e.value for e in at.error)
    assert f"{bad}/run.json" in errors and "report.json" in errors
    assert at.selectbox(key="bt_run").value == good
    assert len(at.metric) == len(vr.FIGURES), "the good run's tear sheet still shows"
    demo_root.path("backtest_equity", backtest_id=good).write_bytes(b"PAR1 garbage")
    at = research(monkeypatch, demo_root.root)
    assert "equity.parquet" in " ".join(e.value for e in at.error)


def charts(at: AppTest) -> list[dict]:
    """The page's Plotly figures, as drawn."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def numbers(values: list | dict) -> list[float]:
    """A trace's values: Plotly sends a numpy array as base64 bytes and their dtype."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), values["dtype"]).tolist()
    return values


def test_an_evaluation_s_signal_analytics_are_charted_and_an_older_one_says_how(monkeypatch,
                                                                               store):
    write_evaluation(store)
    at = research(monkeypatch, store.root)
    infos = " ".join(i.value for i in at.info)
    assert "predates the signal analytics" in infos
    assert ("`aion evaluate --start 2026-01-01 --end 2026-06-01 --retrain-every 63 "
            "--horizon 1w --model gbm`") in infos
    assert not charts(at) and not at.error

    write_analytics(store, EVAL_ID)
    at = research(monkeypatch, store.root)
    assert not at.error, [e.value for e in at.error]
    assert "predates" not in " ".join(i.value for i in at.info)
    drawn = {f["layout"]["title"]["text"]: f for f in charts(at)}
    assert set(drawn) == {
        "Decile long-short book of the 1w forecasts, cumulative", "Rank IC by month",
        "Rank IC by year", "Return by decile over 1w", "Return by decile, month by month",
        "Rank IC of each input", "Forecast autocorrelation (signal turnover)"}
    heat = drawn["Rank IC by month"]["data"][0]
    assert heat["y"] == ["2025", "2026"] and heat["text"][0][10] == "+0.110"
    assert heat["zmid"] == 0
    book = drawn["Decile long-short book of the 1w forecasts, cumulative"]["data"]
    assert [t["name"] for t in book] == ["gross", "net of fees and slippage"]
    deciles = numbers(drawn["Return by decile over 1w"]["data"][0]["y"])
    assert deciles[0] == pytest.approx(-45.0) and deciles[-1] == pytest.approx(45.0)  # bp
    assert len(at.caption) >= 7

    at.segmented_control(key="eval_h").set_value("4w").run()
    assert not at.exception
    drawn = {f["layout"]["title"]["text"]: f for f in charts(at)}
    assert "Decile long-short book of the 4w forecasts, cumulative" in drawn
    assert drawn["Rank IC by month"]["data"][0]["text"][0][10] == "\u22120.110"


def test_the_form_starts_a_backtest_through_the_runner_and_shows_its_progress(
        monkeypatch, demo_root):
    started = []
    monkeypatch.setattr(run_now, "submit_job", lambda store, name, extra=None: started.append(
        (name, extra)) or run_now.Submitted(1))
    at = research(monkeypatch, demo_root.root)
    at.multiselect(key="bt_bots").set_value(["1w", "4w"])
    at.slider(key="bt_1w_max_positions").set_value(3)
    at.button(key="FormSubmitter:bt_form-Start backtest").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (name, extra), = started
    assert name == run_now.BACKTEST_JOB
    args = dict(zip(extra[::2], extra[1::2], strict=True))
    assert args["--horizon"] == "1w,4w" and args["--retrain-every"] == "21"
    knobs = json.loads(args["--knobs"])
    assert set(knobs["swing"]) == {"1w", "4w"} and knobs["swing"]["1w"]["max_positions"] == 3
    status = demo_root.path("job_status", job=run_now.BACKTEST_JOB)
    write_json(status, {"job": "backtest", "status": "running", "pid": os.getpid(),
                        "started_at": time.time()})
    demo_root.path("job_log", job="backtest").write_text(
        "2026-12-04 10:00:00 INFO aion.progress: backtest: 6/20\n")
    at = research(monkeypatch, demo_root.root)
    (bar,) = at.get("progress")
    assert "6/20" in bar.proto.text


def test_a_rerun_redoes_no_tear_sheet_maths_and_tables_share_one_format(monkeypatch, demo_root,
                                                                        synthetic_market):
    ids = [truth_run(demo_root, synthetic_market, ["1w", "4w"]) for _ in range(2)]
    at = research(monkeypatch, demo_root.root)
    reduced = []
    for name in ("round_trips", "tear_sheet", "monthly_returns", "rolling_sharpe"):
        real = getattr(performance, name)
        monkeypatch.setattr(performance, name, lambda *a, _real=real, _n=name, **k: (
            reduced.append(_n), _real(*a, **k))[1])
    at.segmented_control(key="bt_sheet_bot").set_value("swing_4w").run()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert reduced == [], "the cached read model, not the trade log, on every rerun"
    runs = next(d.value for d in at.dataframe if "total_return" in d.value)
    assert set(runs["id"]) == set(ids)
    for value in (*runs["total_return"], *runs["max_drawdown"], *runs["benchmark"]):
        assert value[0] in "+\u2212" and value.endswith("%"), value
    def listed(run_id: str, bot: str) -> str:
        return runs.loc[(runs["id"] == run_id) & (runs["bot"] == bot), "total_return"].iloc[0]

    assert shown(at)["Total return"] == listed(at.selectbox(key="bt_run").value, "swing_4w")
    compare = next(d.value for d in at.dataframe if f"{ids[0]} · swing_1w" in d.value)
    assert compare.loc["Total return", f"{ids[0]} · swing_1w"] == listed(ids[0], "swing_1w")


def test_each_report_says_whether_its_figures_are_upper_bounds(monkeypatch, demo_root,
                                                               synthetic_market):
    """Issue 26: without a universe the tear sheet, the comparison and the evaluation carry
    the survivorship line (run.json and metrics.json too); a run with one names it instead."""
    from aion_core.ml.universe import SURVIVORSHIP

    old = truth_run(demo_root, synthetic_market, ["1w"])
    write_evaluation(demo_root)
    for key in ("backtest_run", "backtest_metrics"):
        assert demo_root.read_json(key, backtest_id=old)["universe"]["line"] == SURVIVORSHIP
    at = research(monkeypatch, demo_root.root)
    assert sum(SURVIVORSHIP in w.value for w in at.warning) == 3  # sheet, comparison, eval
    demo_root.write_json("universe", {"name": "test", "intervals": [
        {"ticker": s, "start": "2000-01-03", "end": None} for s in demo_root.daily_symbols()]})
    new = truth_run(demo_root, synthetic_market, ["1w"])  # the newest: the one shown
    note = demo_root.read_json("backtest_metrics", backtest_id=new)["universe"]
    assert note["name"] == "test" and note["members_without_bars"] == 0
    assert demo_root.read_json("backtest_run", backtest_id=new)["settings"]["membership"] \
        == "test"
    report = demo_root.read_json("evaluation_report", eval_id=EVAL_ID)
    demo_root.write_json("evaluation_report", {**report, "universe": note}, eval_id=EVAL_ID)
    st.cache_data.clear()
    at = research(monkeypatch, demo_root.root)
    captions = " ".join(c.value for c in at.caption)
    assert captions.count("Cross-sections hold the members of test") == 2
    # the comparison holds the older run as well: its figures are still upper bounds
    assert sum(SURVIVORSHIP in w.value for w in at.warning) == 1
