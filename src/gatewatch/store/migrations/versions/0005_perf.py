"""Performance analysis: analysed series (incremental state), change points, outlier runs.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-22 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "perf_series",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("benchmark", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("point_count", sa.Integer(), nullable=False),
        sa.Column("runs_per_commit", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("analysed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perf_series")),
        sa.UniqueConstraint(
            "project",
            "benchmark",
            "metric",
            "environment",
            name=op.f("uq_perf_series_project_benchmark_metric_environment"),
        ),
    )
    op.create_table(
        "perf_change_point",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("series_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("point_index", sa.Integer(), nullable=False),
        sa.Column("last_good_commit", sa.Text(), nullable=False),
        sa.Column("first_bad_commit", sa.Text(), nullable=False),
        sa.Column("suspect_commits", sa.JSON(), nullable=False),
        sa.Column("magnitude_pct", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("mean_before", sa.Float(), nullable=True),
        sa.Column("mean_after", sa.Float(), nullable=True),
        sa.Column("spread_before", sa.Float(), nullable=True),
        sa.Column("spread_after", sa.Float(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["series_id"], ["perf_series.id"], name=op.f("fk_perf_change_point_series_id_perf_series")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perf_change_point")),
    )
    op.create_index(op.f("ix_perf_change_point_series_id"), "perf_change_point", ["series_id"], unique=False)
    op.create_index(
        op.f("ix_perf_change_point_status_kind"), "perf_change_point", ["status", "kind"], unique=False
    )
    op.create_table(
        "perf_outlier",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("series_id", ID, nullable=False),
        sa.Column("point_index", sa.Integer(), nullable=False),
        sa.Column("commit_sha", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("deviation_pct", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["series_id"], ["perf_series.id"], name=op.f("fk_perf_outlier_series_id_perf_series")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perf_outlier")),
    )
    op.create_index(op.f("ix_perf_outlier_series_id"), "perf_outlier", ["series_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_perf_outlier_series_id"), table_name="perf_outlier")
    op.drop_table("perf_outlier")
    op.drop_index(op.f("ix_perf_change_point_status_kind"), table_name="perf_change_point")
    op.drop_index(op.f("ix_perf_change_point_series_id"), table_name="perf_change_point")
    op.drop_table("perf_change_point")
    op.drop_table("perf_series")
