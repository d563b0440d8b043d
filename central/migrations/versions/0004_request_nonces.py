"""nonces of signed sync requests (replay window)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import central.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_request_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", central.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_index(
        op.f("ix_sync_request_nonces_seen_at"), "sync_request_nonces", ["seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sync_request_nonces_seen_at"), table_name="sync_request_nonces")
    op.drop_table("sync_request_nonces")
