"""the audit trail split: one chain per partition, one chain of roots over their heads

Entries get a `chain` (the partition that holds them, set by the sealer) and their place
becomes (chain, seq), unique in each partition on PostgreSQL. `audit_chain_heads` keeps each
chain's last entry, `audit_roots` the roots, and `audit_head` becomes the last root's.

Entries sealed before are left as they were sealed, as the legacy chain (chain -1, verified
with their old encoding and genesis, central.audit.service): a migration has no key, so it
could not chain them again, and must not (their HMACs and the heads exported before are the
evidence). The old head becomes the legacy chain's head, and the sealer's first pass writes
root 1 over it.

Going back, the old schema holds one chain only: entries sealed in the partitions' chains are
marked unsealed again (the old sealer chains them after the legacy head, in insertion order),
and the sealer's `audit.head` beside the key, which names a root, must be removed by hand.
Unsealing would launder whatever was edited in the database since the split (the old sealer
would chain it with the key), so there is no way back unless the log verifies first: the
audit key is given to the migration (`central.migrate.alembic_config(url, audit_key=...)`),
and a log that does not verify, or no key while such entries exist, refuses the downgrade.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.orm import Session

import central.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_LEGACY = -1
_EMPTY_HASH = "0" * 64
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}  # 0001's unique(seq) had none


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("audit_entries", sa.Column("chain", sa.SmallInteger(), nullable=True))
    op.execute("UPDATE audit_entries SET chain = -1 WHERE seq IS NOT NULL")  # the legacy chain
    if bind.dialect.name == "postgresql":
        for part in _tables(bind):
            op.execute(f"ALTER TABLE {part} DROP CONSTRAINT {part}_seq_key")
            op.execute(
                f"ALTER TABLE {part} ADD CONSTRAINT {part}_chain_seq_key UNIQUE (chain, seq)"
            )
    else:
        with op.batch_alter_table(
            "audit_entries", schema=None, naming_convention=_SQLITE_NAMES
        ) as batch_op:
            batch_op.drop_constraint("uq_audit_entries_seq", type_="unique")
        op.create_index("ix_audit_chain_seq", "audit_entries", ["chain", "seq"], unique=True)
        _unsealed_index()
    op.create_table(
        "audit_chain_heads",
        sa.Column("chain", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )
    op.create_table(
        "audit_roots",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", central.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("heads", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    head = bind.execute(sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
    if head is not None and head.seq:
        op.execute(
            sa.text(
                "INSERT INTO audit_chain_heads (chain, seq, hash) VALUES (:c, :s, :h)"
            ).bindparams(c=_LEGACY, s=head.seq, h=head.hash)
        )
        op.execute(
            sa.text("UPDATE audit_head SET seq = 0, hash = :h WHERE id = 1").bindparams(
                h=_EMPTY_HASH
            )
        )


def downgrade() -> None:
    bind = op.get_bind()
    _refuse_unless_verified(bind)
    legacy = bind.execute(
        sa.text("SELECT seq, hash FROM audit_chain_heads WHERE chain = :c").bindparams(c=_LEGACY)
    ).first()
    op.execute(
        "UPDATE audit_entries SET seq = NULL, prev_hash = NULL, hash = NULL"
        " WHERE chain IS NOT NULL AND chain <> -1"
    )
    seq, sealed = (legacy.seq, legacy.hash) if legacy is not None else (0, _EMPTY_HASH)
    op.execute(
        sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1").bindparams(
            s=seq, h=sealed
        )
    )
    op.drop_table("audit_roots")
    op.drop_table("audit_chain_heads")
    if bind.dialect.name == "postgresql":
        for part in _tables(bind):
            op.execute(f"ALTER TABLE {part} DROP CONSTRAINT {part}_chain_seq_key")
            op.execute(f"ALTER TABLE {part} ADD CONSTRAINT {part}_seq_key UNIQUE (seq)")
        op.drop_column("audit_entries", "chain")
    else:
        op.drop_index("ix_audit_chain_seq", table_name="audit_entries")
        with op.batch_alter_table("audit_entries", schema=None) as batch_op:
            batch_op.drop_column("chain")
            batch_op.create_unique_constraint("uq_audit_entries_seq", ["seq"])
        _unsealed_index()


def _refuse_unless_verified(bind: sa.Connection) -> None:
    """The entries sealed since the split are unsealed only once the whole log verifies with
    the key (this schema is the one central.audit reads)."""
    sealed = bind.execute(
        sa.text("SELECT count(*) FROM audit_entries WHERE seq IS NOT NULL AND chain <> -1")
    ).scalar_one()
    if not sealed:
        return
    key = context.config.attributes.get("audit_key")
    if not isinstance(key, bytes):
        raise RuntimeError(
            "going below 0015 unseals the audit entries sealed since the split: give the audit"
            " key (central.migrate.alembic_config(url, audit_key=...)) so that the log is"
            " verified first"
        )
    from central.audit.service import AuditLog  # this schema's reader

    with Session(bind=bind) as db:
        result = AuditLog.verify(db, key=key)
    if not result.ok:
        raise RuntimeError(
            f"the audit log does not verify ({result.problem} at {result.first_bad_seq},"
            f" chain {result.chain}): not unsealing it"
        )


def _tables(bind: sa.Connection) -> list[str]:
    """The tables that hold the entries: the partitions (0014), or the one table."""
    parts = bind.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'audit_entries'::regclass ORDER BY c.relname"
        )
    ).scalars()
    return list(parts) or ["audit_entries"]


def _unsealed_index() -> None:
    # SQLite's table copy may not keep the partial index's WHERE: make it again, whole.
    op.execute("DROP INDEX IF EXISTS ix_audit_unsealed")
    op.execute("CREATE INDEX ix_audit_unsealed ON audit_entries (id) WHERE seq IS NULL")
