"""Ingest of the kiosks' signed, sealed queues: exactly once in effect.

For each envelope of a batch, in order: the kiosk is known and active, the signature is the
kiosk's, the sequence follows and the chain holds. Then the payload is opened, the action
applied, and the receipt recorded, in the batch's one transaction. A resend of the same bytes
gets the same receipt; the same sequence or action id with other bytes is a fork: refused,
and the kiosk flagged. A gap is answered with the sequence expected. An action that breaks
a domain rule is recorded with the outcome "rejected: reason" and does not block the rest.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.errors import Conflict, Forbidden, NotFound, ServiceError
from central.sync.models import Kiosk, Receipt
from dmpcommon.envelope import ActionEnvelope, EnvelopeError, envelope_hash
from dmpcommon.sealing import SealingError, open_sealed
from dmpcommon.signing import SignatureError, verify

__all__ = ["Applier", "ItemResult", "ingest"]

# apply(db, kiosk, envelope, payload, at): raise a ServiceError to reject the action.
Applier = Callable[[Session, Kiosk, ActionEnvelope, dict[str, Any], dt.datetime], None]


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The answer for one envelope."""

    seq: int
    status: str  # recorded | gap
    outcome: str | None = None  # accepted | rejected
    reason: str | None = None
    expected: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "seq": self.seq,
                "status": self.status,
                "outcome": self.outcome,
                "reason": self.reason,
                "expected": self.expected,
            }.items()
            if v is not None
        }


def _flag(kiosk: Kiosk, problem: str, code: str, detail: str = "") -> Conflict:
    """Flag the kiosk; the flag (and the batch's envelopes before this one) are kept."""
    kiosk.flagged = problem[:200]
    return Conflict(problem + detail, code=code, keep=True)


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError("not base64") from exc


def ingest(
    db: Session,
    *,
    kiosk_id: str,
    items: list[tuple[str, str]],
    sealing_key: bytes,
    appliers: dict[str, Applier],
    now: dt.datetime,
) -> list[ItemResult]:
    """Ingest a batch of (envelope base64, signature base64); the caller commits."""
    kiosk = db.scalars(select(Kiosk).where(Kiosk.id == kiosk_id).with_for_update()).first()
    if kiosk is None:
        raise NotFound("unknown kiosk", code="unknown_kiosk")
    if kiosk.status != "active":
        raise Forbidden("this kiosk is revoked", code="kiosk_revoked")
    public_key = bytes.fromhex(kiosk.public_key)
    results: list[ItemResult] = []
    for envelope_b64, signature_b64 in items:
        try:
            data, signature = _b64(envelope_b64), _b64(signature_b64)
            verify(public_key, data, signature)
            envelope = ActionEnvelope.decode(data)
        except (EnvelopeError, SignatureError) as exc:
            raise _flag(
                kiosk, f"bad envelope or signature after seq {kiosk.last_seq}", "bad_signature"
            ) from exc
        if envelope.kiosk_id != kiosk.id:
            raise _flag(kiosk, f"envelope for another kiosk at seq {envelope.seq}", "wrong_kiosk")
        digest = envelope_hash(data)
        known = db.scalars(
            select(Receipt).where(
                (Receipt.kiosk_id == kiosk.id) & (Receipt.seq == envelope.seq)
                | (Receipt.action_id == envelope.action_id)
            )
        ).first()
        if known is not None:
            if known.envelope_hash != digest or known.seq != envelope.seq:
                raise _flag(
                    kiosk, f"fork at seq {envelope.seq}", "fork", ": other bytes already recorded"
                )
            results.append(ItemResult(known.seq, "recorded", known.outcome, known.reason))
            continue
        if envelope.seq != kiosk.last_seq + 1:
            results.append(ItemResult(envelope.seq, "gap", expected=kiosk.last_seq + 1))
            break
        if envelope.prev_hash != kiosk.last_hash:
            raise _flag(kiosk, f"chain broken at seq {envelope.seq}", "fork")
        outcome, reason = _apply(db, kiosk, envelope, sealing_key, appliers)
        db.add(
            Receipt(
                kiosk_id=kiosk.id,
                seq=envelope.seq,
                action_id=envelope.action_id,
                action_type=envelope.action_type,
                envelope_hash=digest,
                outcome=outcome,
                reason=reason,
                received_at=now,
            )
        )
        kiosk.last_seq, kiosk.last_hash = envelope.seq, digest
        db.flush()
        results.append(ItemResult(envelope.seq, "recorded", outcome, reason))
    return results


def _apply(
    db: Session,
    kiosk: Kiosk,
    envelope: ActionEnvelope,
    sealing_key: bytes,
    appliers: dict[str, Applier],
) -> tuple[str, str | None]:
    applier = appliers.get(envelope.action_type)
    if applier is None:
        return "rejected", "unsupported_action_type"
    try:
        payload = json.loads(
            open_sealed(sealing_key, envelope.enc, envelope.ciphertext, aad=envelope.aad())
        )
    except (SealingError, json.JSONDecodeError):
        return "rejected", "payload_does_not_open"
    if not isinstance(payload, dict):
        return "rejected", "malformed_payload"
    at = dt.datetime.fromisoformat(envelope.created_at)
    # A rejected action leaves nothing half-applied, but the trace of a refusal is kept.
    savepoint = db.begin_nested()
    try:
        applier(db, kiosk, envelope, payload, at)
    except ServiceError as exc:
        (savepoint.commit if exc.keep else savepoint.rollback)()
        return "rejected", exc.code
    except (KeyError, TypeError, ValueError):  # includes pydantic's ValidationError
        savepoint.rollback()
        return "rejected", "malformed_payload"
    savepoint.commit()
    return "accepted", None
