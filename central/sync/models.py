"""Kiosk enrolment tokens and the kiosk registry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime

__all__ = ["EnrollmentToken", "Kiosk"]


class EnrollmentToken(Base):
    """A one-time token a kiosk presents to enrol (single use, expiring; stored hashed)."""

    __tablename__ = "enrollment_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Kiosk(Base):
    """An enrolled kiosk: its device key and where its chain stands."""

    __tablename__ = "kiosks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(String(64))  # Ed25519, hex
    status: Mapped[str] = mapped_column(String(12))  # active | revoked
    enrolled_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    flagged: Mapped[str | None] = mapped_column(String(200))  # fork, bad signature...
