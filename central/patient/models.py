"""Patient log-in: one-time codes and sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime

__all__ = ["AuthAttempt", "OneTimeCode", "OnlineCreation", "PatientSession"]


class OneTimeCode(Base):
    """A 6-digit code sent to the patient's contact; stored as a keyed hash."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dmp_ins: Mapped[str] = mapped_column(ForeignKey("dmps.ins", ondelete="CASCADE"), index=True)
    # What was asked (keyed hash of the number and birth date typed): a code answers only
    # the question it was sent for, and a wrong try counts only there.
    subject_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The records whose contact received this code (comma-separated INS): what it opens.
    reach: Mapped[str | None] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    tries: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class PatientSession(Base):
    """A logged-in patient (or legal representative)."""

    __tablename__ = "patient_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dmp_ins: Mapped[str] = mapped_column(ForeignKey("dmps.ins", ondelete="CASCADE"))  # shown
    # Who logged in, when known: the record's own person, or the parent whose children's
    # records this session may also show (recorded at their creation).
    person_nir: Mapped[str | None] = mapped_column(String(15))
    # The records this session proved a right to (comma-separated INS), whatever else the
    # person may open: a code reaches the records whose contact received it.
    reach: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class OnlineCreation(Base):
    """A patient creating their DMP in the portal: a proof tried (NIR, birth date, Vitale
    serial), and once proven the code sent to the contact, waiting to come back. Rows count
    the tries per NIR (keyed hash: no NIR stored before the DMP exists)."""

    __tablename__ = "online_creations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    nir_hash: Mapped[str] = mapped_column(String(64), index=True)
    proven: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str | None] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(254))
    code_hash: Mapped[str | None] = mapped_column(String(64))
    information_version: Mapped[str | None] = mapped_column(String(32))
    etreat: Mapped[bool] = mapped_column(Boolean, default=True)
    btg: Mapped[bool] = mapped_column(Boolean, default=True)
    masked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    tries: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class AuthAttempt(Base):
    """One try at a patient's door (a code asked, a code or an activation typed, an online
    creation), kept a day to throttle by who is asked, by source address and overall. Only
    keyed hashes: the same row whether or not the person asked about exists."""

    __tablename__ = "patient_auth_attempts"
    __table_args__ = (
        Index("ix_patient_auth_attempts_subject", "subject_hash", "at"),
        Index("ix_patient_auth_attempts_source", "source_hash", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    door: Mapped[str] = mapped_column(String(16))
    subject_hash: Mapped[str] = mapped_column(String(64))
    source_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    failed: Mapped[bool] = mapped_column(Boolean)
