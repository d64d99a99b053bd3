"""Feature benchmark: prints ONE JSON line.

    .venv/bin/python bench/bench_features.py [--symbols 500] [--years 10] [--ta-symbols 10]

Figures (on the synthetic market, the nightly's own data):
- `seconds`, `rows_per_s`, `cells_per_s`: the whole `build_features` (cells = rows x feature
  columns); goal >= 11.6 M cells/s, twice Qlib 0.9.7's Alpha158 rate on this kind of machine.
- `ratio_ours_over_talib`: our indicator step (`features.indicator_columns`: TA-Lib per symbol
  slice plus the derived %B, width and normalised columns) over bare TA-Lib calls on the
  same arrays; goal <= 1.5.
- `ratio_ta_over_ours`: the `ta` library computing the same indicators symbol by symbol over
  our indicator step; goal >= 10. `ta` is timed on `--ta-symbols` symbols and scaled by rows.
Each timing is the best of a few runs after a warm-up (first-touch page faults excluded).
bench/bench_nightly.py imports `synthetic_bars`, `time_features`, `time_indicator_step`,
`time_bare_talib` and `time_ta_baseline`.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from datetime import date

import pandas as pd
import talib

from aion_core.ml.features import FEATURE_COLUMNS, build_features, indicator_columns, panel_arrays
from aion_core.providers.synthetic import SyntheticMarket, SyntheticSpec

#: A fixed last session, so every run measures the same bars.
BENCH_END = date(2026, 11, 20)


def synthetic_bars(n_symbols: int = 500, years: float = 10.0, seed: int = 7) -> pd.DataFrame:
    """The synthetic market's daily bars (long, sorted by symbol, date)."""
    spec = SyntheticSpec(n_symbols=n_symbols, years=years, seed=seed, end=BENCH_END)
    return SyntheticMarket(spec).panel()


def best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    """Fastest of `repeats` timed calls after one untimed warm-up call, in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def time_features(bars: pd.DataFrame, repeats: int = 3) -> dict[str, float]:
    """Seconds, rows/s and cells/s of `build_features` on `bars`."""
    seconds = best_of(lambda: build_features(bars), repeats)
    rows = len(bars)
    return {"seconds": seconds, "rows_per_s": rows / seconds,
            "cells_per_s": rows * len(FEATURE_COLUMNS) / seconds}


def time_indicator_step(bars: pd.DataFrame, repeats: int = 5) -> float:
    """Seconds of our indicator step on prepared arrays."""
    p = panel_arrays(bars)
    return best_of(lambda: indicator_columns(p), repeats)


def time_bare_talib(bars: pd.DataFrame, repeats: int = 5) -> float:
    """Seconds of the same TA-Lib calls on the same arrays, results discarded."""
    p = panel_arrays(bars)

    def bare() -> None:
        for a, b in zip(p.bounds[:-1], p.bounds[1:], strict=True):
            hi, lo, cl = p.high[a:b], p.low[a:b], p.close[a:b]
            talib.RSI(cl, 14)
            talib.MACD(cl, 12, 26, 9)
            talib.BBANDS(cl, 20, 2.0, 2.0)
            talib.ATR(hi, lo, cl, 14)
            talib.ADX(hi, lo, cl, 14)
            talib.STOCHF(hi, lo, cl, 14, 1)

    return best_of(bare, repeats)


def _ta_one_symbol(b: pd.DataFrame) -> None:
    import ta

    h, lo, c = b["high"], b["low"], b["close"]
    ta.momentum.RSIIndicator(c, 14).rsi()
    macd = ta.trend.MACD(c, 26, 12, 9)
    macd.macd(), macd.macd_signal(), macd.macd_diff()
    bands = ta.volatility.BollingerBands(c, 20, 2)
    bands.bollinger_pband(), bands.bollinger_wband()
    ta.volatility.AverageTrueRange(h, lo, c, 14).average_true_range()
    ta.trend.ADXIndicator(h, lo, c, 14).adx()
    ta.momentum.StochasticOscillator(h, lo, c, 14, 3).stoch()


def time_ta_baseline(bars: pd.DataFrame, n_symbols: int = 10) -> float:
    """Seconds the `ta` library would take for all of `bars`, symbol by symbol: timed on the
    first `n_symbols` symbols and scaled by their share of the rows."""
    symbols = bars["symbol"].drop_duplicates().iloc[:n_symbols]
    subset = bars[bars["symbol"].isin(symbols)]
    groups = [g.reset_index(drop=True) for _, g in subset.groupby("symbol", sort=False)]
    start = time.perf_counter()
    for g in groups:
        _ta_one_symbol(g)
    return (time.perf_counter() - start) * len(bars) / len(subset)


def run(n_symbols: int, years: float, ta_symbols: int, seed: int) -> dict[str, object]:
    bars = synthetic_bars(n_symbols, years, seed)
    figures = time_features(bars)
    ours = bare = float("inf")
    for _ in range(3):  # alternate, best of each: a neighbour's load hits both alike
        ours = min(ours, time_indicator_step(bars, 3))
        bare = min(bare, time_bare_talib(bars, 3))
    ta_seconds = time_ta_baseline(bars, ta_symbols)
    return {
        "bench": "features", "symbols": n_symbols, "years": years, "rows": len(bars),
        "feature_columns": len(FEATURE_COLUMNS),
        "seconds": round(figures["seconds"], 4),
        "rows_per_s": round(figures["rows_per_s"]),
        "cells_per_s": round(figures["cells_per_s"]),
        "indicator_step_s": round(ours, 4), "bare_talib_s": round(bare, 4),
        "ta_library_s": round(ta_seconds, 3), "ta_symbols_timed": ta_symbols,
        "ratio_ours_over_talib": round(ours / bare, 3),
        "ratio_ta_over_ours": round(ta_seconds / ours, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--ta-symbols", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(run(args.symbols, args.years, args.ta_symbols, args.seed)))


if __name__ == "__main__":
    main()
