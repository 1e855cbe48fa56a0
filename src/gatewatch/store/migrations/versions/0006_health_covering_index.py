"""Health: the raw reads of flagged tests come from the (test_pk, timestamp) index alone.

The flaky list and one test's report read the attempts of a few tests in a window: by test
and time, then each attempt's run, outcome and duration. With those three columns in the
index the read touches the index pages only (about 25x fewer pages on the default demo:
6-8 ms instead of 22-75 ms for the 9,300 attempts of the flaky list). The index replaces the
(test_pk, timestamp) one, whose queries it serves as well, so ingest still keeps two indexes
on test_result.

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

COLUMNS = ["test_pk", "timestamp", "run_id", "outcome", "duration_s"]


def upgrade() -> None:
    op.create_index(
        op.f("ix_test_result_test_pk_timestamp_run_id_outcome_duration_s"), "test_result", COLUMNS
    )
    op.drop_index(op.f("ix_test_result_test_pk_timestamp"), table_name="test_result")


def downgrade() -> None:
    op.create_index(op.f("ix_test_result_test_pk_timestamp"), "test_result", ["test_pk", "timestamp"])
    op.drop_index(
        op.f("ix_test_result_test_pk_timestamp_run_id_outcome_duration_s"), table_name="test_result"
    )
