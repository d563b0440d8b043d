"""The one way the service writes to the audit trail: typed actions and outcomes.

`trace` records what was done or served, in the caller's transaction. `refuse` records a
refusal so that it stays even though the request fails (the unit of work replays it after
the rollback, central.db.keep_on_failure), then raises the error that refuses.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, NoReturn, TypeVarTuple

from sqlalchemy import Insert, Row, Select, insert
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.models import AuditEntry
from central.db import keep_on_failure, utcnow
from central.errors import ServiceError
from dmpcommon.vocabulary import AccessMode

__all__ = [
    "read_traced",
    "AuditAction",
    "AuditOutcome",
    "defer_traces",
    "drop_deferred",
    "refuse",
    "trace",
    "trace_admin",
    "trace_service",
    "trace_kept",
    "write_deferred",
]

_DEFERRED = "audit_deferred"
_Ts = TypeVarTuple("_Ts")


class AuditAction(StrEnum):
    """What an entry records."""

    OPERATOR_LOGIN = "operator_login"
    OPERATOR_LOGOUT = "operator_logout"
    IDENTITY_QUALIFY = "identity_qualify"
    IDENTITY_CHECKED = "identity_checked"  # an identity document seen at the counter
    STATUS = "status"
    CONSENT = "consent"
    CREATE = "create"
    OPEN = "open"
    ADD_DOCUMENT = "add_document"
    PROFESSIONAL_AUTHORISE = "professional_authorise"
    PROFESSIONAL_REVOKE = "professional_revoke"
    PROFESSIONAL_BLOCK = "professional_block"
    PROFESSIONAL_UNBLOCK = "professional_unblock"
    CONTACT_SET = "contact_set"
    TREATING_DOCTOR_SET = "treating_doctor_set"
    CARD_READ_REFUSED = "card_read_refused"
    PATIENT_LOGIN = "patient_login"
    PATIENT_READ = "patient_read"
    EMERGENCY_CHOICES = "emergency_choices"
    NOTIFICATION_PREFERENCES = "notification_preferences"
    DMP_CLOSE = "dmp_close"
    DMP_REOPEN = "dmp_reopen"
    ACTIVATION_REISSUE = "activation_reissue"
    CONTACT_CHANGE_ASKED = "contact_change_asked"
    DOCUMENT_MASK = "document_mask"
    DOCUMENT_UNMASK = "document_unmask"
    DOCUMENT_DELETE = "document_delete"
    KIOSK_REVOKE = "kiosk_revoke"
    KIOSK_CLEAR = "kiosk_clear"
    CARD_REVOKE = "card_revoke"
    PATIENT_ACTIVATE = "patient_activate"  # refused tries only: a success is a PATIENT_LOGIN
    ONLINE_CREATION = "online_creation"  # refused proofs and codes
    CODE_REVOKE = "code_revoke"  # a patient's code voided: replaced, or too many tries
    CAME_OF_AGE = "came_of_age"  # a child's record became their own at 18
    DOCUMENT_SEARCH = "document_search"  # a list of the record's documents (FHIR ITI-67)
    DOCUMENT_READ = "document_read"  # one document's file, opened or retrieved
    CARE_LINES = "care_lines"  # reimbursed care received from the health insurance


class AuditOutcome(StrEnum):
    """How it ended."""

    DONE = "done"
    ALLOWED = "allowed"  # a read served
    REFUSED = "refused"
    RECORDED = "recorded"  # a consent
    QUALIFIED = "qualified"
    NOT_FOUND = "not_found"
    AMBIGUOUS = "ambiguous"


def _values(
    actor: Actor,
    action: AuditAction,
    outcome: AuditOutcome,
    *,
    now: dt.datetime,
    patient_ins: str | None,
    mode: AccessMode,
    detail: str,
) -> dict[str, Any]:
    return {
        "at": now,
        "actor_id": actor.id,
        "actor_name": actor.name,
        "role": actor.role.value,
        "mode": mode.value,
        "patient_ins": patient_ins,
        "action": action.value,
        "outcome": outcome.value,
        "detail": detail,
    }


def _insert(values: dict[str, Any]) -> Insert:
    # A Core INSERT: this runs on every request, the ORM's unit of work is not needed.
    return insert(AuditEntry).values(values)


def defer_traces(db: Session) -> None:
    """Hold the entries `trace` and `trace_kept` record in this session until
    `write_deferred` writes them in one statement, in the order recorded (an ingest's batch).
    Only for work rolled back whole, or run again without deferring, on any failure: a
    deferred entry is not kept through a rollback."""
    db.info[_DEFERRED] = []


def write_deferred(db: Session) -> None:
    """Write the deferred entries, in the caller's transaction, and stop deferring."""
    rows = db.info.pop(_DEFERRED, None)
    if rows:  # NULLs written out: rows with and without a patient stay one statement
        db.execute(insert(AuditEntry).execution_options(render_nulls=True), rows)


def drop_deferred(db: Session) -> None:
    """Forget the deferred entries (their work is rolled back) and stop deferring."""
    db.info.pop(_DEFERRED, None)


def trace(
    db: Session,
    actor: Actor,
    action: AuditAction,
    *,
    now: dt.datetime,
    outcome: AuditOutcome = AuditOutcome.DONE,
    patient_ins: str | None = None,
    mode: AccessMode = AccessMode.NORMAL,
    detail: str = "",
) -> None:
    """Record an entry in the caller's transaction (durable with what it records); the
    sealer chains it shortly after."""
    values = _values(
        actor, action, outcome, now=now, patient_ins=patient_ins, mode=mode, detail=detail
    )
    deferred = db.info.get(_DEFERRED)
    if deferred is not None:
        deferred.append(values)
        return
    # On the session's connection: Session.execute would take a Core INSERT through the
    # ORM's bulk path, about 0.3 ms of Python on every request.
    db.connection().execute(_insert(values))


def read_traced(
    db: Session,
    query: Select[*_Ts],
    actor: Actor,
    action: AuditAction,
    *,
    now: dt.datetime,
    outcome: AuditOutcome = AuditOutcome.ALLOWED,
    patient_ins: str | None = None,
    mode: AccessMode = AccessMode.NORMAL,
) -> Row[*_Ts] | None:
    """Run a read whose entry does not depend on what it finds (a status check) and record
    that entry, in the caller's transaction: on PostgreSQL one statement (the INSERT as a
    data-modifying CTE of the SELECT), one round trip fewer on the busiest request; elsewhere,
    the read then `trace`. Returns the read's first row."""
    if db.info.get(_DEFERRED) is not None or db.get_bind().dialect.name != "postgresql":
        row = db.execute(query).first()
        trace(db, actor, action, now=now, outcome=outcome, patient_ins=patient_ins, mode=mode)
        return row
    values = _values(actor, action, outcome, now=now, patient_ins=patient_ins, mode=mode, detail="")
    values["recorded_at"] = utcnow()  # a CTE's INSERT gets no Python-side default
    return db.connection().execute(query.add_cte(_insert(values).cte("traced"))).first()


def trace_kept(
    db: Session,
    actor: Actor,
    action: AuditAction,
    *,
    now: dt.datetime,
    outcome: AuditOutcome,
    patient_ins: str | None = None,
    mode: AccessMode = AccessMode.NORMAL,
    detail: str = "",
) -> None:
    """Record an entry that stays even if the work around it is rolled back (a queued
    action that is then rejected still leaves the trace of what was tried)."""
    values = _values(
        actor, action, outcome, now=now, patient_ins=patient_ins, mode=mode, detail=detail
    )
    deferred = db.info.get(_DEFERRED)
    if deferred is not None:  # all of it is run again if anything fails (defer_traces)
        deferred.append(values)
        return
    keep_on_failure(db, _insert(values))


def refuse(
    db: Session,
    actor: Actor,
    action: AuditAction,
    error: ServiceError,
    *,
    now: dt.datetime,
    patient_ins: str | None = None,
    mode: AccessMode = AccessMode.NORMAL,
) -> NoReturn:
    """Trace the refusal (kept through the rollback), then raise the error that refuses."""
    trace_kept(
        db,
        actor,
        action,
        now=now,
        outcome=AuditOutcome.REFUSED,
        patient_ins=patient_ins,
        mode=mode,
        detail=error.code,
    )
    raise error


def _trace_unproven(
    db: Session,
    who: tuple[str, str, str],
    action: AuditAction,
    *,
    now: dt.datetime,
    patient_ins: str | None,
    detail: str,
    outcome: AuditOutcome = AuditOutcome.DONE,
    kept: bool = False,
) -> None:
    """An entry for an actor no card or session proves, (id, name, role) as given; `kept`
    through a rollback, as a refusal is."""
    actor_id, actor_name, role = who
    entry = insert(AuditEntry).values(
        at=now,
        actor_id=actor_id,
        actor_name=actor_name,
        role=role,
        mode=AccessMode.NORMAL.value,
        patient_ins=patient_ins,
        action=action.value,
        outcome=outcome.value,
        detail=detail,
    )
    if kept:
        keep_on_failure(db, entry)
    else:
        db.execute(entry)


def trace_client(
    db: Session,
    who: tuple[str, str, str],
    action: AuditAction,
    *,
    now: dt.datetime,
    patient_ins: str | None,
    outcome: AuditOutcome,
    detail: str,
) -> None:
    """Record what an enrolled system client did (the health insurance's feed): proven by its
    device key, no actor of the access rules; (client id, site, role) name it. A refusal is
    kept through the rollback."""
    kept = outcome is AuditOutcome.REFUSED
    _trace_unproven(
        db, who, action, now=now, patient_ins=patient_ins, detail=detail, outcome=outcome, kept=kept
    )


_ADMIN = ("admin", "administrateur du service (ligne de commande)", "administrateur")
_SERVICE = ("service", "service DMP", "service")


def trace_admin(db: Session, action: AuditAction, *, now: dt.datetime, detail: str) -> None:
    """Record what an administrator did on the service's host (`central kiosk clear`...):
    no card, no role the access rules know; who had the host's shell is the host's to log."""
    _trace_unproven(db, _ADMIN, action, now=now, patient_ins=None, detail=detail)


def trace_service(
    db: Session, action: AuditAction, *, now: dt.datetime, patient_ins: str, detail: str = ""
) -> None:
    """Record what the service did by itself, on a rule's date (a child coming of age)."""
    _trace_unproven(db, _SERVICE, action, now=now, patient_ins=patient_ins, detail=detail)
