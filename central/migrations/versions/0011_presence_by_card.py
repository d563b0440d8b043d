"""how an operator session saw the patient: their Vitale card, or only an identity document

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patient_presences", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("by_card", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("patient_presences", schema=None) as batch_op:
        batch_op.drop_column("by_card")
