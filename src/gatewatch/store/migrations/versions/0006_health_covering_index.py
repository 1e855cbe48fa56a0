"""Health: covering indexes for the flaky list (test_result) and the jobs overview (build).

The flaky list and one test's report read the attempts of a few tests in a window: by test
and time, then each attempt's run, outcome and duration. With those three columns in the
index the read touches the index pages only (6-8 ms instead of 22-75 ms for the 9,300
attempts of the flaky list on the default demo). The index replaces the (test_pk, timestamp)
one, whose queries it serves as well, so ingest still keeps two indexes on test_result.

The jobs overview groups the window's builds by job and code (change, patchset, commit) with
their result and voting flag: an index holding those columns (and the time, branch and
pipeline filters) answers it without reading the build rows (about 2x faster on the default
demo; a build is one row, so the cost at ingest is small).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 08:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RESULT_INDEX = "ix_test_result_test_pk_timestamp_run_id_outcome_duration_s"
RESULT_COLUMNS = ["test_pk", "timestamp", "run_id", "outcome", "duration_s"]
BUILD_INDEX = "ix_build_job_code_summary"  # named: the conventional name is too long for PostgreSQL
BUILD_COLUMNS = [
    "job_name",
    "change_number",
    "patchset_number",
    "commit_sha",
    "result",
    "voting",
    "start_time",
    "branch",
    "pipeline_id",
]


def upgrade() -> None:
    op.create_index(op.f(RESULT_INDEX), "test_result", RESULT_COLUMNS)
    op.drop_index(op.f("ix_test_result_test_pk_timestamp"), table_name="test_result")
    op.create_index(BUILD_INDEX, "build", BUILD_COLUMNS)


def downgrade() -> None:
    op.drop_index(BUILD_INDEX, table_name="build")
    op.create_index(op.f("ix_test_result_test_pk_timestamp"), "test_result", ["test_pk", "timestamp"])
    op.drop_index(op.f(RESULT_INDEX), table_name="test_result")
