"""The metrics store's tables (SQLAlchemy Core), for the upserts and Alembic's autogenerate.

Each table's primary key is its natural key, so that writing the same files twice is a no-op;
`source` is `live` for the bots' own books and a backtest's id for a backtest's, which reuse
the live bots' names and order ids. The migrations under ./migrations create exactly these.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Float, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


def _ts(name: str, **kw: object) -> Column:
    return Column(name, DateTime(timezone=True), **kw)


nightly_runs = Table(
    "nightly_runs", metadata,
    Column("run_id", Text, primary_key=True),
    Column("as_of", Date),
    Column("status", Text, nullable=False),
    _ts("started_at", nullable=False),
    _ts("finished_at"),
    Column("steps", JSONB, nullable=False),
)

model_metrics = Table(
    "model_metrics", metadata,
    Column("run_id", Text, primary_key=True),
    Column("horizon", Text, primary_key=True),
    Column("as_of", Date),
    Column("trained_through", Date),
    Column("ic", Float),
    Column("rank_ic", Float),
    Column("validation", JSONB),
)

predictions = Table(
    "predictions", metadata,
    Column("as_of", Date, primary_key=True),
    Column("symbol", Text, primary_key=True),
    Column("horizon", Text, primary_key=True),
    Column("expected_return", Float),
    Column("confidence", Float),
    Column("score", Float),
    Column("rank", Integer),
)

bot_equity = Table(
    "bot_equity", metadata,
    Column("source", Text, primary_key=True),
    Column("bot", Text, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("equity", Float, nullable=False),
    Column("cash", Float),
    Column("gross", Float),
)

fills = Table(
    "fills", metadata,
    Column("source", Text, primary_key=True),
    Column("order_id", Text, primary_key=True),
    Column("bot", Text, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("side", Text, nullable=False),
    Column("qty", Float, nullable=False),
    Column("price", Float, nullable=False),
    Column("fees", Float, nullable=False),
    _ts("ts", nullable=False),
    Column("reason", Text),
    Column("realized_pnl", Float),
)
Index("fills_bot_ts", fills.c.bot, fills.c.ts)

intraday_cycles = Table(
    "intraday_cycles", metadata,
    _ts("at", primary_key=True),
    Column("session", Date, nullable=False),
    Column("equity", Float, nullable=False),
    Column("cash", Float),
)

backtests = Table(
    "backtests", metadata,
    Column("backtest_id", Text, primary_key=True),
    Column("bot", Text, primary_key=True),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("figures", JSONB, nullable=False),
)

evaluations = Table(
    "evaluations", metadata,
    Column("eval_id", Text, primary_key=True),
    Column("horizon", Text, primary_key=True),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    _ts("created_at"),
    Column("figures", JSONB, nullable=False),
)

TABLES: dict[str, Table] = {t.name: t for t in metadata.sorted_tables}
