"""Patient log-in: one-time codes and sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime

__all__ = ["OneTimeCode", "PatientSession"]


class OneTimeCode(Base):
    """A 6-digit code sent to the patient's contact; stored as a keyed hash."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dmp_ins: Mapped[str] = mapped_column(ForeignKey("dmps.ins", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    tries: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class PatientSession(Base):
    """A logged-in patient (or legal representative)."""

    __tablename__ = "patient_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dmp_ins: Mapped[str] = mapped_column(ForeignKey("dmps.ins", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
