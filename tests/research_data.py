"""Research roots for the tests: backtest runs and an evaluation report in a data root."""

from __future__ import annotations

from datetime import date
from typing import Any

from aion_core.config import load_settings
from aion_core.store import Store
from jobs.replay import Market, run_backtest

START, END = date(2026, 9, 1), date(2026, 11, 20)
EVAL_ID = "eval_20260101_20260601_r63_all"


def truth_run(store: Store, synthetic_market: Any, horizons: list[str], **kw: Any) -> str:
    """A backtest on the synthetic market's hidden signal (fast: no model); its run id."""
    from stand_ins import truth_predictor

    market = Market(store.read_daily_panel())
    run_backtest(store, load_settings(store.root, env_file=None), START, END, horizons,
                 predictor=truth_predictor(synthetic_market, market), market=market, **kw)
    return newest_run(store)


def model_run(store: Store, start: date = date(2026, 10, 19)) -> str:
    """A real backtest, the nightly's recipe refit once, swing_1w over a month; its id."""
    settings = load_settings(store.root, env_file=None).model_copy(
        update={"aion_retrain_every": 40})
    run_backtest(store, settings, start, END, ["1w"])
    return newest_run(store)


def newest_run(store: Store) -> str:
    return max(p.name for p in (store.root / "research" / "backtests").iterdir())


def write_evaluation(store: Store) -> dict[str, Any]:
    """A small `aion evaluate` report in report.json's shape."""
    figs = {"mean_rank_ic": 0.031, "rank_ic_t": 2.4, "rank_icir": 0.12, "days_positive": 0.56,
            "top_minus_bottom": 0.004}
    block = {"model": {**figs, "calibration": []}, "reversal": {**figs, "mean_rank_ic": 0.01},
             "momentum": {**figs, "mean_rank_ic": -0.002}}
    doc = {"id": EVAL_ID, "created_at": "2026-11-21T10:00:00+00:00", "start": "2026-01-01",
           "end": "2026-06-01", "retrain_every": 63, "data": {"symbols": 12},
           "horizons": {"1w": {"rows": 100, "all": block, "by_year": {"2026": block}}}}
    store.write_json("evaluation_report", doc, eval_id=EVAL_ID)
    return doc
