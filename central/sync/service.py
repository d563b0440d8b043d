"""Kiosks: one-time enrolment tokens, enrolment, revocation, and clearing a flag."""

from __future__ import annotations

import binascii
import datetime as dt
import secrets
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit.trail import AuditAction, trace_admin
from central.errors import BadRequest, Conflict, Forbidden, Gone, NotFound, Unauthenticated
from central.security import hash_secret, new_enrollment_token
from central.sync.models import EnrollmentToken, Kiosk
from dmpcommon.envelope import GENESIS_HASH

__all__ = ["ClientKind", "clear", "enroll", "issue_token", "refuse_unusable", "revoke"]


class ClientKind(StrEnum):
    """What an enrolled client of the service is: each kind is let through its own doors only
    (a kiosk through the operators' and the sync's, the health insurance's feed through the
    care history's)."""

    KIOSK = "kiosk"
    INSURANCE = "insurance"


def issue_token(
    db: Session,
    *,
    key: bytes,
    site: str,
    hours: int,
    now: dt.datetime,
    kind: ClientKind = ClientKind.KIOSK,
) -> str:
    """A one-time enrolment token for a client of this kind (a kiosk unless told) at this
    site, valid `hours`; stored hashed, returned once."""
    if not site.strip() or len(site) > 200:
        raise BadRequest("a site is named, in at most 200 characters")
    if not 1 <= hours <= 24 * 30:
        raise BadRequest("a token is valid between 1 hour and 30 days")
    token = new_enrollment_token()
    db.add(
        EnrollmentToken(
            token_hash=hash_secret(key, token, purpose="enroll"),
            site=site.strip(),
            kind=kind.value,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    db.flush()
    return token


def enroll(db: Session, *, key: bytes, token: str, public_key_hex: str, now: dt.datetime) -> Kiosk:
    """Spend the token and register the client's Ed25519 public key, of the token's kind."""
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
    kind = ClientKind(row.kind)
    kiosk = Kiosk(
        id=f"{kind.value}-{secrets.token_hex(6)}",
        site=row.site,
        kind=kind.value,
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
    """Refuse everything from this kiosk from now on (audited)."""
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise NotFound(f"no kiosk {kiosk_id}")
    if kiosk.status != "revoked":
        kiosk.status, kiosk.revoked_at = "revoked", now
        trace_admin(db, AuditAction.KIOSK_REVOKE, now=now, detail=f"kiosk={kiosk_id}")
    return kiosk


def clear(db: Session, kiosk_id: str, now: dt.datetime) -> tuple[Kiosk, str]:
    """Let a flagged kiosk sync and serve again, once an administrator has looked at why it
    was flagged (audited, with the reason it had); returns the kiosk and that reason."""
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise NotFound(f"no kiosk {kiosk_id}")
    if kiosk.flagged is None:
        raise Conflict(f"kiosk {kiosk_id} is not flagged", code="kiosk_not_flagged")
    reason, kiosk.flagged = kiosk.flagged, None
    trace_admin(db, AuditAction.KIOSK_CLEAR, now=now, detail=f"kiosk={kiosk_id}; was: {reason}")
    return kiosk, reason


def refuse_unusable(status: str, flagged: str | None) -> None:
    """Refuse a revoked or flagged kiosk (its signature alone does not make it usable)."""
    if status != "active":
        raise Forbidden("this kiosk is revoked", code="kiosk_revoked")
    if flagged is not None:
        raise Forbidden(
            "this kiosk is flagged: an administrator must clear it", code="kiosk_flagged"
        )
