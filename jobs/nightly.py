"""`aion nightly`: collect, features, train, predict, brain, summary — in that order.

Reads with aion_core.store, computes with the pure domain modules, writes with the store.
Every step is timed and recorded in last_nightly_summary.json (CONTRACT.md); a step that
fails skips the steps that need its output. Status of the run:
- failed: features, training or predictions failed (nothing trustworthy was published);
- partial: the run published predictions, but collection failed or missed some items (the
  stored data was used as it was) or the brain update failed;
- ok: everything ran.

`as_of` is the last session whose data may be read: bars, macro observations and headlines
after it are filtered out as they are read, so a run `--as-of t` sees the data root as it was
at t's close. Everything is logged to logs/nightly/nightly_<YYYYMMDD>.log (the summary's
`log`), and to stderr one line each (jobs/progress.py): a failed step's traceback goes to that
file only, and the caller reports the step in one line (`failed_steps`), so that stderr says
each failure once. While it runs, its started marker (PATHS["run_marker"], jobs/running.py)
names the step it is in; the summary replaces it, so a run killed before its summary (SIGKILL,
out of memory, an abort in LightGBM) reads as "died during <step>" (aion_core/runs.py).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from aion_core.bots.registry import NIGHTLY_JOB
from aion_core.config import Settings
from aion_core.errors import ConfigurationError
from aion_core.ml import model
from aion_core.sql_copy.publish import publish
from aion_core.store import (
    Store,
)
from jobs.cluster.dataset import cluster_address
from jobs.collect import Providers
from jobs.nightly_steps import (
    NightlyRun,
    brain_step,
    collect_step,
    features_step,
    predict_step,
    train_step,
)
from jobs.notify import check_alerts
from jobs.progress import FILE_ONLY, LOG_FORMAT, describe
from jobs.running import MarkedRun

log = logging.getLogger("aion.nightly")


# --------------------------------------------------------------------------- the job


def _summary(run: NightlyRun, run_id: str, started: datetime, log_path: str) -> dict[str, Any]:
    return {
        "run_id": run_id, "started_at": started.isoformat(timespec="seconds"), "log": log_path,
        "finished_at": run.now().isoformat(timespec="seconds"),
        "as_of": run.as_of.strftime("%Y-%m-%d") if run.as_of is not None else None,
        "status": run.status(), "steps": run.steps, "dropped": run.dropped,
        "metrics": {h: {k: m.validation["mean"][k] for k in ("ic", "rank_ic")}
                    for h, m in run.models.items()},
    }


def run_nightly(store: Store, settings: Settings, as_of: date | None = None,
                skip_fetch: bool = False, providers: Providers | None = None,
                now: Callable[[], datetime] | None = None,
                cluster: str | None = None) -> dict[str, Any]:
    """Run the six steps; returns the summary written to last_nightly_summary.json.

    cluster: `local:N` or a scheduler address (else AION_DASK_SCHEDULER; neither = this
    process alone): features, training and predictions then run on Dask (jobs/cluster/dataset.py).

    as_of: the session to run as of (None = the last stored session on or before the last
    completed one). providers: (market, macro, news) for collection (None = from settings).
    now: the clock (UTC-aware datetimes), for tests.
    """
    clock = now or (lambda: datetime.now(UTC))
    started = clock()
    run_id = f"nightly-{started:%Y%m%dT%H%M%S}Z"
    kind = model.model_kind(settings.aion_model, store.is_synthetic())
    run = NightlyRun(store, clock, replace(model.NIGHTLY, model=kind))
    handler = _attach_log(store, started)
    # Until the summary replaces it, the marker says this run is going (or, once its process
    # is gone without a summary, that it died during its step): aion_core/runs.py.
    marker = MarkedRun(store, NIGHTLY_JOB, run_id, handler.baseFilename, clock)
    marker.start()
    run.on_step = lambda name: marker.step(name, run.steps, as_of=(
        run.as_of.strftime("%Y-%m-%d") if run.as_of is not None else None))
    try:
        log.info("%s: as_of %s, skip_fetch %s", run_id, as_of or "latest", skip_fetch)
        if skip_fetch:
            run._record("collect", "skipped", 0.0, "--skip-fetch: stored raw files used")
        elif settings.aion_provider == "synthetic" and store.daily_symbols() \
                and not store.is_synthetic():
            run._record("collect", "skipped", 0.0,
                        f"the data root holds {', '.join(store.bars_sources())} bars, which "
                        "the synthetic provider does not extend (AION_PROVIDER=yfinance "
                        "updates them); stored raw files used")
        else:
            run.step("collect", lambda: collect_step(run, settings, as_of, providers))
        address = cluster_address(cluster, settings.aion_dask_scheduler)
        if address is not None and kind != "gbm":
            raise ConfigurationError(
                f"the Dask cluster ({address}) trains LightGBM; the composite (AION_MODEL="
                f"{settings.aion_model}) has nothing to train there: set AION_MODEL=gbm or "
                "unset AION_DASK_SCHEDULER")
        if address is None:
            run.step("features", lambda: features_step(run, as_of))
            run.step("train", lambda: train_step(run), needs=("features",))
            run.step("predict", lambda: predict_step(run), needs=("features", "train"))
        else:
            from jobs.cluster.nightly import run_on_cluster

            run_on_cluster(run, address, as_of)
        run.step("brain", lambda: brain_step(run), needs=("predict",))
        marker.step("summary", run.steps)
        run._record("summary", "ok", 0.0, f"status {run.status()}")
        summary = _summary(run, run_id, started, handler.baseFilename)
        store.write_json("nightly_summary", summary)
        marker.finish()
        check_alerts(store, settings)  # a failed or partial night is heard of at once
        publish(store, settings, "nightly")
        log.info("%s finished: %s", run_id, summary["status"])
        return summary
    except Exception as exc:  # the caller says it in one line; the traceback is kept here
        log.error("%s failed: %s", run_id, describe(exc, store.root), exc_info=True,
                  extra=FILE_ONLY)
        marker.end(exc)
        raise
    except BaseException as exc:  # Ctrl-C, a SystemExit: the marker says interrupted
        marker.end(exc)
        raise
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def failed_steps(summary: dict[str, Any]) -> list[str]:
    """One line per failed step of a run, pointing at the log that holds its traceback."""
    return [f"nightly step {s['name']} failed: {s['detail']} (see {summary.get('log')})"
            for s in summary["steps"] if s["status"] == "failed"]


def _attach_log(store: Store, started: datetime) -> logging.FileHandler:
    """A file handler on the root logger for this run (the CLI already logs to stderr)."""
    path = store.path("nightly_logs", yyyymmdd=started.strftime("%Y%m%d"))
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    log.setLevel(logging.INFO)  # the run's own lines reach the file whatever the root level
    return handler
