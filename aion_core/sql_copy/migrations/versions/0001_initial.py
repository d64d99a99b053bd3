"""The first metrics tables: nightly runs, model metrics, predictions, bot equity, fills,
intraday cycles, backtests and evaluations (issue 14).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "nightly_runs",
        sa.Column("run_id", sa.Text, primary_key=True), sa.Column("as_of", sa.Date),
        sa.Column("status", sa.Text, nullable=False), sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS), sa.Column("steps", JSONB, nullable=False))
    op.create_table(
        "model_metrics",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("horizon", sa.Text, primary_key=True), sa.Column("as_of", sa.Date),
        sa.Column("trained_through", sa.Date), sa.Column("ic", sa.Float),
        sa.Column("rank_ic", sa.Float), sa.Column("validation", JSONB))
    op.create_table(
        "predictions",
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("symbol", sa.Text, primary_key=True),
        sa.Column("horizon", sa.Text, primary_key=True),
        sa.Column("expected_return", sa.Float), sa.Column("confidence", sa.Float),
        sa.Column("score", sa.Float), sa.Column("rank", sa.Integer))
    op.create_table(
        "bot_equity",
        sa.Column("source", sa.Text, primary_key=True), sa.Column("bot", sa.Text, primary_key=True),
        sa.Column("date", sa.Date, primary_key=True),
        sa.Column("equity", sa.Float, nullable=False), sa.Column("cash", sa.Float),
        sa.Column("gross", sa.Float))
    op.create_table(
        "fills",
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("bot", sa.Text, nullable=False), sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("side", sa.Text, nullable=False), sa.Column("qty", sa.Float, nullable=False),
        sa.Column("price", sa.Float, nullable=False), sa.Column("fees", sa.Float, nullable=False),
        sa.Column("ts", TS, nullable=False), sa.Column("reason", sa.Text),
        sa.Column("realized_pnl", sa.Float))
    op.create_index("fills_bot_ts", "fills", ["bot", "ts"])
    op.create_table(
        "intraday_cycles",
        sa.Column("at", TS, primary_key=True), sa.Column("session", sa.Date, nullable=False),
        sa.Column("equity", sa.Float, nullable=False), sa.Column("cash", sa.Float))
    op.create_table(
        "backtests",
        sa.Column("backtest_id", sa.Text, primary_key=True),
        sa.Column("bot", sa.Text, primary_key=True), sa.Column("start", sa.Date, nullable=False),
        sa.Column("end", sa.Date, nullable=False), sa.Column("figures", JSONB, nullable=False))
    op.create_table(
        "evaluations",
        sa.Column("eval_id", sa.Text, primary_key=True),
        sa.Column("horizon", sa.Text, primary_key=True),
        sa.Column("start", sa.Date, nullable=False), sa.Column("end", sa.Date, nullable=False),
        sa.Column("created_at", TS), sa.Column("figures", JSONB, nullable=False))


def downgrade() -> None:
    for name in ("evaluations", "backtests", "intraday_cycles", "fills", "bot_equity",
                 "predictions", "model_metrics", "nightly_runs"):
        op.drop_table(name)
