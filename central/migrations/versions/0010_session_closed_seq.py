"""the sequence of the envelope that closed an operator session: nothing after it is its

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operator_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operator_sessions", schema=None) as batch_op:
        batch_op.drop_column("closed_seq")
