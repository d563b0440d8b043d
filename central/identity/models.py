"""The patient's presence at a counter: their card read and their identity qualified there."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime

__all__ = ["PatientPresence"]


class PatientPresence(Base):
    """An operator session qualified this patient's identity from their card, at this time.

    "The patient is present" (DESIGN.md) means such a row for the session less than 15
    minutes before the change; what an operator may change depends on it.
    """

    __tablename__ = "patient_presences"
    __table_args__ = (Index("ix_patient_presences_session_ins", "session_id", "ins", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    session_id: Mapped[str] = mapped_column(String(64))
    ins: Mapped[str] = mapped_column(String(15))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    # False: found by the traits of an identity document (no card): enough to create the
    # DMP, not to change who reads it or where the codes go (anyone may know such traits).
    by_card: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
