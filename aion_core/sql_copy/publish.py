"""After a job, its figures copied into the SQL database (AION_METRICS_URL) within a bounded
time, in a worker thread: a database that is down, slow or refusing costs one warning, never
the job; the next publish of the same job (it upserts every row of its files that the
database lacks or holds differently) or `aion metrics sync` catches the rows up. SQLAlchemy,
psycopg and Alembic are imported only when a URL is set (sync), so nothing changes without one.
"""

from __future__ import annotations

import logging
import threading
import time

from aion_core.config import Settings
from aion_core.store import Store

log = logging.getLogger("aion.sql_copy")

#: Seconds a job may spend on its publish, connection and statements included.
PUBLISH_BUDGET_S = 15.0
#: Seconds one connection attempt or statement may take.
STATEMENT_TIMEOUT_S = 5.0


def publish(store: Store, settings: Settings, what: str) -> None:
    """Write job `what`'s figures (metrics_db.sync.SECTIONS) to the metrics database, if one
    is configured; never raises, never takes longer than PUBLISH_BUDGET_S (a thread still
    busy then is left to finish or fail on its own: its writes are idempotent)."""
    url = settings.aion_metrics_url
    if not url:
        return
    failure: list[str] = []
    worker = threading.Thread(target=_publish, args=(store, url, what, failure),
                              name=f"metrics-{what}", daemon=True)
    worker.start()
    worker.join(PUBLISH_BUDGET_S + STATEMENT_TIMEOUT_S)
    if worker.is_alive():
        failure.append(f"no answer within {PUBLISH_BUDGET_S + STATEMENT_TIMEOUT_S:.0f} s")
    if failure:
        from aion_core.sql_copy.sync import where

        log.warning("metrics database %s not updated after %s (%s); the files are intact, "
                    "the next run or `aion metrics sync` catches it up",
                    where(url), what, failure[0])


def _publish(store: Store, url: str, what: str, failure: list[str]) -> None:
    try:
        from aion_core.sql_copy.sync import make_engine, sync_from_root

        engine = make_engine(url, STATEMENT_TIMEOUT_S)
        try:
            sync_from_root(store, engine, what, time.monotonic() + PUBLISH_BUDGET_S)
        finally:
            engine.dispose()
    except Exception as exc:  # a job's figures are extra: any failure is one warning
        from aion_core.sql_copy.sync import reason

        failure.append(reason(exc, url))
