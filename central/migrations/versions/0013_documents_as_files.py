"""documents are files (bytes kept once per record and content, checked on read), the care
history fed by the health insurance, and system clients beside the kiosks

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:50:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

from central.db import UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TEXT_FORMAT = "urn:ihe:iti:xds-sd:text:2008"


def upgrade() -> None:
    op.create_table(
        "document_files",
        sa.Column("dmp_ins", sa.String(15), sa.ForeignKey("dmps.ins", ondelete="CASCADE")),
        sa.Column("sha256", sa.String(64)),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("dmp_ins", "sha256"),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mime_type", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sha256", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("format_code", sa.String(120), nullable=True))
        batch_op.add_column(sa.Column("filename", sa.String(200), nullable=True))
    _texts_to_files()
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column("mime_type", nullable=False)
        batch_op.alter_column("size", nullable=False)
        batch_op.alter_column("sha256", nullable=False)
        batch_op.alter_column("format_code", nullable=False)
        batch_op.drop_column("content")
    _labels_down_the_chains()

    op.create_table(
        "care_lines",
        sa.Column("dmp_ins", sa.String(15), sa.ForeignKey("dmps.ins", ondelete="CASCADE")),
        sa.Column("line_id", sa.String(64)),
        sa.Column("care_date", sa.Date(), nullable=False),
        sa.Column("nature", sa.String(32), nullable=False),
        sa.Column("code_system", sa.String(8), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("executant", sa.String(200), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("dmp_ins", "line_id"),
    )
    op.create_index("ix_care_lines_dmp_date", "care_lines", ["dmp_ins", "care_date"])
    op.create_table(
        "care_history_requests",
        sa.Column(
            "dmp_ins",
            sa.String(15),
            sa.ForeignKey("dmps.ins", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("fulfilled_at", UtcDateTime(), nullable=True),
    )
    op.create_index(
        "ix_care_history_requests_requested_at", "care_history_requests", ["requested_at"]
    )
    for table in ("kiosks", "enrollment_tokens"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("kind", sa.String(16), nullable=False, server_default="kiosk")
            )


def _texts_to_files() -> None:
    """Each document written so far was a line of text: it becomes a text/plain file."""
    bind = op.get_bind()
    documents = sa.table(
        "documents",
        sa.column("id", sa.String),
        sa.column("dmp_ins", sa.String),
        sa.column("content", sa.Text),
        sa.column("mime_type", sa.String),
        sa.column("size", sa.Integer),
        sa.column("sha256", sa.String),
        sa.column("format_code", sa.String),
    )
    files = sa.table(
        "document_files",
        sa.column("dmp_ins", sa.String),
        sa.column("sha256", sa.String),
        sa.column("data", sa.LargeBinary),
    )
    stored: set[tuple[str, str]] = set()
    rows = bind.execute(sa.select(documents.c.id, documents.c.dmp_ins, documents.c.content))
    for doc_id, dmp_ins, content in rows.all():
        data = (content or "").encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        if (dmp_ins, digest) not in stored:
            bind.execute(sa.insert(files).values(dmp_ins=dmp_ins, sha256=digest, data=data))
            stored.add((dmp_ins, digest))
        bind.execute(
            sa.update(documents)
            .where(documents.c.id == doc_id)
            .values(mime_type="text/plain", size=len(data), sha256=digest, format_code=_TEXT_FORMAT)
        )


def _labels_down_the_chains() -> None:
    """A document masked (or hidden from representatives) is so in every version: an
    earlier version would tell what the current one says."""
    bind = op.get_bind()
    documents = sa.table(
        "documents",
        sa.column("id", sa.String),
        sa.column("replaces", sa.String),
        sa.column("replaced_by", sa.String),
        sa.column("masked_to_professionals", sa.Boolean),
        sa.column("invisible_to_representatives", sa.Boolean),
    )
    rows = bind.execute(
        sa.select(
            documents.c.id,
            documents.c.replaces,
            documents.c.replaced_by,
            documents.c.masked_to_professionals,
            documents.c.invisible_to_representatives,
        ).where(documents.c.replaces.is_not(None) | documents.c.replaced_by.is_not(None))
    ).all()
    by_id = {row.id: row for row in rows}
    for head in (row for row in rows if row.replaced_by is None):
        chain = [head]
        while chain[-1].replaces is not None and chain[-1].replaces in by_id:
            chain.append(by_id[chain[-1].replaces])
        # The safe side: a label any version carries, every version carries.
        values = {
            label: True
            for label in ("masked_to_professionals", "invisible_to_representatives")
            if any(getattr(row, label) for row in chain)
        }
        if values:
            ids = [row.id for row in chain]
            bind.execute(sa.update(documents).where(documents.c.id.in_(ids)).values(**values))


def downgrade() -> None:
    for table in ("kiosks", "enrollment_tokens"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("kind")
    op.drop_table("care_history_requests")
    op.drop_table("care_lines")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE documents SET content = (SELECT convert_from(data, 'UTF8')"
            " FROM document_files f"
            " WHERE f.dmp_ins = documents.dmp_ins AND f.sha256 = documents.sha256)"
            " WHERE mime_type = 'text/plain'"
        )
        if bind.dialect.name == "postgresql"
        else sa.text(
            "UPDATE documents SET content = (SELECT CAST(data AS TEXT) FROM document_files f"
            " WHERE f.dmp_ins = documents.dmp_ins AND f.sha256 = documents.sha256)"
            " WHERE mime_type = 'text/plain'"
        )
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        for column in ("filename", "format_code", "sha256", "size", "mime_type"):
            batch_op.drop_column(column)
    op.drop_table("document_files")
