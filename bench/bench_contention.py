"""Jobs on a busy machine: prints ONE JSON line.

    .venv/bin/python bench/bench_contention.py [--symbols 500] [--years 10]

The synthetic nightly (`aion nightly --skip-fetch`, a job process of its own, started without
any OMP_* variable so that it sets its own thread policy, aion_core/threads.py) runs twice on
the same data root: quiet (the baseline), then beside a CPU hog of one busy process per CPU
this process may use. Figures: `quiet_s`, `busy_s`, the nightly's step seconds of each run,
and `ratio_busy_over_quiet` (goal <= 2.5: two processes sharing the cores should cost about
2x, not the 20x of spin-waiting OpenMP threads). `load_1m` is the load average at the end of
the busy run, to show the hog really ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_nightly import write_root  # noqa: E402

from aion_core.threads import usable_cpus  # noqa: E402

HOG = "while True: pass"


def job_env() -> dict[str, str]:
    """This environment without the OpenMP settings: the job must set its own."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}


def nightly(root: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of one `aion nightly --skip-fetch` process, and its steps' seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "aion_core", "nightly", "--skip-fetch",
                    "--data-dir", str(root)], check=True, env=job_env(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    summary = json.loads((root / "logs" / "nightly" / "last_nightly_summary.json").read_text())
    assert summary["status"] == "ok", summary["status"]
    return seconds, {s["name"]: s["seconds"] for s in summary["steps"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=float, default=10)
    args = parser.parse_args()
    cpus = usable_cpus()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        write_root(root, args.symbols, args.years)
        quiet_s, quiet_steps = nightly(root)
        hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(cpus)]
        try:
            time.sleep(1.0)  # let the hog take the cores first
            busy_s, busy_steps = nightly(root)
            load = os.getloadavg()[0]
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
    print(json.dumps({
        "bench": "contention", "symbols": args.symbols, "years": args.years,
        "cpus": cpus, "hog_processes": len(hogs), "quiet_s": round(quiet_s, 1),
        "busy_s": round(busy_s, 1), "ratio_busy_over_quiet": round(busy_s / quiet_s, 2),
        "goal_ratio": 2.5, "load_1m": round(load, 1),
        "quiet_steps": quiet_steps, "busy_steps": busy_steps,
    }))


if __name__ == "__main__":
    main()
