"""Benchmark: daily bars of a 500-symbol x 10-year synthetic market (goal: under 10 s).

Prints one JSON line: seconds for `SyntheticMarket(...).panel()`, peak Python-heap allocation
during it (tracemalloc, a second run) and the process's peak RSS, plus the ratio against a
naive numpy GBM of the same size built into the same long frame in this process, so the figure
can be compared across machines. Note the market always simulates from its origin
(2000-01-03) so that history never depends on `end`: 10 years of output cost ~27 years of
simulation.

Run: .venv/bin/python bench/bench_synthetic.py [--symbols 500] [--years 10]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import tracemalloc
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from aion_core import market_hours
from aion_core.providers.base import DAILY_COLUMNS
from aion_core.providers.synthetic import SyntheticMarket, SyntheticSpec

END = date(2026, 11, 20)


def synthetic(n: int, years: float) -> pd.DataFrame:
    return SyntheticMarket(SyntheticSpec(n_symbols=n, years=years, seed=7, end=END)).panel()


def naive_gbm(n: int, years: float) -> pd.DataFrame:
    """The simplest credible generator of the same frame: i.i.d. GBM, one draw per bar field."""
    days = market_hours.sessions(pd.Timestamp(END) - pd.Timedelta(days=round(years * 365.25)),
                                 END)
    rng = np.random.default_rng(7)
    ret = 0.0003 + 0.02 * rng.standard_normal((len(days), n))
    close = 30.0 * np.exp(np.cumsum(ret, axis=0))
    open_ = close * np.exp(-ret * 0.5)
    wick = 1.0 + 0.005 * np.abs(rng.standard_normal((2, len(days), n)))
    return pd.DataFrame({
        "symbol": np.repeat([f"S{i:03d}" for i in range(n)], len(days)),
        "date": np.tile(days.to_numpy(), n),
        "open": open_.T.ravel(), "high": (np.maximum(open_, close) * wick[0]).T.ravel(),
        "low": (np.minimum(open_, close) / wick[1]).T.ravel(), "close": close.T.ravel(),
        "volume": rng.integers(100_000, 10_000_000, (n, len(days))).ravel(),
    }, columns=DAILY_COLUMNS)


def timed(fn: Callable[[], pd.DataFrame]) -> tuple[float, int]:
    t0 = time.perf_counter()
    rows = len(fn())
    return time.perf_counter() - t0, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=500)
    ap.add_argument("--years", type=float, default=10.0)
    args = ap.parse_args()
    market_hours.calendar()                       # calendar construction is not the generator
    seconds, rows = timed(lambda: synthetic(args.symbols, args.years))
    baseline, _ = timed(lambda: naive_gbm(args.symbols, args.years))
    tracemalloc.start()
    synthetic(args.symbols, args.years)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({
        "bench": "synthetic_daily_bars", "symbols": args.symbols, "years": args.years,
        "rows": rows, "seconds": round(seconds, 3), "goal_seconds": 10.0,
        "peak_alloc_mb": round(peak / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "baseline_gbm_seconds": round(baseline, 3),
        "ratio_vs_baseline": round(seconds / baseline, 2),
    }))


if __name__ == "__main__":
    main()
