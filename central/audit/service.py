"""Appending to and verifying the hash-chained audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.models import AuditEntry, AuditHead

__all__ = ["GENESIS", "AuditLog", "VerifyResult", "entry_hash"]

GENESIS = "0" * 64


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """SHA-256 over the previous hash and every field of the entry, in one fixed encoding."""
    fields = [
        entry.seq,
        entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        entry.actor_id,
        entry.actor_name,
        entry.role,
        entry.mode,
        entry.patient_ins,
        entry.action,
        entry.outcome,
        entry.detail,
    ]
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(prev_hash.encode() + payload).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """ok, or the first bad entry's sequence number and what is wrong with it."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str = ""


class AuditLog:
    """The append-only log. Appends happen inside the caller's transaction."""

    @staticmethod
    def append(
        db: Session,
        *,
        actor: Actor,
        action: str,
        outcome: str,
        patient_ins: str | None,
        mode: str = "normal",
        detail: str = "",
        now: dt.datetime,
    ) -> AuditEntry:
        """Add an entry after the head, which is locked until the caller's commit."""
        head = db.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
        # Keep the chain's timestamps in order even if the clock steps back.
        last_at = db.scalar(select(AuditEntry.at).where(AuditEntry.seq == head.seq))
        at = max(now, last_at) if last_at is not None else now
        entry = AuditEntry(
            seq=head.seq + 1,
            at=at,
            actor_id=actor.id,
            actor_name=actor.name,
            role=actor.role.value,
            mode=mode,
            patient_ins=patient_ins,
            action=action,
            outcome=outcome,
            detail=detail,
            prev_hash=head.hash,
            hash="",
        )
        entry.hash = entry_hash(head.hash, entry)
        db.add(entry)
        head.seq, head.hash = entry.seq, entry.hash
        db.flush()
        return entry

    @staticmethod
    def verify(db: Session, *, batch: int = 5000) -> VerifyResult:
        """Walk the chain; name the first entry changed, deleted or moved."""
        expected_seq, prev, count = 1, GENESIS, 0
        last_seq = 0
        while True:
            rows = db.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq >= expected_seq)
                .order_by(AuditEntry.seq)
                .limit(batch)
            ).all()
            if not rows:
                break
            for entry in rows:
                if entry.seq != expected_seq:
                    return VerifyResult(False, count, expected_seq, "deleted")
                if entry.prev_hash != prev:
                    return VerifyResult(
                        False, count, entry.seq, "link broken (moved or deleted before it)"
                    )
                if entry_hash(prev, entry) != entry.hash:
                    return VerifyResult(False, count, entry.seq, "changed or moved")
                prev, expected_seq, last_seq = entry.hash, expected_seq + 1, entry.seq
                count += 1
        head = db.get(AuditHead, 1)
        if head is None or head.seq != last_seq or head.hash != prev:
            return VerifyResult(False, count, last_seq + 1, "deleted (entries missing at the end)")
        return VerifyResult(True, count)

    @staticmethod
    def for_patient(db: Session, ins: str, *, limit: int = 500) -> list[AuditEntry]:
        """The entries about one patient, newest first."""
        return list(
            db.scalars(
                select(AuditEntry)
                .where(AuditEntry.patient_ins == ins)
                .order_by(AuditEntry.seq.desc())
                .limit(limit)
            )
        )
