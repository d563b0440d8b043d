"""a patient creating their DMP in the portal: proofs tried, codes waiting

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import central.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "online_creations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("nir_hash", sa.String(length=64), nullable=False),
        sa.Column("proven", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("information_version", sa.String(length=32), nullable=True),
        sa.Column("etreat", sa.Boolean(), nullable=False),
        sa.Column("btg", sa.Boolean(), nullable=False),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.Column("created_at", central.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", central.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("done_at", central.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("online_creations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_online_creations_nir_hash"), ["nir_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("online_creations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_online_creations_nir_hash"))
    op.drop_table("online_creations")
