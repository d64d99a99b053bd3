"""Nightly benchmark on the synthetic market: prints ONE JSON line.

    .venv/bin/python bench/bench_nightly.py [--symbols 500] [--years 10] [--ta-symbols 10]

The data root is written by `write_demo_data` in a child process (so the peak RSS reported is
the nightly's own), then `run_nightly(skip_fetch=True)` runs here. Figures:
- `steps`: seconds per nightly step, and `total_s`; `peak_rss_mb` (goal < 3 GB);
- `feature_rows_per_s`, `feature_cells_per_s`: rows and rows x feature columns of the
  features step (read + build + write) per second, and `build_features_cells_per_s` for
  `build_features` alone (goal >= 11.6 M cells/s); `feature_columns` counts every column
  built (goal >= 100), `model_features` the ones the models train on;
- `ratio_ta_over_ours` (goal >= 10) and `ratio_ours_over_talib` (goal <= 1.5): from
  bench/bench_features.py;
- `ratio_train_over_bare_lgbm` (goal <= 1.2): our training step over bare `lightgbm.train`
  calls (a fresh Dataset each) on the same rows, targets, parameters and round counts.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import lightgbm as lgb
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_features import (  # noqa: E402
    BENCH_END,
    time_bare_talib,
    time_features,
    time_indicator_step,
    time_ta_baseline,
)

from aion_core.config import HORIZONS, load_settings  # noqa: E402
from aion_core.ml import model  # noqa: E402
from aion_core.store import Store, read_parquet  # noqa: E402
from jobs.nightly import run_nightly  # noqa: E402

NOW = datetime.combine(BENCH_END + timedelta(days=1), clock_time(7), tzinfo=UTC)


def write_root(root: Path, n_symbols: int, years: float) -> None:
    code = ("import sys; from datetime import date; from aion_core.store import Store; "
            "from jobs.demo import write_demo_data; "
            f"write_demo_data(Store(sys.argv[1]), {n_symbols}, {years}, 7, 0, "
            f"date({BENCH_END.year}, {BENCH_END.month}, {BENCH_END.day}))")
    subprocess.run([sys.executable, "-c", code, str(root)], check=True,
                   stdout=subprocess.DEVNULL)


def bare_training_seconds(store: Store) -> float:
    """Bare lightgbm.train on the rows, targets, params and rounds the nightly trained."""
    frame = read_parquet(store.path("ml_datasets"))
    meta = {h: store.read_json("ml_models_meta", horizon=h) for h in HORIZONS}
    features = meta["1w"]["features"]
    data = model.TrainingMatrix.build(frame, features, frame["date"].max())
    jobs = []
    for h, m in meta.items():
        for fold in m["validation"]["folds"]:
            through = data.sessions.get_loc(pd.Timestamp(fold["train_end"]))
            jobs.append((h, data.eligible(h, through=through), fold["trained_rounds"]))
        jobs.append((h, data.eligible(h), m["num_rounds"]))
    start = time.perf_counter()
    for h, rows, rounds in jobs:
        params = model.train_params(model.NIGHTLY, len(rows))
        target = data.target(rows, h, model.NIGHTLY.winsorise)
        lgb.train(params, lgb.Dataset(data.x[rows], label=target, params=params),
                  num_boost_round=rounds)
    return time.perf_counter() - start


def run(n_symbols: int, years: float, ta_symbols: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="aion_bench_") as tmp:
        store = Store(Path(tmp) / "data")
        write_root(store.root, n_symbols, years)
        start = time.perf_counter()
        summary = run_nightly(store, load_settings(store.root, env_file=None), skip_fetch=True,
                              now=lambda: NOW)
        total = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        steps = {s["name"]: s["seconds"] for s in summary["steps"]}
        frame_meta = store.read_json("ml_models_meta", horizon="1w")
        rows = len(read_parquet(store.path("ml_datasets"), columns=["date"]))
        built = [c for c in pq.ParquetDataset(store.path("ml_datasets")).schema.names
                 if c not in ("symbol", "date") and not c.startswith(("fwd_", "resid_fwd_"))]
        cells = rows * len(built)
        bare = bare_training_seconds(store)
        bars = store.read_daily_panel()
    ours_ind = time_indicator_step(bars, repeats=3)
    return {
        "bench": "nightly", "symbols": n_symbols, "years": years, "status": summary["status"],
        "steps": steps, "total_s": round(total, 2), "peak_rss_mb": round(peak_mb),
        "feature_rows": rows, "feature_columns": len(built),
        "model_features": len(frame_meta["features"]),
        "feature_rows_per_s": round(rows / steps["features"]),
        "feature_cells_per_s": round(cells / steps["features"]),
        "build_features_cells_per_s": round(time_features(bars, repeats=1)["cells_per_s"]),
        "ratio_ta_over_ours": round(time_ta_baseline(bars, ta_symbols) / ours_ind, 2),
        "ratio_ours_over_talib": round(ours_ind / time_bare_talib(bars, repeats=3), 2),
        "ratio_train_over_bare_lgbm": round(steps["train"] / bare, 2),
        "metrics": summary["metrics"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=500)
    ap.add_argument("--years", type=float, default=10.0)
    ap.add_argument("--ta-symbols", type=int, default=10)
    args = ap.parse_args()
    print(json.dumps(run(args.symbols, args.years, args.ta_symbols)))


if __name__ == "__main__":
    main()
