"""The append-only, hash-chained audit log: one chain per partition, one chain of roots."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime, utcnow

__all__ = ["AuditChainHead", "AuditEntry", "AuditHead", "AuditRoot"]


class AuditEntry(Base):
    """One access, write or refusal.

    A request inserts its entry (no lock); the sealer then gives it its `chain` (the partition
    that holds it), the next `seq` of that chain and its `hash`, which covers every field, the
    chain and the previous entry's hash.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_patient", "patient_ins", "id"),
        Index(
            "ix_audit_unsealed",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
        # Its place; on PostgreSQL unique per partition, one chain living in one partition.
        Index("ix_audit_chain_seq", "chain", "seq", unique=True),
    )

    # INTEGER on SQLite, where only "INTEGER PRIMARY KEY" autoincrements.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    chain: Mapped[int | None] = mapped_column(SmallInteger)  # -1: sealed before the split
    seq: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())  # when it happened (a queued
    # action: the kiosk's time, bounded by central.sync.timing)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=utcnow)
    actor_id: Mapped[str] = mapped_column(String(40))
    actor_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    patient_ins: Mapped[str | None] = mapped_column(String(15))
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(16))  # allowed | refused | done | ...
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """One chain's last sealed entry (the last root lists the same)."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditRoot(Base):
    """What one sealing pass left: every chain's head, chained to the previous root."""

    __tablename__ = "audit_roots"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    heads: Mapped[str] = mapped_column(Text)  # "CHAIN:SEQ:HASH" lines, by chain
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The last root: one row, locked by the sealer (one sealer at a time)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
