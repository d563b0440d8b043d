"""bounded trust: the kiosk's last action time, the service's time on audit entries,
revoked professional cards

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import central.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kiosks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_at", central.db.UtcDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recorded_at", central.db.UtcDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "revoked_cards",
        sa.Column("id_nat", sa.String(length=40), nullable=False),
        sa.Column("revoked_at", central.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id_nat"),
    )


def downgrade() -> None:
    op.drop_table("revoked_cards")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_column("recorded_at")
    with op.batch_alter_table("kiosks", schema=None) as batch_op:
        batch_op.drop_column("last_at")
