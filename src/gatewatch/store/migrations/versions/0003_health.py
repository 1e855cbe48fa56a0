"""Health rollups: daily test and job aggregates (issue #4).

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 04:40:33.733525
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_job_rollup",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("job_name", sa.Text(), nullable=False),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("pipeline", sa.Text(), nullable=False),
        sa.Column("builds", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("infra_failures", sa.Integer(), nullable=False),
        sa.Column("known_failures", sa.Integer(), nullable=False),
        sa.Column("duration_count", sa.Integer(), nullable=False),
        sa.Column("duration_sum_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "job_name", "branch", "pipeline", name=op.f("pk_daily_job_rollup")),
    )
    op.create_table(
        "daily_test_rollup",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("test_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_name", sa.Text(), nullable=False),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("pipeline", sa.Text(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("counted_runs", sa.Integer(), nullable=False),
        sa.Column("failed_runs", sa.Integer(), nullable=False),
        sa.Column("mixed_runs", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("skips", sa.Integer(), nullable=False),
        sa.Column("infra_attempts", sa.Integer(), nullable=False),
        sa.Column("known_failures", sa.Integer(), nullable=False),
        sa.Column("flips", sa.Integer(), nullable=False),
        sa.Column("first_failed", sa.Boolean(), nullable=False),
        sa.Column("last_failed", sa.Boolean(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_count", sa.Integer(), nullable=False),
        sa.Column("duration_sum_s", sa.Float(), nullable=False),
        sa.Column("duration_hist", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["test_pk"], ["test.id"], name=op.f("fk_daily_test_rollup_test_pk_test")),
        sa.PrimaryKeyConstraint(
            "day", "test_pk", "job_name", "branch", "pipeline", name=op.f("pk_daily_test_rollup")
        ),
    )
    with op.batch_alter_table("daily_test_rollup", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_daily_test_rollup_test_pk_day"), ["test_pk", "day"], unique=False
        )

    op.create_index(
        "ix_daily_test_rollup_failing",
        "daily_test_rollup",
        ["day", "job_name", "test_pk"],
        unique=False,
        sqlite_where=sa.text("failures > 0"),
        postgresql_where=sa.text("failures > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_daily_test_rollup_failing", table_name="daily_test_rollup")
    with op.batch_alter_table("daily_test_rollup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_daily_test_rollup_test_pk_day"))

    op.drop_table("daily_test_rollup")
    op.drop_table("daily_job_rollup")
