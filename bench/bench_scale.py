"""The scale curve of issue 15: the nightly (features, train, predict) on synthetic markets of
growing size, in one process and on `local:2`; prints one JSON line.

    python bench/bench_scale.py [--sizes 500,2000,5000] [--years 10] [--modes single,local:2]

Each (size, mode) runs in its own child process (`--one`), so the peak memory reported is that
run's alone: the largest of the child's own peak RSS and its children's (the LocalCluster's
worker processes). The data root of each size is written once, by write_demo_data in another
child (bench_nightly.write_root). Figures per run: each step's seconds, `seconds` (features +
train + predict), `cost_per_symbol_year_ms`, `peak_rss_gb`, the folds' mean validation
`rank_ic` per horizon (so that a faster path is seen not to be a worse one); then the goals:
cost per symbol-year growth from the smallest to the largest size (goal <= 1.3x), the single
process's peak at the largest size (goal < 12 GB) and the cluster's time over the single process's
(goal < 1.5x on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_nightly import NOW, write_root  # noqa: E402

from aion_core.config import load_settings  # noqa: E402
from aion_core.store import Store  # noqa: E402
from jobs.nightly import run_nightly  # noqa: E402

STEPS = ("features", "train", "predict")


def one_run(root: Path, mode: str) -> dict:
    """The nightly on `root` in `mode` (single or local:N), in this process; its figures."""
    cluster = None if mode == "single" else mode
    summary = run_nightly(Store(root), load_settings(root, env_file=None), skip_fetch=True,
                          now=lambda: NOW, cluster=cluster)
    seconds = {s["name"]: s["seconds"] for s in summary["steps"] if s["name"] in STEPS}
    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"status": summary["status"], "steps": seconds,
            "seconds": round(sum(seconds.values()), 2), "peak_rss_gb": round(peak_kb / 2**20, 2),
            "rank_ic": {h: m["rank_ic"] for h, m in summary["metrics"].items()}}


def measure(sizes: list[int], years: float, modes: list[str]) -> dict:
    runs = []
    with tempfile.TemporaryDirectory(prefix="aion-scale-") as tmp:
        for n in sizes:
            root = Path(tmp) / f"m{n}"
            write_root(root, n, years)
            for mode in modes:
                out = subprocess.run([sys.executable, __file__, "--one", str(root), mode],
                                     check=True, capture_output=True, text=True)
                fig = json.loads(out.stdout.strip().splitlines()[-1])
                fig |= {"symbols": n, "years": years, "mode": mode,
                        "cost_per_symbol_year_ms": round(1000 * fig["seconds"] / (n * years), 3)}
                runs.append(fig)
                print(json.dumps(fig), file=sys.stderr, flush=True)  # a long run's progress
    return {"bench": "scale", "runs": runs, "goals": goals(runs, sizes, modes)}


def goals(runs: list[dict], sizes: list[int], modes: list[str]) -> dict:
    """The issue's three goals, from the runs measured (None where a run is missing)."""
    by = {(r["symbols"], r["mode"]): r for r in runs}
    lo, hi = min(sizes), max(sizes)
    single = by.get((hi, "single"))
    out = {"cost_growth_single": None, "peak_rss_gb_single_largest": None,
           "cluster_over_single": {}}
    if single and (lo, "single") in by:
        out["cost_growth_single"] = round(single["cost_per_symbol_year_ms"]
                                          / by[(lo, "single")]["cost_per_symbol_year_ms"], 3)
        out["peak_rss_gb_single_largest"] = single["peak_rss_gb"]
    for n in sizes:
        for mode in modes:
            if mode != "single" and (n, mode) in by and (n, "single") in by:
                out["cluster_over_single"][f"{n}:{mode}"] = round(
                    by[(n, mode)]["seconds"] / by[(n, "single")]["seconds"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000,5000")
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--modes", default="single,local:2")
    parser.add_argument("--one", nargs=2, metavar=("ROOT", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(Path(args.one[0]), args.one[1])))
        return
    print(json.dumps(measure([int(s) for s in args.sizes.split(",")], args.years,
                             args.modes.split(","))))


if __name__ == "__main__":
    main()
