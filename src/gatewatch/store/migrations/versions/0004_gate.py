"""Gate: the merge queue's state (compare-and-swap generation), inbox, tested commits and journal.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-22 05:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "gate_state",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_gate_state")),
    )
    op.create_table(
        "gate_change",
        sa.Column("change_id", sa.Text(), nullable=False),
        sa.Column("repo", sa.Text(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_gate_change")),
    )
    op.create_table(
        "gate_command",
        _id(),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_command")),
    )
    op.create_index(op.f("ix_gate_command_done_at"), "gate_command", ["done_at"], unique=False)
    op.create_table(
        "gate_tested",
        _id(),
        sa.Column("item_id", sa.Text(), nullable=False),
        sa.Column("buildset", sa.BigInteger(), nullable=False),
        sa.Column("build_id", sa.Text(), nullable=False),
        sa.Column("job", sa.Text(), nullable=False),
        sa.Column("repo", sa.Text(), nullable=False),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("commit_sha", sa.Text(), nullable=False),
        sa.Column("expected_base", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_tested")),
    )
    op.create_index(
        op.f("ix_gate_tested_item_id_buildset"), "gate_tested", ["item_id", "buildset"], unique=False
    )
    op.create_index(op.f("ix_gate_tested_commit_sha_job"), "gate_tested", ["commit_sha", "job"], unique=False)
    op.create_table(
        "gate_event",
        _id(),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_event")),
    )


def downgrade() -> None:
    op.drop_table("gate_event")
    op.drop_index(op.f("ix_gate_tested_commit_sha_job"), table_name="gate_tested")
    op.drop_index(op.f("ix_gate_tested_item_id_buildset"), table_name="gate_tested")
    op.drop_table("gate_tested")
    op.drop_index(op.f("ix_gate_command_done_at"), table_name="gate_command")
    op.drop_table("gate_command")
    op.drop_table("gate_change")
    op.drop_table("gate_state")
