"""Import benchmark: prints ONE JSON line.

    .venv/bin/python bench/bench_import.py [--file ../shared/data/sp500_5yr/all_stocks_5yr.parquet]

Figures, on the shared S&P 500 file (619,040 rows, 505 symbols):
- `seconds`, `rows_per_s`: `import_bars` into an empty data root: read, normalise, every
  check of aion_core.ingest.quality, one atomic (fsynced) Parquet per symbol, the report;
  goal: under 10 s on this machine.
- `seconds_again`: the same file imported a second time into the filled root (every symbol
  read back, merged and found unchanged).
- `baseline_seconds`: bare `pd.read_parquet` of the file plus `to_parquet` of each symbol's
  rows (no checks, no fsync); `ratio_import_over_baseline`.
Each figure is the best of `--repeats` runs, each into a fresh temporary folder.
Skips (prints a JSON line saying so) when the file is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aion_core.store import Store  # noqa: E402
from jobs.imports import import_bars  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "sp500_5yr" / "all_stocks_5yr.parquet"


def _timed(fn: Callable[[Path], object], repeats: int,
           setup: Callable[[Path], object] | None = None) -> float:
    """Best of `repeats` timed calls of `fn`, each in a fresh temporary folder (after an
    untimed `setup` in it, when given)."""
    best = float("inf")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
            if setup is not None:
                setup(Path(tmp))
            start = time.perf_counter()
            fn(Path(tmp))
            best = min(best, time.perf_counter() - start)
    return best


def baseline(path: Path, folder: Path) -> None:
    frame = pd.read_parquet(path)
    symbol = next(c for c in ("symbol", "ticker", "Name") if c in frame.columns)
    out = folder / "raw"
    out.mkdir()
    for sym, rows in frame.groupby(symbol, sort=True):
        rows.to_parquet(out / f"{sym}.parquet", index=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.file.exists():
        print(json.dumps({"bench": "import", "skipped": f"{args.file} is absent"}))
        return
    rows = len(pd.read_parquet(args.file, columns=[]))
    def once(folder: Path) -> None:
        import_bars(Store(folder), [args.file])

    seconds = _timed(once, args.repeats)
    again = _timed(once, args.repeats, setup=once)
    base = _timed(lambda folder: baseline(args.file, folder), args.repeats)
    print(json.dumps({"bench": "import", "file": args.file.name, "rows": rows,
                      "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds),
                      "goal_seconds": 10.0, "seconds_again": round(again, 3),
                      "baseline_seconds": round(base, 3),
                      "ratio_import_over_baseline": round(seconds / base, 2)}))


if __name__ == "__main__":
    main()
