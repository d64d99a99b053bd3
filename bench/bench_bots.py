"""Benchmark of the swing bots; prints ONE JSON line.

- `bots_run_s`: one run of the three swing bots (plan, SimBroker fills, trade log appends,
  state writes) on 5,000 symbols' predictions, holding positions from a previous session.
  Baseline: ranking the same predictions with one pandas sort (the least any bot must do).
- `replay_s`: `aion replay` of 250 sessions on 100 synthetic symbols, retraining monthly
  (21 sessions): dataset built once, 12 refits x 3 horizons, three bots trading each session.
  Baseline: the model refits alone (the same `model.train` calls), timed in this process.
Goals: bots_run_s < 1 s.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aion_core.bots.desk import Desk  # noqa: E402
from aion_core.bots.registry import SWING_BOTS  # noqa: E402
from aion_core.bots.swing import SessionPrices, SwingPlanner, SwingSession  # noqa: E402
from aion_core.brokers.sim import SimBroker  # noqa: E402
from aion_core.config import HORIZONS, load_settings  # noqa: E402
from aion_core.store import Store  # noqa: E402

END = date(2026, 11, 20)


def bots_run(root: Path, n: int = 5000) -> tuple[float, float]:
    """Seconds for the second of two sessions of the three bots, and the baseline sort."""
    rng = np.random.default_rng(1)
    symbols = [f"S{i:04d}" for i in range(n)]
    store = Store(root)
    knobs = store.read_knobs(SWING_BOTS)
    prices = pd.Series(rng.uniform(10, 300, n), index=symbols)
    sp = SessionPrices(prices, prices * 1.001, prices * 1.002, "2026-11-19T14:30:00+00:00")

    def preds() -> pd.DataFrame:
        return pd.DataFrame({"expected_return": rng.normal(0, 0.02, n),
                             "confidence": rng.uniform(0.3, 1, n)}, index=symbols)

    desks = [Desk(b, SwingPlanner(b, knobs[b.key]), store.journal(b)) for b in SWING_BOTS]

    def trade(desk: Desk, day: str, predictions: pd.DataFrame) -> None:
        run = SwingSession(pd.Timestamp(day), predictions, sp, "t")
        desk.trade(run, SimBroker.for_run(run, knobs[desk.bot.key]))

    first, second = preds(), preds()
    for d in desks:
        trade(d, "2026-11-18", first)
    t0 = time.perf_counter()
    for d in desks:
        trade(d, "2026-11-19", second)
    run_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in HORIZONS:
        second[second.confidence >= 0.55].sort_values("expected_return", ascending=False)
    return run_s, time.perf_counter() - t0


def replay(root: Path) -> tuple[float, int, float]:
    """Seconds of a 250-session replay, its session count, and the refits-alone baseline."""
    from aion_core.ml import model
    from jobs.demo import write_demo_data
    from jobs.replay import model_predictor, run_replay

    store = Store(root)
    write_demo_data(store, n_symbols=100, years=3, seed=7, intraday_days=0, end=END)
    panel_sessions = store.read_daily_panel(symbols=store.daily_symbols()[:1]).date
    start = pd.Timestamp(panel_sessions.iloc[-250]).date()
    settings = load_settings(root, env_file=None).model_copy(update={"aion_retrain_every": 21})
    t0 = time.perf_counter()
    run_replay(store, settings, start, END)
    replay_s = time.perf_counter() - t0
    market, sessions, pred = model_predictor(store, settings, start, END)
    anchors = sessions[::21]
    t0 = time.perf_counter()
    for a in anchors:
        model.train(pred.frame, pred.features, market.previous(a), list(HORIZONS),
                    config=model.QUICK)
    return replay_s, len(sessions), time.perf_counter() - t0


def main() -> None:
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        run_s, sort_s = bots_run(Path(tmp) / "bots")
        replay_s, n, refit_s = replay(Path(tmp) / "replay")
    print(json.dumps({
        "bots_run_s": round(run_s, 4), "bots_run_symbols": 5000, "bots_run_goal_s": 1.0,
        "bots_run_baseline_sort_s": round(sort_s, 4),
        "bots_run_vs_baseline": round(run_s / sort_s, 1),
        "replay_s": round(replay_s, 2), "replay_sessions": n, "replay_symbols": 100,
        "replay_s_per_session": round(replay_s / n, 4), "replay_retrain_every": 21,
        "replay_baseline_refits_s": round(refit_s, 2),
        "replay_vs_baseline": round(replay_s / refit_s, 2)}))


if __name__ == "__main__":
    main()
