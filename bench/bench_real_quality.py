"""Forecast quality on real data: prints ONE JSON line.

    .venv/bin/python bench/bench_real_quality.py [--file PATH] [--retrain-every 63]
                                                 [--start 2017-01-03 --end 2018-01-31]

Imports the shared S&P 500 file into a temporary data root (`aion import bars`, as a user
would) and runs `aion evaluate` over the test window 2017-01-03..2018-01-31 with quarterly
refits (63 sessions): the nightly's recipe, untuned on this window. Prints, per horizon, the
model's mean daily rank IC, its Newey-West standard error and t (lags = horizon - 1), rank
ICIR, share of days > 0, top-minus-bottom decile spread and the calibration table, beside
the short-term reversal and 12-1 momentum baselines on the same days and names.
Goals (issue 11): 1w rank IC >= 0.02 with NW t >= 2 (Qlib's Alpha158 LightGBM: 0.0124);
2w and 4w positive. `ratio_1w_over_reversal` compares the model with the reversal baseline.
The FRED series the nightly's macro features read (DGS10, T10Y2Y, CPIAUCSL, UNRATE; VIXCLS
is not in the shared set) are imported too when `../shared/data/fred` has them, as a user
with a FRED key would have them: on the dev years they lifted 1w rank IC from 0.0166 to
0.0206. They are FRED's latest vintage, so CPI and unemployment carry later revisions;
the daily rates alone (never revised) gave 0.0187. Skips (a JSON line saying so) when the
file is absent. The recipe was developed on
`--start 2015-01-02 --end 2016-12-30` (the dev years, an inner walk-forward on 2013-2016 data
only) and the default window was read once, at the end; `by_year` gives each year's 1w/2w/4w
rank IC and t so that an edge living in one year only shows as such.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aion_core.store import Store  # noqa: E402
from jobs.evaluate import run_evaluation  # noqa: E402
from jobs.imports import import_bars, import_macro  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "sp500_5yr" / "all_stocks_5yr.parquet"
FRED = REPO.parent / "shared" / "data" / "fred"
MACRO = ("DGS10", "T10Y2Y", "CPIAUCSL", "UNRATE")
START, END = date(2017, 1, 3), date(2018, 1, 31)
KEYS = ("mean_rank_ic", "rank_ic_nw_se", "rank_ic_t", "rank_icir", "days_positive",
        "mean_ic", "top_minus_bottom", "days")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--retrain-every", type=int, default=63)
    parser.add_argument("--start", type=date.fromisoformat, default=START)
    parser.add_argument("--end", type=date.fromisoformat, default=END)
    args = parser.parse_args()
    if not args.file.exists():
        print(json.dumps({"bench": "real_quality", "skipped": f"{args.file} is absent"}))
        return
    with tempfile.TemporaryDirectory(prefix="bench_quality_") as tmp:
        store = Store(Path(tmp) / "root")
        import_bars(store, [args.file])
        macro = [FRED / f"{s}.csv" for s in MACRO if (FRED / f"{s}.csv").exists()]
        if macro:
            import_macro(store, macro)
        started = time.perf_counter()
        doc = run_evaluation(store, args.start, args.end, args.retrain_every)
        seconds = time.perf_counter() - started
    out: dict = {"bench": "real_quality", "window": f"{args.start}..{args.end}",
                 "retrain_every": args.retrain_every, "symbols": doc["data"]["symbols"],
                 "macro_series": [p.stem for p in macro],
                 "seconds": round(seconds, 1)}
    for h, rep in doc["horizons"].items():
        figures = rep["all"]
        out[h] = {"model": {k: _round(figures["model"][k]) for k in KEYS},
                  "reversal": {k: _round(figures["reversal"][k]) for k in KEYS},
                  "momentum": {k: _round(figures["momentum"][k]) for k in KEYS},
                  "calibration": [{k: _round(v) for k, v in b.items()}
                                  for b in figures["model"]["calibration"]],
                  "by_year": {y: {k: _round(b["model"][k]) for k in ("mean_rank_ic", "rank_ic_t")}
                              for y, b in rep["by_year"].items()}}
    one = out["1w"]
    out["goal_1w_rank_ic"], out["goal_1w_nw_t"] = 0.02, 2.0
    out["ratio_1w_over_reversal"] = _round(one["model"]["mean_rank_ic"]
                                           / one["reversal"]["mean_rank_ic"]) \
        if one["reversal"]["mean_rank_ic"] else None
    print(json.dumps(out))


def _round(x: float) -> float:
    return round(float(x), 5)


if __name__ == "__main__":
    main()
