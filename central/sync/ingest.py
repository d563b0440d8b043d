"""Ingest of the kiosks' signed, sealed queues: exactly once in effect.

For each envelope of a batch, in order: the kiosk is known and active, the signature is the
kiosk's, the sequence follows and the chain holds. Then the payload is opened, the action
applied, and the receipt recorded, in the batch's one transaction. A resend of the same bytes
gets the same receipt; the same sequence or action id with other bytes is a fork: refused,
and the kiosk flagged. A gap is answered with the sequence expected. An action that breaks
a domain rule is recorded with the outcome "rejected: reason" and does not block the rest; so
is an action whose time is not believable (central.sync.timing) and one the database refuses.
A flagged kiosk is refused until an administrator clears it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from central.audit.trail import defer_traces, drop_deferred, write_deferred
from central.db import drop_kept, kept_mark, replay_kept
from central.dmp.professionals import forget_professions, hold_professions
from central.errors import Conflict, Forbidden, NotFound, ServiceError
from central.identity.held import drop_presences, hold_presences, write_presences
from central.sync.models import Kiosk, Receipt
from central.sync.timing import ClockBounds, TimeRefusal, judge_action_time
from dmpcommon.actions import ActionPayload, PayloadError, decode_payload
from dmpcommon.envelope import ActionEnvelope, EnvelopeError, envelope_hash
from dmpcommon.sealing import SealingError, open_sealed
from dmpcommon.signing import SignatureError, verify

__all__ = ["Action", "Applier", "Ingested", "ItemResult", "ingest"]

P = TypeVar("P", bound=ActionPayload, covariant=True)
_REASON_MAX = 200  # the receipt's column


@dataclass(frozen=True, slots=True)
class Action(Generic[P]):
    """One action whose payload opened and validated, as an applier sees it."""

    db: Session
    kiosk: Kiosk
    envelope: ActionEnvelope
    payload: P  # dmpcommon.actions: the class the kiosk built it with
    at: dt.datetime  # the kiosk's time, bounded (central.sync.timing): judged as of then


# An applier raises a ServiceError to reject the action ("rejected: code").
Applier = Callable[[Action[Any]], None]


@dataclass(frozen=True, slots=True)
class Ingested:
    """The answers for a batch, and the refusal that stopped it, if one did. What was
    answered before a refusal (and the kiosk's flag) is committed all the same."""

    results: list[ItemResult]
    refusal: ServiceError | None = None


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


# Marks an item whose bytes or signature are bad: the batch stops there.
_BAD = ActionEnvelope("", "", 0, "", "", "", "", b"", b"")
_SEQ_MAX = 2**63 - 1  # the ledger's BIGINT


class _NeedsSavepoints(Exception):
    """An action was rejected in a batch run without savepoints: run it again with them."""


class _Refused(Exception):
    """The batch stops here (a fork, a bad signature): the kiosk is flagged, what came
    before is kept, and the request is answered with `error`."""

    def __init__(self, error: ServiceError, results: list[ItemResult]) -> None:
        super().__init__(error.code)
        self.error = error
        self.results = results


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
    appliers: Callable[[], dict[str, Applier]],
    now: dt.datetime,
    bounds: ClockBounds,
) -> Ingested:
    """Ingest a batch of (envelope base64, signature base64); the caller commits.

    `appliers()` gives a fresh table of appliers for each pass (they may hold rows between
    the actions of a pass, which a rolled-back pass must not leave behind).

    A batch is first run under one savepoint, without one per action (two round trips each
    on PostgreSQL): most batches hold no rejected action. The first rejection rolls the
    batch back to that savepoint and runs it again with a savepoint per action, so that a
    rejected action leaves nothing behind. The request's spent nonce stays either way.
    """
    run = _Run(db, kiosk_id, sealing_key, appliers(), now, bounds)  # locks the kiosk's row
    mark = kept_mark(db)
    optimistic = db.begin_nested()  # one savepoint for the batch, not one per action
    defer_traces(db)  # the pass's audit entries in one statement, with its receipts
    hold_presences(db)  # and its presences, read once per session and patient
    hold_professions(db)  # and each treating doctor's profession, looked up once
    try:
        results = run.batch(items, savepoints=False)
    except _NeedsSavepoints:
        drop_deferred(db)
        drop_presences(db)
        forget_professions(db, stop=True)
        optimistic.rollback()
        drop_kept(db, mark)  # the actions run again: their kept traces are written again
        db.expire_all()  # nothing the rolled-back pass loaded or made is trusted again
        run = _Run(db, kiosk_id, sealing_key, appliers(), now, bounds)
        try:
            return Ingested(run.batch(items, savepoints=True))
        except _Refused as refused:
            return Ingested(refused.results, refused.error)
        except BaseException:
            drop_kept(db, mark)  # no receipt will be written: no trace of these either
            raise
    except _Refused as refused:
        optimistic.commit()
        return Ingested(refused.results, refused.error)
    except BaseException:
        drop_deferred(db)
        drop_presences(db)
        forget_professions(db, stop=True)
        optimistic.rollback()
        drop_kept(db, mark)  # no receipt will be written: no trace of these either
        raise
    optimistic.commit()
    return Ingested(results)


class _Run:
    """One pass over a batch, in the caller's transaction."""

    def __init__(
        self,
        db: Session,
        kiosk_id: str,
        sealing_key: bytes,
        appliers: dict[str, Applier],
        now: dt.datetime,
        bounds: ClockBounds,
    ) -> None:
        self.db = db
        self.bounds = bounds
        self.sealing_key = sealing_key
        self.appliers = appliers
        self.now = now
        kiosk = db.scalars(
            select(Kiosk)
            .where(Kiosk.id == kiosk_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        if kiosk is None:
            raise NotFound("unknown kiosk", code="unknown_kiosk")
        if kiosk.status != "active":
            raise Forbidden("this kiosk is revoked", code="kiosk_revoked")
        if kiosk.flagged is not None:
            raise Forbidden(
                "this kiosk is flagged: an administrator must clear it", code="kiosk_flagged"
            )
        self.kiosk = kiosk
        self.public_key = bytes.fromhex(kiosk.public_key)
        # Where the chain stands, kept here and written once: a dirty kiosk row would be
        # flushed (UPDATEd) before every query of every action.
        self.last_seq, self.last_hash = kiosk.last_seq, kiosk.last_hash
        self.last_at = kiosk.last_at
        self.receipts: list[dict[str, Any]] = []

    def _save(self) -> None:
        """Write the receipts, the deferred audit entries and the chain's position (also
        before a refusal is kept)."""
        forget_professions(self.db, stop=True)
        try:
            write_presences(self.db)
            write_deferred(self.db)
        except DBAPIError as exc:  # a row the database refuses: find its action
            raise _NeedsSavepoints from exc
        if self.receipts:
            self.db.execute(insert(Receipt), self.receipts)
            self.receipts = []
        self.kiosk.last_seq, self.kiosk.last_hash = self.last_seq, self.last_hash
        self.kiosk.last_at = self.last_at
        self.db.flush()

    def _flag(
        self, problem: str, code: str, results: list[ItemResult], detail: str = ""
    ) -> _Refused:
        """Flag the kiosk; the flag and the batch's envelopes before this one are kept."""
        self._save()
        self.kiosk.flagged = problem[:200]
        return _Refused(Conflict(problem + detail, code=code), results)

    def _known(self, decoded: list[tuple[bytes, ActionEnvelope]]) -> dict[int | str, Receipt]:
        """Receipts already recorded for the batch's sequences or action ids: one query."""
        seqs = [e.seq for _, e in decoded if e.seq <= _SEQ_MAX]
        ids = [e.action_id for _, e in decoded]
        rows = self.db.scalars(
            select(Receipt).where(
                ((Receipt.kiosk_id == self.kiosk.id) & Receipt.seq.in_(seqs))
                | Receipt.action_id.in_(ids)
            )
        ).all()
        known: dict[int | str, Receipt] = {}
        for row in rows:
            if row.kiosk_id == self.kiosk.id:
                known[row.seq] = row
            known[row.action_id] = row
        return known

    def _decode(self, items: list[tuple[str, str]]) -> list[tuple[bytes, ActionEnvelope]]:
        decoded = []
        for envelope_b64, signature_b64 in items:
            try:
                data, signature = _b64(envelope_b64), _b64(signature_b64)
                verify(self.public_key, data, signature)
                envelope = ActionEnvelope.decode(data)
            except (EnvelopeError, SignatureError):
                # Earlier envelopes of the batch are processed first, then the refusal.
                decoded.append((b"", _BAD))
                break
            decoded.append((data, envelope))
        return decoded

    def batch(self, items: list[tuple[str, str]], *, savepoints: bool) -> list[ItemResult]:
        decoded = self._decode(items)
        known = self._known([(d, e) for d, e in decoded if e is not _BAD])
        results: list[ItemResult] = []
        for data, envelope in decoded:
            if envelope is _BAD:
                raise self._flag(
                    f"bad envelope or signature after seq {self.last_seq}", "bad_signature", results
                )
            if envelope.kiosk_id != self.kiosk.id:
                raise self._flag(
                    f"envelope for another kiosk at seq {envelope.seq}", "wrong_kiosk", results
                )
            digest = envelope_hash(data)
            seen = known.get(envelope.seq) or known.get(envelope.action_id)
            if seen is not None:
                if seen.envelope_hash != digest or seen.seq != envelope.seq:
                    raise self._flag(
                        f"fork at seq {envelope.seq}",
                        "fork",
                        results,
                        ": other bytes already recorded",
                    )
                results.append(ItemResult(seen.seq, "recorded", seen.outcome, seen.reason))
                continue
            if envelope.seq != self.last_seq + 1:  # (a sequence past the ledger's range too)
                results.append(ItemResult(envelope.seq, "gap", expected=self.last_seq + 1))
                break
            if envelope.prev_hash != self.last_hash:
                raise self._flag(f"chain broken at seq {envelope.seq}", "fork", results)
            judged = judge_action_time(
                envelope.created_at, received=self.now, previous=self.last_at, bounds=self.bounds
            )
            reason: str | None
            if isinstance(judged, TimeRefusal):
                outcome, reason = "rejected", judged.value
            else:
                outcome, reason = _apply(
                    self.db,
                    self.kiosk,
                    envelope,
                    judged,
                    self.sealing_key,
                    self.appliers,
                    savepoints,
                )
                self.last_at = judged if self.last_at is None else max(self.last_at, judged)
            self.receipts.append(
                {
                    "kiosk_id": self.kiosk.id,
                    "seq": envelope.seq,
                    "action_id": envelope.action_id,
                    "action_type": envelope.action_type,
                    "envelope_hash": digest,
                    "outcome": outcome,
                    "reason": reason,
                    "received_at": self.now,
                }
            )
            self.last_seq, self.last_hash = envelope.seq, digest
            results.append(ItemResult(envelope.seq, "recorded", outcome, reason))
        self._save()
        return results


def _apply(
    db: Session,
    kiosk: Kiosk,
    envelope: ActionEnvelope,
    at: dt.datetime,
    sealing_key: bytes,
    appliers: dict[str, Applier],
    savepoints: bool,
) -> tuple[str, str | None]:
    try:
        plaintext = open_sealed(
            sealing_key, envelope.enc, envelope.ciphertext, header=envelope.header_bytes()
        )
    except SealingError:
        return "rejected", "payload_does_not_open"
    try:
        payload = decode_payload(envelope.action_type, plaintext)
    except PayloadError as exc:  # refused alone, with where and why
        return "rejected", exc.code[:_REASON_MAX]
    applier = appliers.get(envelope.action_type)
    if applier is None:
        return "rejected", "unsupported_action_type"
    action = Action(db, kiosk, envelope, payload, at)
    if not savepoints:
        try:
            applier(action)
        except (ServiceError, DBAPIError) as exc:
            raise _NeedsSavepoints from exc
        return "accepted", None
    # A rejected action leaves nothing half-applied, but the trace of a refusal is kept.
    mark = kept_mark(db)
    savepoint = db.begin_nested()
    try:
        applier(action)
    except ServiceError as exc:
        savepoint.rollback()
        replay_kept(db, mark)
        return "rejected", exc.code[:_REASON_MAX]
    except DBAPIError:
        # Refused alone (a value the database will not take): the rest of the batch goes on
        # rather than the kiosk resending the same batch for ever.
        savepoint.rollback()
        replay_kept(db, mark)
        return "rejected", "database_refused"
    savepoint.commit()
    return "accepted", None
