"""Files -> PostgreSQL: the migrations, the idempotent upserts, and one bounded publish.

Every write is `INSERT ... ON CONFLICT (natural key) DO UPDATE ... WHERE the row differs`, so a
row already equal is not touched and a second sync of the same files changes nothing (the
rows RETURNED are the ones written or changed: what `aion metrics sync` reports). Tables are
written one transaction each: a server lost half-way keeps the tables already written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Table, create_engine, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from aion_core.errors import ConfigurationError, TemporaryError
from aion_core.sql_copy import rows as files
from aion_core.sql_copy.tables import TABLES
from aion_core.store import Store

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)
CHUNK = 2000
CONNECT_TIMEOUT_S = 10
_migrated: set[str] = set()

#: What each job's publish writes: the sections of the files that job changes.
SECTIONS: dict[str, tuple[str, ...]] = {
    "nightly": ("nightly", "predictions"),
    "bots": ("swing_books",),
    "replay": ("predictions", "swing_books", "intraday"),
    "backtest": ("predictions", "backtests"),
    "intraday": ("intraday",),
    "evaluate": ("evaluations",),
    "all": ("nightly", "predictions", "swing_books", "intraday", "backtests", "evaluations"),
}
READERS: dict[str, Callable[[Store], files.Rows]] = {
    "nightly": files.nightly, "swing_books": files.swing_books, "intraday": files.intraday,
    "backtests": files.backtests, "evaluations": files.evaluations,
}


def metrics_url(url: str) -> URL:
    """The URL, with psycopg 3 as the driver of a bare `postgresql://` (SQLAlchemy would pick
    psycopg2, which is not installed); anything but PostgreSQL is a configuration error."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ConfigurationError(f"AION_METRICS_URL must be a postgresql URL, not "
                                 f"{parsed.get_backend_name()}://...")
    return parsed.set(drivername="postgresql+psycopg") if parsed.drivername == "postgresql" \
        else parsed


def where(url: str) -> str:
    """The server and database, for messages: never the password."""
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"


def make_engine(url: str, timeout_s: float | None = None) -> Engine:
    """An engine without a pool (a job opens one connection and ends); with `timeout_s`, the
    connection attempt and each statement are bounded by it, on the server's side too (else
    only the connection attempt, by CONNECT_TIMEOUT_S: a backfill may run long)."""
    args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S}
    if timeout_s is not None:
        args = {"connect_timeout": max(1, round(timeout_s)),
                "options": f"-c statement_timeout={int(timeout_s * 1000)} "
                           f"-c lock_timeout={int(timeout_s * 1000)}"}
    return create_engine(metrics_url(url), poolclass=NullPool, connect_args=args)


def migrate(engine: Engine) -> None:
    """Alembic's upgrade to head, once per process and database (a no-op when current)."""
    key = engine.url.render_as_string(hide_password=True)
    if key in _migrated:
        return
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    _migrated.add(key)


def upsert(engine: Engine, table: Table, rows: list[files.Row],
           deadline: float | None = None) -> int:
    """Insert or update `rows` on the table's primary key; returns how many rows were new or
    different. Past `deadline` (time.monotonic()) it stops between chunks: TemporaryError."""
    if not rows:
        return 0
    keys = [c.name for c in table.primary_key.columns]
    values = [c.name for c in table.columns if c.name not in keys]
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in values},
        where=tuple_(*(table.c[c] for c in values)).is_distinct_from(
            tuple_(*(stmt.excluded[c] for c in values))),
    ).returning(table.c[keys[0]])
    changed = 0
    with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            if deadline is not None and time.monotonic() > deadline:
                raise TemporaryError(f"time is up while writing {table.name}")
            changed += len(conn.execute(stmt, rows[start:start + CHUNK]).all())
    return changed


def _stored_prediction_days(engine: Engine) -> dict[date, int]:
    table = TABLES["predictions"]
    query = select(table.c.as_of, func.count()).group_by(table.c.as_of)
    with engine.connect() as conn:
        return {day: n for day, n in conn.execute(query).all()}


def _prediction_rows(store: Store, engine: Engine, full: bool) -> list[files.Row]:
    """All predictions (`full`), else the as-of days whose count differs from the database's
    (the days a publish missed: caught up here) and the rolling brain's day (a rerun of the
    nightly for the same day replaces its figures)."""
    frame = files.predictions(store)
    if not full and len(frame):
        stored = _stored_prediction_days(engine)
        counts = frame.groupby("as_of").size()
        days = {d for d, n in counts.items() if stored.get(d) != n} | {files.brain_as_of(store)}
        frame = frame[frame["as_of"].isin(days)]
    return files.prediction_rows(frame)


def _gather(store: Store, engine: Engine, sections: Iterable[str], full: bool) -> files.Rows:
    out: files.Rows = {}
    for section in sections:
        got = {"predictions": _prediction_rows(store, engine, full)} \
            if section == "predictions" else READERS[section](store)
        for name, rows in got.items():
            out.setdefault(name, []).extend(_storable(name, rows))
    return out


def _storable(table: str, rows: list[files.Row]) -> list[files.Row]:
    """`rows` without those PostgreSQL cannot hold (a NUL byte in a text: one such line in a
    trade log aborted the whole sync), each skipped one named in a warning."""
    kept = []
    for row in rows:
        if any(isinstance(v, str) and "\x00" in v for v in row.values()):
            log.warning("metrics: a %s row with a NUL byte is skipped (%s)", table,
                        ", ".join(f"{k} {v!r}" for k, v in row.items() if isinstance(v, str))
                        [:300])
            continue
        kept.append(row)
    return kept


def sync_from_root(store: Store, engine: Engine, what: str = "all",
                   deadline: float | None = None) -> dict[str, int]:
    """Bring the database level with the files of `what` (a SECTIONS key; "all" = every
    table, every prediction). Returns rows written or changed per table; run twice, all 0."""
    migrate(engine)
    gathered = _gather(store, engine, SECTIONS[what], full=what == "all")
    return {name: upsert(engine, TABLES[name], rows, deadline)
            for name, rows in gathered.items()}


def sync_all(store: Store, url: str) -> tuple[dict[str, int], dict[str, int]]:
    """`aion metrics sync`: every table level with the files, without a time limit (the
    backfill of a long history may take minutes). Returns (rows written or changed, rows
    held) per table; a database error is a TemporaryError in one line."""
    from sqlalchemy.exc import SQLAlchemyError


    engine = make_engine(url)
    try:
        return sync_from_root(store, engine), table_counts(engine)
    except SQLAlchemyError as exc:
        raise TemporaryError(f"metrics database {where(url)}: {reason(exc, url)}") from None
    finally:
        engine.dispose()


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per metrics table."""
    with engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for name, t in TABLES.items()}


def reason(exc: Exception, url: str) -> str:
    """One line on why a write failed: the driver's first line (SQLAlchemy's own text adds
    the statement and its parameters), with the URL's password masked should it appear."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0] if text else ''}"
    try:
        password = make_url(url).password
    except Exception:  # an unparsable URL: its error names no part of it
        return line
    return line.replace(str(password), "***") if password else line
