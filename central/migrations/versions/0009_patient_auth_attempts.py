"""the patient's doors: tries kept a day, keyed hashes only, to throttle alike known and unknown

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import central.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_auth_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("door", sa.String(length=16), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("at", central.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("patient_auth_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_patient_auth_attempts_subject", ["subject_hash", "at"])
        batch_op.create_index("ix_patient_auth_attempts_source", ["source_hash", "at"])
        batch_op.create_index(batch_op.f("ix_patient_auth_attempts_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patient_auth_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_auth_attempts_at"))
        batch_op.drop_index("ix_patient_auth_attempts_source")
        batch_op.drop_index("ix_patient_auth_attempts_subject")
    op.drop_table("patient_auth_attempts")
