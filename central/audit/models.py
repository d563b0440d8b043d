"""The append-only, hash-chained audit log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime, utcnow

__all__ = ["AuditEntry", "AuditHead"]


class AuditEntry(Base):
    """One access, write or refusal.

    A request inserts its entry (no lock); the sealer then gives it the next `seq` and its
    `hash`, which covers every field and the previous entry's hash.
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
    )

    # INTEGER on SQLite, where only "INTEGER PRIMARY KEY" autoincrements.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
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


class AuditHead(Base):
    """The chain's last sealed entry: one row, locked by the sealer (and catches truncation)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
