"""Initial schema: builds and their dimensions, runs, tests, results, logs, benchmarks, ingests.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 03:57:16.346986
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_record",
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("content_hash", name=op.f("pk_ingest_record")),
    )
    op.create_table(
        "pipeline",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline")),
        sa.UniqueConstraint("name", name=op.f("uq_pipeline_name")),
    )
    op.create_table(
        "project",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
        sa.UniqueConstraint("name", name=op.f("uq_project_name")),
    )
    op.create_table(
        "test",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("test_key", sa.Text(), nullable=False),
        sa.Column("test_id", sa.Text(), nullable=False),
        sa.Column("suite", sa.Text(), nullable=False),
        sa.Column("classname", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test")),
        sa.UniqueConstraint("test_key", name=op.f("uq_test_test_key")),
    )
    op.create_table(
        "change",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_change_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change")),
        sa.UniqueConstraint("project_id", "number", name=op.f("uq_change_project_id_number")),
    )
    op.create_table(
        "patchset",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("change_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("commit_sha", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["change.id"], name=op.f("fk_patchset_change_id_change")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patchset")),
        sa.UniqueConstraint("change_id", "number", name=op.f("uq_patchset_change_id_number")),
    )
    op.create_table(
        "buildset",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("uuid", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("pipeline_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("change_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("patchset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["change.id"], name=op.f("fk_buildset_change_id_change")),
        sa.ForeignKeyConstraint(
            ["patchset_id"], ["patchset.id"], name=op.f("fk_buildset_patchset_id_patchset")
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipeline.id"], name=op.f("fk_buildset_pipeline_id_pipeline")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_buildset_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildset")),
        sa.UniqueConstraint("uuid", name=op.f("uq_buildset_uuid")),
    )
    op.create_table(
        "build",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("uuid", sa.Text(), nullable=False),
        sa.Column("buildset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_name", sa.Text(), nullable=False),
        sa.Column("pipeline_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("change_number", sa.Integer(), nullable=True),
        sa.Column("patchset_number", sa.Integer(), nullable=True),
        sa.Column("patchset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("commit_sha", sa.Text(), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=False),
        sa.Column("voting", sa.Boolean(), nullable=False),
        sa.Column("node_label", sa.Text(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("log_url", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["buildset_id"], ["buildset.id"], name=op.f("fk_build_buildset_id_buildset")),
        sa.ForeignKeyConstraint(["patchset_id"], ["patchset.id"], name=op.f("fk_build_patchset_id_patchset")),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"], name=op.f("fk_build_pipeline_id_pipeline")),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_build_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_build")),
        sa.UniqueConstraint("uuid", name=op.f("uq_build_uuid")),
    )
    with op.batch_alter_table("build", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_build_job_name_start_time"), ["job_name", "start_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_build_project_id_change_number_patchset_number"),
            ["project_id", "change_number", "patchset_number"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_build_result_start_time"), ["result", "start_time"], unique=False
        )

    op.create_table(
        "benchmark_sample",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("benchmark", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("commit_sha", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("build_uuid", sa.Text(), nullable=False),
        sa.Column("build_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["build_id"], ["build.id"], name=op.f("fk_benchmark_sample_build_id_build")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benchmark_sample")),
    )
    with op.batch_alter_table("benchmark_sample", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_benchmark_sample_build_id"), ["build_id"], unique=False)
        batch_op.create_index(
            "ix_benchmark_sample_series_time",
            ["project", "benchmark", "metric", "environment", "timestamp"],
            unique=False,
        )

    op.create_table(
        "log_file",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("build_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("blob_sha256", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("line_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["build_id"], ["build.id"], name=op.f("fk_log_file_build_id_build")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_file")),
    )
    with op.batch_alter_table("log_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_file_blob_sha256"), ["blob_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_log_file_build_id"), ["build_id"], unique=False)

    op.create_table(
        "run",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("build_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("content_hash", sa.Text(), nullable=True),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("test_count", sa.Integer(), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["build_id"], ["build.id"], name=op.f("fk_run_build_id_build")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_run_content_hash")),
    )
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_build_id"), ["build_id"], unique=False)

    op.create_table(
        "test_result",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("test_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suite", sa.Text(), nullable=True),
        sa.Column("classname", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=False),
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_test_result_run_id_run")),
        sa.ForeignKeyConstraint(["test_pk"], ["test.id"], name=op.f("fk_test_result_test_pk_test")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_result")),
    )
    with op.batch_alter_table("test_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_test_result_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_test_result_test_pk_timestamp"), ["test_pk", "timestamp"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("test_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_result_test_pk_timestamp"))
        batch_op.drop_index(batch_op.f("ix_test_result_run_id"))

    op.drop_table("test_result")
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_build_id"))

    op.drop_table("run")
    with op.batch_alter_table("log_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_file_build_id"))
        batch_op.drop_index(batch_op.f("ix_log_file_blob_sha256"))

    op.drop_table("log_file")
    with op.batch_alter_table("benchmark_sample", schema=None) as batch_op:
        batch_op.drop_index("ix_benchmark_sample_series_time")
        batch_op.drop_index(batch_op.f("ix_benchmark_sample_build_id"))

    op.drop_table("benchmark_sample")
    with op.batch_alter_table("build", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_build_result_start_time"))
        batch_op.drop_index(batch_op.f("ix_build_project_id_change_number_patchset_number"))
        batch_op.drop_index(batch_op.f("ix_build_job_name_start_time"))

    op.drop_table("build")
    op.drop_table("buildset")
    op.drop_table("patchset")
    op.drop_table("change")
    op.drop_table("test")
    op.drop_table("project")
    op.drop_table("pipeline")
    op.drop_table("ingest_record")
