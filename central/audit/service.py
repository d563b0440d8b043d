"""Appending to, sealing and verifying the keyed, hash-chained audit log.

Appending (central.audit.trail, the only writer) is one INSERT in the caller's transaction,
with no lock: the entry is durable with the event it records. The sealer then takes entries
in insertion order and chains them: next sequence number, previous hash, own hash, all
under the head row's lock, in batches.
Entries wait at most a sealer period (a fraction of a second) unsealed.

Each hash is an HMAC-SHA256, under a key kept outside the database (`audit.key`), over the
previous hash and the entry: whoever holds only the database can edit, delete or reorder
entries but cannot chain them again. Cutting the tail and moving the head back keeps a
valid chain; the head exported earlier (`central audit head`) and checked later
(`central audit verify --expect-head`) catches that, and a rewrite by whoever has the key.

The sealer holds the key, so it must not chain again what someone unsealed in the database
(seq set back to NULL, the head moved back): it remembers the last head it sealed, in memory
and in a file beside the key (`audit.head`), and refuses to seal once that head is no longer
in the chain, unchanged. `central audit verify` checks that file's head too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from central.audit.models import AuditEntry, AuditHead
from central.errors import BadRequest

__all__ = [
    "EMPTY_HEAD",
    "AuditLog",
    "AuditSealer",
    "AuditTampered",
    "ChainHead",
    "ChainProblem",
    "VerifyResult",
    "entry_hash",
    "genesis",
]

log = logging.getLogger(__name__)
_EMPTY_HASH = "0" * 64  # the head row of a chain with no entry (migration 0001)


def genesis(key: bytes) -> str:
    """The previous hash of entry 1: derived from the key, so that a chain checked with
    another key is told apart from a chain tampered with."""
    return hmac.new(key, b"dmp-audit-genesis", hashlib.sha256).hexdigest()


def entry_hash(key: bytes, prev_hash: str, entry: AuditEntry) -> str:
    """HMAC-SHA256 over the previous hash and every field of the entry, in one fixed
    encoding."""
    return hmac.new(
        key, prev_hash.encode() + _encoded(entry, keyed=True), hashlib.sha256
    ).hexdigest()


def _encoded(entry: AuditEntry, *, keyed: bool) -> bytes:
    """The entry's fields in the chain's one encoding; the chains sealed before the key had
    no service time."""
    service_time = [_instant(entry.recorded_at)] if keyed else []
    fields = [
        entry.seq,
        _instant(entry.at),
        *service_time,
        entry.actor_id,
        entry.actor_name,
        entry.role,
        entry.mode,
        entry.patient_ins,
        entry.action,
        entry.outcome,
        entry.detail,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _plain_hash(prev_hash: str, entry: AuditEntry) -> str:
    """The unkeyed SHA-256 of the chains sealed before the key (told apart, never accepted)."""
    return hashlib.sha256(prev_hash.encode() + _encoded(entry, keyed=False)).hexdigest()


_HEAD = re.compile(r"(0|[1-9][0-9]{0,17}):([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last sealed entry: sequence number and hash, written `SEQ:HASH` to be kept
    elsewhere and checked later."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> ChainHead:
        """Read `SEQ:HASH` as `central audit head` prints it."""
        match = _HEAD.fullmatch(text.strip().lower())
        if match is None:
            raise BadRequest("audit head is not SEQ:HASH", code="bad_audit_head")
        return cls(int(match[1]), match[2])


EMPTY_HEAD = ChainHead(0, _EMPTY_HASH)


class ChainProblem(StrEnum):
    """What verification found wrong, at `first_bad_seq`."""

    DELETED = "deleted"  # a sequence number is missing
    LINK_BROKEN = "link_broken"  # the previous hash is not the previous entry's
    CHANGED = "changed"  # the HMAC does not match: edited, moved, or chained without the key
    TAIL_DELETED = "tail_deleted"  # the head row points past the last entry
    WRONG_KEY = "wrong_key"  # entry 1 does not start from this key's genesis
    UNKEYED = "unkeyed"  # entry 1 starts from the unkeyed genesis and hashes without a key
    HEAD_MOVED = "head_moved"  # the head row is not the last entry
    NO_KEY = "no_key"  # there are entries and no key to check them
    EXPECTED_HEAD_MISSING = "expected_head_missing"  # truncated below the exported head
    EXPECTED_HEAD_DIFFERS = "expected_head_differs"  # rewritten since the head was exported


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """ok, or the first bad entry's sequence number and what is wrong with it."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: ChainProblem | None = None
    pending: int = 0  # entries not sealed yet
    head: ChainHead = EMPTY_HEAD  # the last entry checked

    @classmethod
    def bad(cls, entries: int, seq: int, problem: ChainProblem, head: ChainHead) -> VerifyResult:
        """A failed verification."""
        return cls(False, entries, seq, problem, head=head)


class AuditLog:
    """The append-only log."""

    @staticmethod
    def seal(
        db: Session, *, key: bytes, limit: int = 2000, known: ChainHead = EMPTY_HEAD
    ) -> ChainHead:
        """Chain the oldest unsealed entries; the caller commits. Returns the new head.

        `known`: a head this sealer sealed before; if it is no longer in the chain, unchanged,
        someone unsealed or cut what was sealed, and nothing is chained again (AuditTampered).
        """
        head = db.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
        if known.seq and known != ChainHead(head.seq, head.hash):
            still = db.scalar(select(AuditEntry.hash).where(AuditEntry.seq == known.seq))
            if head.seq < known.seq or still is None or not hmac.compare_digest(still, known.hash):
                raise AuditTampered(known)
        entries = db.scalars(
            select(AuditEntry).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id).limit(limit)
        ).all()
        if not entries:
            return ChainHead(head.seq, head.hash) if head.seq else EMPTY_HEAD
        seq, prev = head.seq, head.hash if head.seq else genesis(key)
        for entry in entries:
            seq += 1
            entry.seq, entry.prev_hash = seq, prev
            entry.hash = prev = entry_hash(key, prev, entry)
        head.seq, head.hash = seq, prev
        return ChainHead(seq, prev)

    @staticmethod
    def verify(
        db: Session, *, key: bytes | None, expect: ChainHead | None = None, batch: int = 5000
    ) -> VerifyResult:
        """Walk the sealed chain; name the first entry changed, deleted or moved, and check
        that `expect` (a head exported earlier) is still in it, unchanged."""
        expected_seq, count, last = 1, 0, EMPTY_HEAD
        prev = genesis(key) if key is not None else ""
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
                if key is None:
                    return VerifyResult.bad(count, expected_seq, ChainProblem.NO_KEY, last)
                if entry.seq != expected_seq:
                    return VerifyResult.bad(count, expected_seq, ChainProblem.DELETED, last)
                if entry.prev_hash != prev:
                    problem = _first_link(key, entry) if entry.seq == 1 else None
                    return VerifyResult.bad(
                        count, entry.seq, problem or ChainProblem.LINK_BROKEN, last
                    )
                if not hmac.compare_digest(entry_hash(key, prev, entry), entry.hash or ""):
                    return VerifyResult.bad(count, entry.seq, ChainProblem.CHANGED, last)
                if (
                    expect is not None
                    and entry.seq == expect.seq
                    and not hmac.compare_digest(entry.hash or "", expect.hash)
                ):
                    return VerifyResult.bad(
                        count, entry.seq, ChainProblem.EXPECTED_HEAD_DIFFERS, last
                    )
                prev, expected_seq = entry.hash or "", expected_seq + 1
                count += 1
                last = ChainHead(count, prev)
            db.expunge_all()  # a long chain is walked in constant memory
        head = db.get(AuditHead, 1)
        if head is None or head.seq > count:
            return VerifyResult.bad(count, expected_seq, ChainProblem.TAIL_DELETED, last)
        if head.seq != count or (count and head.hash != prev):
            return VerifyResult.bad(count, head.seq, ChainProblem.HEAD_MOVED, last)
        if expect is not None:
            if expect.seq > count:
                return VerifyResult.bad(count, count + 1, ChainProblem.EXPECTED_HEAD_MISSING, last)
            if expect.seq == 0 and expect != EMPTY_HEAD:
                return VerifyResult.bad(count, 0, ChainProblem.EXPECTED_HEAD_DIFFERS, last)
        pending = db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None))
        )
        return VerifyResult(True, count, pending=pending or 0, head=last)

    @staticmethod
    def head(db: Session, *, key: bytes | None) -> VerifyResult:
        """The chain's head, to be exported; its entry is checked (not the whole chain: that
        is `verify`), so that what is exported was sealed with this key."""
        row = db.get(AuditHead, 1)
        if row is None or row.seq == 0:
            return VerifyResult(True, 0)
        seen = ChainHead(row.seq, row.hash)
        if key is None:
            return VerifyResult.bad(0, row.seq, ChainProblem.NO_KEY, seen)
        entry = db.scalars(select(AuditEntry).where(AuditEntry.seq == row.seq)).one_or_none()
        if entry is None:
            return VerifyResult.bad(0, row.seq, ChainProblem.TAIL_DELETED, seen)
        if entry.hash != row.hash:
            return VerifyResult.bad(0, row.seq, ChainProblem.HEAD_MOVED, seen)
        if not hmac.compare_digest(entry_hash(key, entry.prev_hash or "", entry), row.hash):
            # Another key, or no key at all, shows from entry 1: say so rather than "changed".
            first = db.scalars(select(AuditEntry).where(AuditEntry.seq == 1)).one_or_none()
            if first is not None and first.prev_hash != genesis(key):
                problem = _first_link(key, first)
                if problem is not None:
                    return VerifyResult.bad(0, 1, problem, seen)
            return VerifyResult.bad(0, row.seq, ChainProblem.CHANGED, seen)
        return VerifyResult(True, row.seq, head=seen)

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


class AuditTampered(Exception):
    """A head the sealer sealed is no longer in the chain, unchanged: it stops sealing."""

    def __init__(self, known: ChainHead) -> None:
        super().__init__(f"sealed head {known.seq} no longer in the chain")
        self.known = known


def read_anchor(path: Path | None) -> ChainHead:
    """The head kept in `audit.head` (EMPTY_HEAD if there is none)."""
    if path is None or not path.exists():
        return EMPTY_HEAD
    return ChainHead.parse(path.read_text(encoding="ascii"))


def write_anchor(path: Path, head: ChainHead) -> None:
    """Replace `audit.head` whole (0600): a crash leaves the old head or the new one."""
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".audit.head.")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(f"{head}\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(draft, path)


class AuditSealer:
    """Seals new entries every `period_s` on a thread of its own; remembers the last head it
    sealed (in `anchor`, a file outside the database, when given)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        key: bytes,
        period_s: float = 0.2,
        anchor: Path | None = None,
    ) -> None:
        self.sessions = sessions
        self.key = key
        self.period_s = period_s
        self.anchor = anchor
        self.known = read_anchor(anchor)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Seal everything pending now; returns how many entries were sealed."""
        total = 0
        while True:
            with self.sessions() as db, db.begin():
                before = self.known
                head = AuditLog.seal(db, key=self.key, known=before)
            sealed = head.seq - before.seq if head.seq > before.seq else 0
            if head != before:
                self.known = head
                if self.anchor is not None:
                    write_anchor(self.anchor, head)
            total += max(sealed, 0)
            if head == before:
                return total

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="audit-sealer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        try:
            self.run_once()  # nothing left unsealed behind a clean stop
        except AuditTampered as exc:
            log.critical("audit: the head sealed at %s is no longer in the chain", exc.known.seq)

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.run_once()
            except AuditTampered as exc:
                log.critical(
                    "audit: the head sealed at %s is no longer in the chain: sealing stopped,"
                    " run `central audit verify`",
                    exc.known.seq,
                )
            except Exception:  # a database hiccup must not end sealing
                log.exception("audit sealing pass failed")


def _first_link(key: bytes, entry: AuditEntry) -> ChainProblem | None:
    """Why entry 1 does not start from this key's genesis: sealed before the key existed,
    sealed under another key, or (None) its link edited."""
    if entry.prev_hash == _EMPTY_HASH and _plain_hash(_EMPTY_HASH, entry) == entry.hash:
        return ChainProblem.UNKEYED
    if entry_hash(key, entry.prev_hash or "", entry) == entry.hash:
        return None  # this key sealed it: the link itself was edited
    return ChainProblem.WRONG_KEY
