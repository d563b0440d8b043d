"""Professional cards revoked before they expire (lost, stolen), by `central card revoke`.
A revoked card opens no session, its open sessions stop serving, and its queued actions
dated from the revocation on are rejected."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from central.audit.trail import AuditAction, trace_admin
from central.errors import BadRequest
from central.professionals.models import RevokedCard

__all__ = ["revoke_card"]


def revoke_card(db: Session, id_nat: str, *, now: dt.datetime, source: str = "cli") -> bool:
    """Revoke a card by its national id; False if it already was (audited once)."""
    id_nat = id_nat.strip().upper()  # as certificates write it
    if not re.fullmatch(r"[0-9A-Z]{1,40}", id_nat):
        raise BadRequest(
            "l'identifiant national d'une carte compte 1 à 40 lettres et chiffres",
            code="bad_id_nat",
        )
    if db.get(RevokedCard, id_nat) is not None:
        return False
    db.add(RevokedCard(id_nat=id_nat, revoked_at=now, source=source[:200]))
    db.flush()
    trace_admin(db, AuditAction.CARD_REVOKE, now=now, detail=f"card={id_nat}; source={source}")
    return True
