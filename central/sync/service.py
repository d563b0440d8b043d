"""Kiosk enrolment (one-time token) and revocation."""

from __future__ import annotations

import binascii
import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.errors import BadRequest, Gone, NotFound, Unauthenticated
from central.security import hash_secret
from central.sync.models import EnrollmentToken, Kiosk
from dmpcommon.envelope import GENESIS_HASH

__all__ = ["enroll", "revoke"]


def enroll(db: Session, *, key: bytes, token: str, public_key_hex: str, now: dt.datetime) -> Kiosk:
    """Spend the token and register the kiosk's Ed25519 public key."""
    try:
        public_key = bytes.fromhex(public_key_hex)
    except (ValueError, binascii.Error) as exc:
        raise BadRequest("public_key is not hex") from exc
    if len(public_key) != 32:
        raise BadRequest("an Ed25519 public key has 32 bytes")
    row = db.scalar(
        select(EnrollmentToken)
        .where(EnrollmentToken.token_hash == hash_secret(key, token, purpose="enroll"))
        .with_for_update()
    )
    if row is None:
        raise Unauthenticated("unknown enrolment token", code="bad_token")
    if row.used_at is not None:
        raise Gone("enrolment token already used", code="token_used")
    if row.expires_at <= now:
        raise Gone("enrolment token expired", code="token_expired")
    row.used_at = now
    kiosk = Kiosk(
        id=f"kiosk-{secrets.token_hex(6)}",
        site=row.site,
        public_key=public_key.hex(),
        status="active",
        enrolled_at=now,
        last_seq=0,
        last_hash=GENESIS_HASH,
    )
    db.add(kiosk)
    db.flush()
    return kiosk


def revoke(db: Session, kiosk_id: str, now: dt.datetime) -> Kiosk:
    """Refuse everything from this kiosk from now on."""
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise NotFound(f"no kiosk {kiosk_id}")
    if kiosk.status != "revoked":
        kiosk.status, kiosk.revoked_at = "revoked", now
    return kiosk
