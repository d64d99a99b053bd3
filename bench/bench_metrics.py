"""Benchmark of the optional PostgreSQL metrics store (issue 14); prints ONE JSON line.

    .venv/bin/python bench/bench_metrics.py [--symbols 100] [--years 4] [--history 250]
                                              [--repeats 3]

A real PostgreSQL (tests/pg_server.py, the test suite's own helper) on a free port; where it is
not installed the line says so and nothing else runs. One synthetic root (bench_nightly's
`write_root`) is copied for each run and the same jobs run on each copy in this process: a
nightly, then a bots run of the three swing bots. The baseline copies run without
AION_METRICS_URL, the others with it (a fresh database each), `--repeats` pairs in alternating
order, the fastest run of each kind kept (see `paired_runs`). A small nightly runs first so
every run finds the imports warm.
- `nightly_s` / `nightly_metrics_s`, `bots_s` / `bots_metrics_s`: each job's seconds without
  and with the URL; `*_overhead`: (with - without) / without (goal < 0.05). On a shared
  machine a few percent of noise sits in these, so `*_publish_s` is also given: the seconds
  the job spent in `metrics_db.publish` itself, timed around the call, and `*_publish_share`
  = publish / baseline job. The database is migrated before the jobs and each job checks the
  migrations again, as each `aion` command is a fresh process.
- `sync_*`: `aion metrics sync` (sync_all: migrations included) of a root holding `--history`
  sessions of history into an empty database: the swing bots replayed over those sessions (a
  seeded random predictor: fills and equity) and one prediction per symbol, horizon and session
  in prediction_history (what a year of nightlies leaves); rows written and rows per second.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# LightGBM's OpenMP threads spin while they wait; on a machine shared with other work, a
# descheduled thread made one nightly's training 40x slower than the next at random (seen
# while a test suite ran alongside). Sleeping waiters keep the runs comparable; set before
# lightgbm loads its OpenMP runtime. An explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from bench_nightly import NOW, write_root  # noqa: E402
from pg_server import MISSING, PgServer, installed  # noqa: E402

from aion_core.config import HORIZONS, Settings, load_settings  # noqa: E402
from aion_core.sql_copy import sync as metrics_sync  # noqa: E402
from aion_core.store import Store  # noqa: E402
from jobs import bots as bots_job  # noqa: E402
from jobs import nightly as nightly_job  # noqa: E402
from jobs.replay import Market, run_replay  # noqa: E402

GOAL = 0.05


@contextmanager
def timed_publish(spent: list[float]) -> Iterator[None]:
    """The jobs' `publish`, wrapped to add its seconds to `spent` (the jobs import it by name,
    so it is replaced in their modules)."""
    real = nightly_job.publish

    def publish(store: Store, settings: Settings, what: str) -> None:
        start = time.perf_counter()
        try:
            real(store, settings, what)
        finally:
            spent.append(time.perf_counter() - start)

    nightly_job.publish = bots_job.publish = publish
    try:
        yield
    finally:
        nightly_job.publish = bots_job.publish = real


def run_jobs(root: Path, url: str | None) -> dict[str, float]:
    """A nightly then a bots run on `root`, with `url` as AION_METRICS_URL (None: none):
    seconds of each, and the seconds each spent publishing."""
    store = Store(root)
    settings = load_settings(root, env_file=None).model_copy(update={"aion_metrics_url": url})
    out: dict[str, float] = {}
    jobs: list[tuple[str, Callable[[], Any]]] = [
        ("nightly", lambda: nightly_job.run_nightly(store, settings, skip_fetch=True,
                                                     now=lambda: NOW)),
        ("bots", lambda: bots_job.run_bots(store, settings, list(HORIZONS)))]
    for name, job in jobs:
        metrics_sync._migrated.clear()  # each `aion` command is a fresh process
        spent: list[float] = []
        with timed_publish(spent):
            start = time.perf_counter()
            result = job()
            out[f"{name}_s"] = time.perf_counter() - start
        if name == "nightly" and result["status"] != "ok":
            raise RuntimeError(f"the nightly on {root} ended {result['status']}")
        out[f"{name}_publish_s"] = sum(spent)
    return out


def fill_history(root: Path, sessions: int) -> None:
    """`sessions` sessions of swing books (replayed on a seeded random predictor) and of
    prediction_history, for the sync to backfill."""
    store = Store(root)
    settings = load_settings(root, env_file=None)
    market = Market(store.read_daily_panel())
    symbols = list(market.close.columns)
    rng = np.random.default_rng(3)
    made: list[pd.DataFrame] = []

    def predict(session: pd.Timestamp, horizons: list[str]) -> dict[str, pd.DataFrame]:
        out = {}
        for h in horizons:
            frame = pd.DataFrame({"expected_return": rng.normal(0, 0.02, len(symbols)),
                                  "confidence": rng.uniform(0.3, 1, len(symbols))},
                                 index=pd.Index(symbols, name="symbol"))
            out[h] = frame
            score = frame.expected_return * frame.confidence
            made.append(frame.assign(score=score, rank=score.rank(ascending=False),
                                     as_of=market.previous(session), horizon=h).reset_index())
        return out

    days = market.sessions[-sessions:]
    run_replay(store, settings, days[0].date(), days[-1].date(), predictor=predict,
               market=market)
    nightly_job.append_history(store, pd.concat(made, ignore_index=True))


def paired_runs(server: PgServer, template: Path, tmp: Path, repeats: int
                ) -> tuple[dict[str, float], dict[str, float]]:
    """`repeats` pairs of job runs without and with the URL, each on a fresh copy of `template`
    (and a fresh, migrated database), in alternating order; the fastest of each figure. On a
    shared machine LightGBM's threads wait on other processes' now and then, which costs a
    nightly far more than its publish: the minimum is the run that waited least."""
    base: list[dict[str, float]] = []
    with_url: list[dict[str, float]] = []
    for i in range(repeats):
        url = server.create_db(f"jobs_{i}")
        engine = metrics_sync.make_engine(url)
        metrics_sync.migrate(engine)
        engine.dispose()
        order = [None, url] if i % 2 == 0 else [url, None]
        for variant in order:
            root = tmp / f"run_{i}_{'metrics' if variant else 'plain'}"
            shutil.copytree(template, root)
            (with_url if variant else base).append(run_jobs(root, variant))
            shutil.rmtree(root)
    fastest = lambda runs: {k: min(r[k] for r in runs) for k in runs[0]}  # noqa: E731
    return fastest(base), fastest(with_url)


def run(n_symbols: int, years: float, history: int, repeats: int) -> dict[str, object]:
    server = PgServer.launch()
    try:
        with tempfile.TemporaryDirectory(prefix="aion_bench_") as tmp:
            template, warm = Path(tmp) / "template", Path(tmp) / "warm"
            write_root(template, n_symbols, years)
            write_root(warm, 20, 2)
            run_jobs(warm, server.create_db("warm"))
            base, with_url = paired_runs(server, template, Path(tmp), repeats)
            synced = Path(tmp) / "synced"
            shutil.copytree(template, synced)
            fill_history(synced, history)
            sync_url = server.create_db("sync")
            metrics_sync._migrated.clear()
            start = time.perf_counter()
            changed, held = metrics_sync.sync_all(Store(synced), sync_url)
            sync_s = time.perf_counter() - start
    finally:
        server.close()
    out: dict[str, object] = {"bench": "metrics", "symbols": n_symbols, "years": years,
                              "repeats": repeats, "goal_overhead": GOAL}
    for job in ("nightly", "bots"):
        without, with_, publish = base[f"{job}_s"], with_url[f"{job}_s"], with_url[
            f"{job}_publish_s"]
        out |= {f"{job}_s": round(without, 3), f"{job}_metrics_s": round(with_, 3),
                f"{job}_overhead": round((with_ - without) / without, 4),
                f"{job}_publish_s": round(publish, 3),
                f"{job}_publish_share": round(publish / without, 4)}
    rows = sum(changed.values())
    out |= {"sync_history_sessions": history, "sync_rows": rows, "sync_s": round(sync_s, 2),
            "sync_rows_per_s": round(rows / sync_s), "sync_tables": held}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--years", type=float, default=4.0)
    ap.add_argument("--history", type=int, default=250)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not installed():
        print(json.dumps({"bench": "metrics", "skipped": MISSING}))
        return
    logging.disable(logging.INFO)
    print(json.dumps(run(args.symbols, args.years, args.history, args.repeats)))


if __name__ == "__main__":
    main()
