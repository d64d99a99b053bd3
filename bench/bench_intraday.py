"""Benchmark of one intraday cycle on 500 symbols; prints ONE JSON line.

A synthetic data root of 500 symbols with three sessions of 1-minute bars; the cycle runs at
11:00 New York on the last one (bars cut at 11:00, features, predictions, the bot, fills,
state). `cycle_cold_s` includes training the intraday brain on the two earlier sessions (what a
cycle does when the nightly has not trained one); `cycle_s` is the next cycle, brain stored.
`peak_mb`: peak Python allocation during the warm cycle (tracemalloc).
Baseline, timed in this process: reading the session's bars and taking each symbol's last
close before 11:00 with pandas (the least any cycle must do).
Goal: cycle_s < 5 s, against a budget of 15 minutes between cycles.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aion_core.config import Settings  # noqa: E402
from aion_core.store import Store, read_parquet, write_json  # noqa: E402
from jobs.demo import write_demo_data  # noqa: E402
from jobs.intraday import run_intraday_cycle  # noqa: E402

N_SYMBOLS = 500
END = date(2026, 11, 20)
AT = datetime.fromisoformat("2026-11-20T11:00:00-05:00")


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def baseline(store: Store) -> float:
    def work() -> pd.Series:
        bars = read_parquet(store.path("bars_intraday", day=END))
        seen = bars[bars["ts"] + pd.Timedelta(minutes=1) <= pd.Timestamp(AT)]
        return seen.groupby("symbol")["close"].last()

    return min(timed(work)[0] for _ in range(3))


def main() -> None:
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "data")
        write_demo_data(store, n_symbols=N_SYMBOLS, years=0.25, seed=7, intraday_days=3,
                        end=END)
        write_json(store.path("bots_config"), {"dt": {"min_confidence": 0.5}})
        settings = Settings(_env_file=None, aion_data_dir=store.root)  # type: ignore[call-arg]
        cold, _ = timed(lambda: run_intraday_cycle(store, settings, at=AT))
        tracemalloc.start()
        warm, line = timed(lambda: run_intraday_cycle(
            store, settings, at=AT + pd.Timedelta(minutes=15)))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        warm_untraced, _ = timed(lambda: run_intraday_cycle(
            store, settings, at=AT + pd.Timedelta(minutes=30)))
        base = baseline(store)
    print(json.dumps({
        "bench": "intraday_cycle", "symbols": N_SYMBOLS, "at": "11:00-11:30 New York",
        "cycle_s": round(warm_untraced, 3), "cycle_traced_s": round(warm, 3),
        "cycle_cold_s": round(cold, 3), "peak_mb": round(peak / 2**20, 1),
        "goal_s": 5.0, "budget_s": 900.0,
        "baseline": "read bars + last close per symbol (pandas)",
        "baseline_s": round(base, 3), "ratio_to_baseline": round(warm_untraced / base, 1),
        "summary": str(line),
    }))


if __name__ == "__main__":
    main()
