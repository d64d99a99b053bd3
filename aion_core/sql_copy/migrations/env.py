"""Alembic's environment for the metrics store: run programmatically by metrics_db.sync with
the connection in `config.attributes["connection"]` (no alembic.ini), or, for a developer's
`alembic` command, on `sqlalchemy.url`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from aion_core.sql_copy.tables import metadata

#: Two jobs finishing together would both try to create the tables: one waits for the other.
MIGRATION_LOCK = 0x41494F4E  # "AION"


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    _migrate(given)
else:
    with create_engine(context.config.get_main_option("sqlalchemy.url")).begin() as conn:
        _migrate(conn)
