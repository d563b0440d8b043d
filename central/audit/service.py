"""Appending to, sealing and verifying the hash-chained audit log.

Appending (central.audit.trail, the only writer) is one INSERT in the caller's transaction,
with no lock: the entry is durable with the event it records. The sealer then takes entries
in insertion order and chains them: next sequence number, previous hash, own hash, all
under the head row's lock, in batches.
Entries wait at most a sealer period (a fraction of a second) unsealed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from central.audit.models import AuditEntry, AuditHead

__all__ = ["GENESIS", "AuditLog", "AuditSealer", "VerifyResult", "entry_hash"]

log = logging.getLogger(__name__)
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
    pending: int = 0  # entries not sealed yet


class AuditLog:
    """The append-only log."""

    @staticmethod
    def seal(db: Session, *, limit: int = 2000) -> int:
        """Chain the oldest unsealed entries; the caller commits. Returns how many."""
        head = db.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
        entries = db.scalars(
            select(AuditEntry).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id).limit(limit)
        ).all()
        seq, prev = head.seq, head.hash
        for entry in entries:
            seq += 1
            entry.seq, entry.prev_hash = seq, prev
            entry.hash = prev = entry_hash(prev, entry)
        head.seq, head.hash = seq, prev
        return len(entries)

    @staticmethod
    def verify(db: Session, *, batch: int = 5000) -> VerifyResult:
        """Walk the sealed chain; name the first entry changed, deleted or moved."""
        expected_seq, prev, count = 1, GENESIS, 0
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
                prev, expected_seq = entry.hash, expected_seq + 1
                count += 1
        head = db.get(AuditHead, 1)
        if head is None or head.seq != expected_seq - 1 or head.hash != prev:
            return VerifyResult(False, count, expected_seq, "deleted (entries missing at the end)")
        pending = db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None))
        )
        return VerifyResult(True, count, pending=pending or 0)

    @staticmethod
    def for_patient(db: Session, ins: str, *, limit: int = 500) -> list[AuditEntry]:
        """The entries about one patient, newest first (sealed or not yet)."""
        return list(
            db.scalars(
                select(AuditEntry)
                .where(AuditEntry.patient_ins == ins)
                .order_by(AuditEntry.id.desc())
                .limit(limit)
            )
        )


class AuditSealer:
    """Seals new entries every `period_s` on a thread of its own."""

    def __init__(self, sessions: sessionmaker[Session], *, period_s: float = 0.2) -> None:
        self.sessions = sessions
        self.period_s = period_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Seal everything pending now; returns how many entries were sealed."""
        total = 0
        while True:
            with self.sessions() as db, db.begin():
                sealed = AuditLog.seal(db)
            total += sealed
            if sealed == 0:
                return total

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="audit-sealer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.run_once()  # nothing left unsealed behind a clean stop

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.run_once()
            except Exception:  # a database hiccup must not end sealing
                log.exception("audit sealing pass failed")
