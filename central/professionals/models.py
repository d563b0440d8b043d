"""Operator sessions opened by a professional card's attestation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime
from dmpcommon.people import name_key

__all__ = ["OperatorSession", "RevokedCard"]


def _name_key(context: DefaultExecutionContext) -> str:
    row = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return name_key(str(row["prenom"]), str(row["nom"]))


class OperatorSession(Base):
    """A professional logged in at a kiosk; what we know of them comes from the certificate."""

    __tablename__ = "operator_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the kiosk's session id
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    id_nat: Mapped[str] = mapped_column(String(32), index=True)
    nom: Mapped[str] = mapped_column(String(120))
    prenom: Mapped[str] = mapped_column(String(120))
    # The name folded, both orders (dmpcommon.people.name_key): found by name in one LIKE.
    name_key: Mapped[str | None] = mapped_column(String(500), default=_name_key)
    card_type: Mapped[str] = mapped_column(String(3))
    profession: Mapped[str | None] = mapped_column(String(4))
    structure_id: Mapped[str] = mapped_column(String(20))
    structure_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # The kiosk envelope that closed it: a later envelope cannot be of this session (a
    # stolen kiosk dating actions just before the close).
    closed_seq: Mapped[int | None] = mapped_column(BigInteger)


class RevokedCard(Base):
    """A professional card revoked before it expires (lost, stolen): by `central card revoke`
    or from a revocation list. Checked at login, on every live request and at ingest."""

    __tablename__ = "revoked_cards"

    id_nat: Mapped[str] = mapped_column(String(40), primary_key=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(String(200))  # "cli", or the list's file name
