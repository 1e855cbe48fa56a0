"""Triage: fingerprint versions, log matches and verdicts per build.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:35:40.367870
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "triage_fingerprint",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("bug_id", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_fingerprint")),
        sa.UniqueConstraint("bug_id", "content_hash", name=op.f("uq_triage_fingerprint_bug_id_content_hash")),
    )
    op.create_table(
        "triage_match",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("build_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bug_id", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("line_number", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["build_id"], ["build.id"], name=op.f("fk_triage_match_build_id_build")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_match")),
    )
    with op.batch_alter_table("triage_match", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_triage_match_bug_id"), ["bug_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_triage_match_build_id"), ["build_id"], unique=False)

    op.create_table(
        "triage_verdict",
        sa.Column("build_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("infra_ids", sa.JSON(), nullable=False),
        sa.Column("bug_ids", sa.JSON(), nullable=False),
        sa.Column("uncounted_bug_ids", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("fingerprint_set", sa.Text(), nullable=False),
        sa.Column("classified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["build_id"], ["build.id"], name=op.f("fk_triage_verdict_build_id_build")),
        sa.PrimaryKeyConstraint("build_id", name=op.f("pk_triage_verdict")),
    )
    with op.batch_alter_table("triage_verdict", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_triage_verdict_kind"), ["kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("triage_verdict", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_triage_verdict_kind"))

    op.drop_table("triage_verdict")
    with op.batch_alter_table("triage_match", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_triage_match_build_id"))
        batch_op.drop_index(batch_op.f("ix_triage_match_bug_id"))

    op.drop_table("triage_match")
    op.drop_table("triage_fingerprint")
