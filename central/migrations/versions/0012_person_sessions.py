"""who is logged in to the portal (a parent reaches their children's records), and when a
child's record became their own at 18

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.db import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patient_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_nir", sa.String(15), nullable=True))
    with op.batch_alter_table("dmps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("came_of_age_at", UtcDateTime(), nullable=True))
        batch_op.create_index("ix_dmps_representative_nir", ["representative_nir"])


def downgrade() -> None:
    with op.batch_alter_table("dmps", schema=None) as batch_op:
        batch_op.drop_index("ix_dmps_representative_nir")
        batch_op.drop_column("came_of_age_at")
    with op.batch_alter_table("patient_sessions", schema=None) as batch_op:
        batch_op.drop_column("person_nir")
