"""a contact the patient asked for, waiting for the code sent to it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import central.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dmp_ins", sa.String(length=15), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", central.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", central.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("done_at", central.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["dmp_ins"], ["dmps.ins"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contact_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_changes_dmp_ins"), ["dmp_ins"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_changes_dmp_ins"))
    op.drop_table("contact_changes")
