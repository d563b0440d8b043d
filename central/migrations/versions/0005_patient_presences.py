"""the patient's presence at a counter (card read, identity qualified in a session)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import central.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_presences",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("ins", sa.String(length=15), nullable=False),
        sa.Column("at", central.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_patient_presences_session_ins",
        "patient_presences",
        ["session_id", "ins", "at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_patient_presences_session_ins", table_name="patient_presences")
    op.drop_table("patient_presences")
