"""Kiosk enrolment tokens and the kiosk registry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime

__all__ = ["EnrollmentToken", "Kiosk", "Receipt", "RequestNonce"]


class EnrollmentToken(Base):
    """A one-time token a kiosk presents to enrol (single use, expiring; stored hashed)."""

    __tablename__ = "enrollment_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="kiosk")  # central.sync.ClientKind
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Kiosk(Base):
    """An enrolled kiosk: its device key and where its chain stands."""

    __tablename__ = "kiosks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(200))
    # A counter's kiosk, or a system client such as the health insurance's feed: each is let
    # through its own doors only.
    kind: Mapped[str] = mapped_column(String(16), default="kiosk")
    public_key: Mapped[str] = mapped_column(String(64))  # Ed25519, hex
    status: Mapped[str] = mapped_column(String(12))  # active | revoked
    enrolled_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    flagged: Mapped[str | None] = mapped_column(String(200))  # fork, bad signature...
    # The time of the last envelope whose time was within bounds: the next may not be older.
    last_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Receipt(Base):
    """One envelope accepted into the ledger, and its business outcome.

    The unique constraints make a resend harmless: the same (kiosk, seq) or action id can be
    recorded once, and the stored hash tells a resend from a fork.
    """

    __tablename__ = "sync_receipts"
    __table_args__ = (UniqueConstraint("kiosk_id", "seq"), UniqueConstraint("action_id"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    action_id: Mapped[str] = mapped_column(String(36))
    action_type: Mapped[str] = mapped_column(String(64))
    envelope_hash: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(12))  # accepted | rejected
    reason: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class RequestNonce(Base):
    """Nonces of signed sync requests seen inside the replay window (then pruned)."""

    __tablename__ = "sync_request_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
