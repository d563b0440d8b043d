"""who is logged in to the portal (a parent reaches their children's records), and when a
child's record became their own at 18

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 07:20:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from central.db import UtcDateTime
from dmpcommon.people import BirthDate, name_key

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patient_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_nir", sa.String(15), nullable=True))
        batch_op.add_column(sa.Column("reach", sa.Text(), nullable=True))
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_hash", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("reach", sa.Text(), nullable=True))
        batch_op.create_index("ix_one_time_codes_subject_hash", ["subject_hash"])
    with op.batch_alter_table("dmps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("came_of_age_at", UtcDateTime(), nullable=True))
        batch_op.create_index("ix_dmps_representative_nir", ["representative_nir"])
    _already_of_age()
    with op.batch_alter_table("operator_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(500), nullable=True))
    _name_keys()


def _name_keys() -> None:
    """The folded names of the professionals already seen, for the search by name."""
    sessions = sa.table(
        "operator_sessions",
        sa.column("id", sa.String),
        sa.column("nom", sa.String),
        sa.column("prenom", sa.String),
        sa.column("name_key", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(sessions.c.id, sessions.c.prenom, sessions.c.nom)).all()
    for row_id, prenom, nom in rows:
        bind.execute(
            sessions.update().where(sessions.c.id == row_id).values(name_key=name_key(prenom, nom))
        )


def _already_of_age() -> None:
    """Records a parent created for a child who is an adult today were already the adult's
    before this revision: they are marked handed over, so that the first pass does not take
    their contact away nor write to them as to a parent."""
    dmps = sa.table(
        "dmps",
        sa.column("ins", sa.String),
        sa.column("birth_date", sa.String),
        sa.column("consent_by", sa.String),
        sa.column("came_of_age_at", UtcDateTime()),
    )
    bind = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    rows = bind.execute(
        sa.select(dmps.c.ins, dmps.c.birth_date).where(dmps.c.consent_by == "representative")
    ).all()
    for ins, birth_date in rows:
        if BirthDate.parse(birth_date).adult_on(now.date()):
            bind.execute(dmps.update().where(dmps.c.ins == ins).values(came_of_age_at=now))


def downgrade() -> None:
    with op.batch_alter_table("operator_sessions", schema=None) as batch_op:
        batch_op.drop_column("name_key")
    with op.batch_alter_table("dmps", schema=None) as batch_op:
        batch_op.drop_index("ix_dmps_representative_nir")
        batch_op.drop_column("came_of_age_at")
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_one_time_codes_subject_hash")
        batch_op.drop_column("reach")
        batch_op.drop_column("subject_hash")
    with op.batch_alter_table("patient_sessions", schema=None) as batch_op:
        batch_op.drop_column("reach")
        batch_op.drop_column("person_nir")
