"""Appending to, sealing and verifying the keyed, hash-chained audit log.

Appending (central.audit.trail, the only writer) is one INSERT in the caller's transaction,
with no lock: the entry is durable with the event it records. The sealer then takes entries
in insertion order and chains them, in batches, under the head row's lock (one sealer at a
time). Entries wait at most a sealer period (a fraction of a second) unsealed.

One chain per partition. On PostgreSQL the entries are split by patient (central.partitioning):
an entry belongs to chain k, the partition `audit_entries_pK` that holds it when it is sealed
(SQLite has one table: chain 0). Each chain has its own genesis, derived from the key and its
number, and each entry's hash covers its chain, so an entry moved to another chain is caught
as surely as an edited one. `audit_chain_heads` keeps each chain's last entry.

One root over the heads. Each sealing pass that changed a chain writes a root
(`audit_roots`): the canonical text of every chain's (chain, seq, hash), chained to the
previous root by an HMAC. `audit_head` is the last root; `central audit head` exports it
(`SEQ:HASH`, SEQ a root's number) and `central audit verify --expect-head` checks that it is
still there, unchanged. Verification walks every chain, then the roots: every head a root
lists must still be in its chain with the same hash, which is what catches a chain cut below
what a root (or an exported head) once saw.

Each hash is an HMAC-SHA256, under a key kept outside the database (`audit.key`): whoever
holds only the database can edit, delete, reorder or move entries and roots but cannot chain
them again. Cutting every chain's tail back to what an older root lists, and dropping the
roots after it, keeps a valid log; the head exported earlier catches that, and a rewrite by
whoever has the key.

The sealer holds the key, so it must not chain again what someone unsealed in the database:
it remembers the last root it wrote, in memory and in a file beside the key (`audit.head`),
and refuses to seal once that root is gone or changed, or once the chain heads it would
extend are not the ones the last root lists. `central audit verify` checks that file's head
too.

Entries sealed before the split (migration 0015) are kept as they were, as the legacy chain
(chain -1): verified with the encoding and genesis they were sealed with, and listed by every
root like any chain. They are never chained again: re-chaining them would need the proof
that they were intact, which only a full walk with the key gives, and would erase the very
evidence (their HMACs, the heads exported before) that such a walk relies on. A head exported
before the split names a legacy entry; `--expect-head` still accepts it, checked against that
entry (a root and an entry cannot share a hash under one key).
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    bindparam,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    tuple_,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from central.audit.models import AuditChainHead, AuditEntry, AuditHead, AuditRoot
from central.db import utcnow
from central.errors import BadRequest

__all__ = [
    "EMPTY_HEAD",
    "LEGACY_CHAIN",
    "AuditLog",
    "AuditSealer",
    "AuditTampered",
    "ChainHead",
    "ChainProblem",
    "VerifyResult",
    "entry_hash",
    "genesis",
    "heads_text",
    "root_genesis",
    "root_hash",
]

log = logging.getLogger(__name__)
_EMPTY_HASH = "0" * 64  # the head row with no root yet (migration 0001)
LEGACY_CHAIN = -1  # the one chain sealed before the split (migration 0015)
_FIELDS = ("actor_id", "actor_name", "role", "mode", "patient_ins", "action", "outcome", "detail")
_PARTITION = re.compile(r"(?:[a-z_]+\.)?(audit_entries(?:_p([0-9]{1,4}))?)")


def genesis(key: bytes, chain: int) -> str:
    """The previous hash of a chain's entry 1: derived from the key (a chain checked with
    another key is told apart from a chain tampered with) and from the chain's number."""
    label = b"dmp-audit-genesis" if chain == LEGACY_CHAIN else f"dmp-audit-genesis:{chain}".encode()
    return hmac.new(key, label, hashlib.sha256).hexdigest()


def root_genesis(key: bytes) -> str:
    """The previous hash of root 1."""
    return hmac.new(key, b"dmp-audit-root-genesis", hashlib.sha256).hexdigest()


def entry_hash(key: bytes, prev_hash: str, entry: AuditEntry) -> str:
    """HMAC-SHA256 over the previous hash and every field of the entry, its chain included,
    in one fixed encoding (the legacy chain: the encoding it was sealed with)."""
    return _mac(key, prev_hash, _encoded(entry, chain=entry.chain, seq=entry.seq, keyed=True))


def heads_text(heads: Iterable[tuple[int, int, str]]) -> str:
    """The canonical text of chain heads a root lists: `CHAIN:SEQ:HASH` lines, by chain."""
    return "\n".join(f"{c}:{s}:{h}" for c, s, h in sorted(heads))


def root_hash(key: bytes, prev_hash: str, *, seq: int, at: dt.datetime, heads: str) -> str:
    """HMAC-SHA256 over the previous root's hash and this root's number, time and heads."""
    payload = json.dumps(["root", seq, _instant(at), heads], separators=(",", ":")).encode()
    return hmac.new(key, prev_hash.encode() + payload, hashlib.sha256).hexdigest()


def _mac(key: bytes, prev_hash: str, payload: bytes) -> str:
    return hmac.new(key, prev_hash.encode() + payload, hashlib.sha256).hexdigest()


def _encoded(entry: Any, *, chain: int | None, seq: int | None, keyed: bool) -> bytes:
    """An entry's fields (an AuditEntry or a row of its columns) in the chain's one encoding.
    The chains sealed before the key had no service time, the one before the split no chain:
    the list's length tells the three apart."""
    service_time = [_instant(entry.recorded_at)] if keyed else []
    fields = [seq, _instant(entry.at), *service_time, *(getattr(entry, f) for f in _FIELDS)]
    if keyed and chain != LEGACY_CHAIN:
        fields.insert(0, chain)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _plain_hash(prev_hash: str, entry: AuditEntry) -> str:
    """The unkeyed SHA-256 of the chains sealed before the key (told apart, never accepted)."""
    payload = _encoded(entry, chain=entry.chain, seq=entry.seq, keyed=False)
    return hashlib.sha256(prev_hash.encode() + payload).hexdigest()


def _parse_heads(text: str) -> dict[int, tuple[int, str]] | None:
    """A root's heads by chain; None if the text is not in the canonical form."""
    heads: dict[int, tuple[int, str]] = {}
    for line in text.split("\n") if text else []:
        match = re.fullmatch(r"(-?[0-9]{1,5}):([1-9][0-9]{0,17}):([0-9a-f]{64})", line)
        if match is None:
            return None
        heads[int(match[1])] = (int(match[2]), match[3])
    if heads_text((c, s, h) for c, (s, h) in heads.items()) != text:
        return None
    return heads


_HEAD = re.compile(r"(0|[1-9][0-9]{0,17}):([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class ChainHead:
    """A root (or, exported before the split, a legacy entry): number and hash, written
    `SEQ:HASH` to be kept elsewhere and checked later."""

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
    """What verification found wrong, at `first_bad_seq` of `chain` (of the roots if None)."""

    DELETED = "deleted"  # a sequence number is missing
    LINK_BROKEN = "link_broken"  # the previous hash is not the previous entry's
    CHANGED = "changed"  # the HMAC does not match: edited, moved, or chained without the key
    TAIL_DELETED = "tail_deleted"  # a head (row or root) points past the last entry
    WRONG_KEY = "wrong_key"  # entry 1 does not start from this key's genesis
    UNKEYED = "unkeyed"  # entry 1 starts from the unkeyed genesis and hashes without a key
    HEAD_MOVED = "head_moved"  # the head row is not the last entry
    NO_KEY = "no_key"  # there are entries and no key to check them
    EXPECTED_HEAD_MISSING = "expected_head_missing"  # truncated below the exported head
    EXPECTED_HEAD_DIFFERS = "expected_head_differs"  # rewritten since the head was exported
    REWRITTEN = "rewritten"  # an entry differs from the head a root lists: chained again
    UNROOTED = "unrooted"  # entries sealed after the last root: roots cut at the end
    UNCHAINED = "unchained"  # a row that looks sealed (seq set) in no chain walked: forged


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """ok, or the first bad entry (its chain and sequence number, or a root's number when
    `chain` is None) and what is wrong with it."""

    ok: bool
    entries: int  # entries checked
    first_bad_seq: int | None = None
    problem: ChainProblem | None = None
    pending: int = 0  # entries not sealed yet
    head: ChainHead = EMPTY_HEAD  # the last root checked
    chain: int | None = None  # the chain of first_bad_seq; None: a root
    chains: int = 0  # chains checked
    roots: int = 0  # roots checked
    root: int | None = None  # the root that lists the bad entry, if one does

    @classmethod
    def bad(
        cls,
        walk: _Walk,
        seq: int,
        problem: ChainProblem,
        *,
        chain: int | None,
        root: int | None = None,
    ) -> VerifyResult:
        """A failed verification."""
        return cls(
            False,
            walk.entries,
            seq,
            problem,
            head=walk.last_root,
            chain=chain,
            chains=len(walk.ends),
            roots=walk.last_root.seq,
            root=root,
        )


@dataclass
class _Walk:
    """What a verification has seen so far: a few numbers per chain, never the entries."""

    entries: int = 0
    ends: dict[int, tuple[int, str]] = field(default_factory=dict)  # chain -> last seq, hash
    last_root: ChainHead = EMPTY_HEAD
    legacy_expected: bool = False  # the expected head is a legacy entry, found unchanged


class _Bad(Exception):
    """Verification stops at the first problem (internal)."""

    def __init__(self, result: VerifyResult) -> None:
        self.result = result


class AuditLog:
    """The append-only log."""

    @staticmethod
    def seal(
        db: Session, *, key: bytes, limit: int = 2000, known: ChainHead = EMPTY_HEAD
    ) -> ChainHead:
        """Chain the oldest unsealed entries, each in its partition's chain, and write the root
        over every chain's head; the caller commits. Returns the last root.

        `known`: the root this sealer wrote last; if it is gone or changed, or the heads it
        would build on are not the ones the last root lists, someone unsealed or cut what was
        sealed, and nothing is chained again (AuditTampered).
        """
        return _seal(db, key=key, limit=limit, known=known)[0]

    @staticmethod
    def verify(
        db: Session, *, key: bytes | None, expect: ChainHead | None = None, batch: int = 5000
    ) -> VerifyResult:
        """Walk every chain, then the roots; name the first entry (or root) changed, deleted
        or moved, and check that `expect` (a root exported earlier) is still there,
        unchanged. Constant memory: entries and roots are read in batches."""
        walk = _Walk()
        try:
            for chain in _chains(db):
                _walk_chain(db, key, chain, walk, expect, batch)
            _walk_roots(db, key, walk, expect, batch)
            _check_ends(db, walk, expect)
            _check_nothing_outside(db, walk)
        except _Bad as bad:
            return bad.result
        pending = db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None))
        )
        return VerifyResult(
            True,
            walk.entries,
            pending=pending or 0,
            head=walk.last_root,
            chains=len(walk.ends),
            roots=walk.last_root.seq,
        )

    @staticmethod
    def head(db: Session, *, key: bytes | None) -> VerifyResult:
        """The last root, to be exported; it is checked (not every chain: that is `verify`),
        so that what is exported was sealed with this key."""
        row = db.get(AuditHead, 1)
        walk = _Walk()
        if row is None or row.seq == 0:
            legacy = db.get(AuditChainHead, LEGACY_CHAIN)  # migrated, no root written yet
            if legacy is None:
                return VerifyResult(True, 0)
            walk.last_root = ChainHead(legacy.seq, legacy.hash)
            entry = _entry_at(db, LEGACY_CHAIN, legacy.seq)
            if key is None:
                return VerifyResult.bad(walk, legacy.seq, ChainProblem.NO_KEY, chain=LEGACY_CHAIN)
            if entry is None or entry.hash != legacy.hash:
                problem = ChainProblem.TAIL_DELETED if entry is None else ChainProblem.HEAD_MOVED
                return VerifyResult.bad(walk, legacy.seq, problem, chain=LEGACY_CHAIN)
            if not hmac.compare_digest(entry_hash(key, entry.prev_hash or "", entry), legacy.hash):
                return VerifyResult.bad(walk, legacy.seq, ChainProblem.CHANGED, chain=LEGACY_CHAIN)
            return VerifyResult(True, legacy.seq, head=walk.last_root)
        walk.last_root = seen = ChainHead(row.seq, row.hash)
        if key is None:
            return VerifyResult.bad(walk, row.seq, ChainProblem.NO_KEY, chain=None)
        root = db.get(AuditRoot, row.seq)
        if root is None:
            return VerifyResult.bad(walk, row.seq, ChainProblem.TAIL_DELETED, chain=None)
        if root.hash != row.hash:
            return VerifyResult.bad(walk, row.seq, ChainProblem.HEAD_MOVED, chain=None)
        if not _root_ok(key, root):
            # Another key shows from root 1: say so rather than "changed".
            first = db.get(AuditRoot, 1)
            if (
                first is not None
                and first.prev_hash != root_genesis(key)
                and not _root_ok(key, first)
            ):
                return VerifyResult.bad(walk, 1, ChainProblem.WRONG_KEY, chain=None)
            return VerifyResult.bad(walk, row.seq, ChainProblem.CHANGED, chain=None)
        return VerifyResult(True, 0, head=seen, roots=row.seq)

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


def _seal(db: Session, *, key: bytes, limit: int, known: ChainHead) -> tuple[ChainHead, int]:
    """AuditLog.seal, and how many entries it sealed."""
    head = db.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    current = ChainHead(head.seq, head.hash) if head.seq else EMPTY_HEAD
    if known.seq and known != current and not _still_there(db, known):
        raise AuditTampered(known, "the last root sealed is gone or changed")
    rows = db.execute(
        select(
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.recorded_at,
            *(getattr(AuditEntry, f) for f in _FIELDS),
            _partition_column(db),
        )
        .where(AuditEntry.seq.is_(None))
        .order_by(AuditEntry.id)
        .limit(limit)
    ).all()
    if not rows and (head.seq or db.get(AuditChainHead, LEGACY_CHAIN) is None):
        return current, 0  # nothing to seal, and no legacy chain waiting for root 1
    heads = {h.chain: h for h in db.scalars(select(AuditChainHead))}
    _check_basis(db, key, head, heads, known)
    updates: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        name, chain = _partition_of(row.partition)
        last = heads.get(chain)
        seq, prev = (last.seq + 1, last.hash) if last is not None else (1, genesis(key, chain))
        sealed = _mac(key, prev, _encoded(row, chain=chain, seq=seq, keyed=True))
        updates.setdefault(name, []).append(
            {"entry_id": row.id, "chain": chain, "seq": seq, "prev_hash": prev, "hash": sealed}
        )
        if last is None:
            heads[chain] = last = AuditChainHead(chain=chain, seq=seq, hash=sealed)
            db.add(last)
        last.seq, last.hash = seq, sealed
    for name, values in updates.items():
        part = table(
            name, column("id"), column("chain"), column("seq"), column("prev_hash"), column("hash")
        )
        # Straight to the partition: an UPDATE by id alone would look in all of them.
        db.execute(update(part).where(part.c.id == bindparam("entry_id")), values)
    at = utcnow()
    listed = heads_text((h.chain, h.seq, h.hash) for h in heads.values())
    seq, prev = head.seq + 1, head.hash if head.seq else root_genesis(key)
    sealed = root_hash(key, prev, seq=seq, at=at, heads=listed)
    db.add(AuditRoot(seq=seq, at=at, heads=listed, prev_hash=prev, hash=sealed))
    head.seq, head.hash = seq, sealed
    return ChainHead(seq, sealed), len(rows)


def _partition_column(db: Session) -> Any:
    """The name of the table that holds each row: its partition on PostgreSQL."""
    if db.get_bind().dialect.name == "postgresql":
        return literal_column("audit_entries.tableoid::regclass::text").label("partition")
    return literal("audit_entries").label("partition")


def _partition_of(name: str) -> tuple[str, int]:
    """The table to update and the chain of an entry held by table `name`."""
    match = _PARTITION.fullmatch(name)
    if match is None:
        raise RuntimeError(f"audit entry in an unexpected table: {name}")
    return match[1], int(match[2] or 0)


def _entry_at(db: Session, chain: int, seq: int) -> AuditEntry | None:
    return db.scalars(
        select(AuditEntry).where(AuditEntry.chain == chain, AuditEntry.seq == seq)
    ).one_or_none()


def _root_ok(key: bytes, root: AuditRoot) -> bool:
    expected = root_hash(key, root.prev_hash, seq=root.seq, at=root.at, heads=root.heads)
    return hmac.compare_digest(expected, root.hash)


def _still_there(db: Session, known: ChainHead) -> bool:
    """Whether a root (or, exported before the split, a legacy entry) is still there with
    the same hash."""
    root = db.get(AuditRoot, known.seq)
    if root is not None and hmac.compare_digest(root.hash, known.hash):
        return True
    entry = _entry_at(db, LEGACY_CHAIN, known.seq)
    return entry is not None and hmac.compare_digest(entry.hash or "", known.hash)


def _check_basis(
    db: Session,
    key: bytes,
    head: AuditHead,
    heads: dict[int, AuditChainHead],
    known: ChainHead,
) -> None:
    """Before chaining on: the head row is the last root, sealed with this key, and the
    chain heads are the ones it lists, each still its chain's entry with the same hash."""
    last = db.scalars(select(AuditRoot).order_by(AuditRoot.seq.desc()).limit(1)).one_or_none()
    stale = known if known.seq else ChainHead(head.seq, head.hash)
    if last is None:
        if head.seq or set(heads) - {LEGACY_CHAIN}:
            raise AuditTampered(stale, "the roots are gone")
        listed = {c: (h.seq, h.hash) for c, h in heads.items()}
    else:
        if (last.seq, last.hash) != (head.seq, head.hash) or not _root_ok(key, last):
            raise AuditTampered(stale, "the head row is not the last root")
        listed = _parse_heads(last.heads) or {}
    if listed != {c: (h.seq, h.hash) for c, h in heads.items()}:
        raise AuditTampered(stale, "the chain heads are not the ones the last root lists")
    place = tuple_(AuditEntry.chain, AuditEntry.seq)
    found: dict[tuple[int | None, int | None], str | None] = {}
    if listed:  # one query for every chain's head entry
        wanted = [(c, s) for c, (s, _) in listed.items()]
        for chain, seq, sealed in db.execute(
            select(AuditEntry.chain, AuditEntry.seq, AuditEntry.hash).where(place.in_(wanted))
        ):
            found[chain, seq] = sealed
    for chain, (seq, sealed) in listed.items():
        if not hmac.compare_digest(found.get((chain, seq)) or "", sealed):
            raise AuditTampered(stale, f"the head of chain {chain} is no longer in it")


def _chains(db: Session) -> list[int]:
    """Every chain with an entry or a head row, found by index (one lookup per chain)."""
    found: set[int] = set(db.scalars(select(AuditChainHead.chain)))
    chain = db.scalar(select(func.min(AuditEntry.chain)))
    while chain is not None:
        found.add(chain)
        chain = db.scalar(select(func.min(AuditEntry.chain)).where(AuditEntry.chain > chain))
    return sorted(found)


def _walk_chain(
    db: Session,
    key: bytes | None,
    chain: int,
    walk: _Walk,
    expect: ChainHead | None,
    batch: int,
) -> None:
    """Check one chain entry by entry, then its head row."""
    expected_seq, count = 1, 0
    prev = genesis(key, chain) if key is not None else ""
    before = walk.entries

    def bad(seq: int, problem: ChainProblem) -> _Bad:
        return _Bad(VerifyResult.bad(walk, seq, problem, chain=chain))

    while True:
        rows = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.chain == chain, AuditEntry.seq >= expected_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            if key is None:
                raise bad(expected_seq, ChainProblem.NO_KEY)
            if entry.seq != expected_seq:
                raise bad(expected_seq, ChainProblem.DELETED)
            if entry.prev_hash != prev:
                problem = _first_link(key, entry) if entry.seq == 1 else None
                raise bad(entry.seq, problem or ChainProblem.LINK_BROKEN)
            if not hmac.compare_digest(entry_hash(key, prev, entry), entry.hash or ""):
                raise bad(entry.seq, ChainProblem.CHANGED)
            if (
                chain == LEGACY_CHAIN
                and expect is not None
                and entry.seq == expect.seq
                and hmac.compare_digest(entry.hash or "", expect.hash)
            ):
                walk.legacy_expected = True  # a head exported before the split
            prev, expected_seq = entry.hash or "", expected_seq + 1
            count += 1
            walk.entries = before + count
            walk.ends[chain] = (count, prev)
        db.expunge_all()  # a long chain is walked in constant memory
    row = db.get(AuditChainHead, chain)
    if row is None or row.seq > count:
        raise bad(count + 1, ChainProblem.TAIL_DELETED)
    if row.seq != count or row.hash != prev:
        raise bad(row.seq, ChainProblem.HEAD_MOVED)


def _walk_roots(
    db: Session, key: bytes | None, walk: _Walk, expect: ChainHead | None, batch: int
) -> None:
    """Check the roots' chain, and that every head a root lists is still in its chain with the
    same hash (checked once per head, in batches)."""
    expected_seq = 1
    prev = root_genesis(key) if key is not None else ""
    checked: dict[int, tuple[int, str]] = {}  # chain -> the last head found intact

    def bad(seq: int, problem: ChainProblem) -> _Bad:
        return _Bad(VerifyResult.bad(walk, seq, problem, chain=None))

    while True:
        roots = db.scalars(
            select(AuditRoot)
            .where(AuditRoot.seq >= expected_seq)
            .order_by(AuditRoot.seq)
            .limit(batch)
        ).all()
        if not roots:
            break
        if key is None:
            raise bad(expected_seq, ChainProblem.NO_KEY)
        listings: list[tuple[AuditRoot, dict[int, tuple[int, str]]]] = []
        for root in roots:
            if root.seq != expected_seq:
                raise bad(expected_seq, ChainProblem.DELETED)
            if root.prev_hash != prev:
                wrong_key = root.seq == 1 and not _root_ok(key, root)
                raise bad(
                    root.seq, ChainProblem.WRONG_KEY if wrong_key else ChainProblem.LINK_BROKEN
                )
            listed = _parse_heads(root.heads)
            if not _root_ok(key, root) or listed is None:
                raise bad(root.seq, ChainProblem.CHANGED)
            if (
                expect is not None
                and not walk.legacy_expected
                and root.seq == expect.seq
                and not hmac.compare_digest(root.hash, expect.hash)
            ):
                raise bad(root.seq, ChainProblem.EXPECTED_HEAD_DIFFERS)
            listings.append((root, listed))
            prev, expected_seq = root.hash, expected_seq + 1
        _check_listed(db, walk, listings, checked)
        walk.last_root = ChainHead(roots[-1].seq, roots[-1].hash)
        db.expunge_all()


def _check_listed(
    db: Session,
    walk: _Walk,
    listings: Sequence[tuple[AuditRoot, dict[int, tuple[int, str]]]],
    checked: dict[int, tuple[int, str]],
) -> None:
    """Each head the roots list is its chain's entry with that hash: one query per chain."""
    wanted: dict[int, set[int]] = {}
    for _, listed in listings:
        for chain, (seq, _hash) in listed.items():
            if checked.get(chain, (0, ""))[0] != seq:
                wanted.setdefault(chain, set()).add(seq)
    found: dict[tuple[int, int], str | None] = {}
    for chain, seqs in wanted.items():
        for at, sealed in db.execute(
            select(AuditEntry.seq, AuditEntry.hash).where(
                AuditEntry.chain == chain, AuditEntry.seq.in_(sorted(seqs))
            )
        ):
            if at is not None:
                found[chain, at] = sealed
    for root, listed in listings:
        for chain, (seq, sealed) in sorted(listed.items()):
            if checked.get(chain) == (seq, sealed):
                continue
            if checked.get(chain, (0, ""))[0] == seq:  # same number, another hash
                raise _Bad(
                    VerifyResult.bad(walk, seq, ChainProblem.REWRITTEN, chain=chain, root=root.seq)
                )
            if (chain, seq) not in found:
                end = walk.ends.get(chain, (0, ""))[0]
                raise _Bad(
                    VerifyResult.bad(
                        walk, end + 1, ChainProblem.TAIL_DELETED, chain=chain, root=root.seq
                    )
                )
            if not hmac.compare_digest(found[chain, seq] or "", sealed):
                raise _Bad(
                    VerifyResult.bad(walk, seq, ChainProblem.REWRITTEN, chain=chain, root=root.seq)
                )
            checked[chain] = (seq, sealed)


def _check_nothing_outside(db: Session, walk: _Walk) -> None:
    """No row looks sealed outside the chains walked: a seq with no chain, or a seq below 1,
    would otherwise pass for sealed in a patient's access log without being checked. (A copy
    of a chain's place is met by that chain's walk; rows the sealer seals meanwhile are not
    counted, so a live service's log verifies.)"""
    odd = db.execute(
        select(AuditEntry.chain, AuditEntry.seq)
        .where(
            AuditEntry.seq.is_not(None),
            AuditEntry.chain.is_(None) | (AuditEntry.seq < 1),
        )
        .order_by(AuditEntry.id)
        .limit(1)
    ).first()
    if odd is not None:
        raise _Bad(VerifyResult.bad(walk, odd[1] or 0, ChainProblem.UNCHAINED, chain=odd[0]))


def _check_ends(db: Session, walk: _Walk, expect: ChainHead | None) -> None:
    """The head row is the last root, the expected head is there, and the last root lists
    every chain's last entry."""
    last = walk.last_root
    head = db.get(AuditHead, 1)
    if head is None or head.seq > last.seq:
        raise _Bad(VerifyResult.bad(walk, last.seq + 1, ChainProblem.TAIL_DELETED, chain=None))
    if head.seq != last.seq or (last.seq and head.hash != last.hash):
        raise _Bad(VerifyResult.bad(walk, head.seq, ChainProblem.HEAD_MOVED, chain=None))
    if expect is not None and not walk.legacy_expected:
        if expect.seq > last.seq:
            raise _Bad(
                VerifyResult.bad(walk, last.seq + 1, ChainProblem.EXPECTED_HEAD_MISSING, chain=None)
            )
        if expect.seq == 0 and expect != EMPTY_HEAD:
            raise _Bad(VerifyResult.bad(walk, 0, ChainProblem.EXPECTED_HEAD_DIFFERS, chain=None))
    listed: dict[int, tuple[int, str]] = {}
    if last.seq:
        root = db.get(AuditRoot, last.seq)
        listed = (_parse_heads(root.heads) if root is not None else None) or {}
    for chain, (count, end) in sorted(walk.ends.items()):
        if not last.seq and chain == LEGACY_CHAIN:
            continue  # migrated, no root written yet: its head row stands for it
        seq, sealed = listed.get(chain, (0, ""))
        if (seq, sealed) != (count, end):
            raise _Bad(VerifyResult.bad(walk, seq + 1, ChainProblem.UNROOTED, chain=chain))


class AuditTampered(Exception):
    """A root the sealer wrote, or a head it would build on, is no longer in the log,
    unchanged: it stops sealing."""

    def __init__(self, known: ChainHead, reason: str = "") -> None:
        super().__init__(f"sealed root {known.seq} no longer stands: {reason}")
        self.known = known
        self.reason = reason


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
    """Seals new entries every `period_s` on a thread of its own; remembers the last root it
    wrote (in `anchor`, a file outside the database, when given)."""

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
                head, sealed = _seal(db, key=self.key, limit=2000, known=before)
            total += sealed
            if head == before:
                return total
            self._remember(head)  # ours, or another sealer's after ours

    def _remember(self, head: ChainHead) -> None:
        self.known = head
        if self.anchor is not None:
            write_anchor(self.anchor, head)

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
            log.critical("audit: root %s no longer stands (%s)", exc.known.seq, exc.reason)

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.run_once()
            except AuditTampered as exc:
                log.critical(
                    "audit: root %s no longer stands (%s): sealing stopped,"
                    " run `central audit verify`",
                    exc.known.seq,
                    exc.reason,
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
