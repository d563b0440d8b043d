"""What a logged-in patient reads and changes in their own record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.models import AuditEntry
from central.audit.service import AuditLog
from central.audit.trail import AuditAction, trace
from central.dmp import repository
from central.dmp.common import choices_of, document_out
from central.dmp.models import DmpProfessional
from central.dmp.policy import Labels, may_see
from central.dmp.schemas import Category, DocumentOut, EmergencyChoices, NotificationContact
from central.errors import Unauthenticated
from central.patient.schemas import AccessLogEntry, NotificationPreferences, PatientRecord
from dmpcommon.vocabulary import AccessMode, ContactChannel

__all__ = ["access_log", "read_record", "set_emergency", "set_notifications"]

# Entries of the log a patient is shown: accesses by others, and their own decisions.
_SHOWN = {
    AuditAction.OPEN,
    AuditAction.STATUS,
    AuditAction.CREATE,
    AuditAction.ADD_DOCUMENT,
    AuditAction.PROFESSIONAL_AUTHORISE,
    AuditAction.PROFESSIONAL_REVOKE,
    AuditAction.PROFESSIONAL_BLOCK,
    AuditAction.IDENTITY_QUALIFY,
}


def _ins(actor: Actor) -> str:
    if actor.patient_ins is None:
        raise Unauthenticated("patient session required")
    return actor.patient_ins


def read_record(db: Session, actor: Actor, now: dt.datetime) -> PatientRecord:
    """The whole record, every category; masked documents shown flagged as masked."""
    ins = _ins(actor)
    dmp = repository.get_dmp(db, ins)
    choices = choices_of(dmp)
    by_category: dict[str, list[DocumentOut]] = {c.value: [] for c in Category}
    for doc in sorted(
        repository.current_documents(db, ins),
        key=lambda d: (d.document_date, d.created_at),
        reverse=True,
    ):
        labels = Labels(doc.masked_to_professionals, doc.invisible_to_representatives)
        if may_see(actor.role, AccessMode.NORMAL, choices, labels):
            by_category[doc.category].append(document_out(doc))
    professionals = [
        {"id_nat": p.id_nat, "status": p.status}
        for p in db.scalars(
            select(DmpProfessional)
            .where(DmpProfessional.dmp_ins == ins)
            .order_by(DmpProfessional.id)
        )
    ]
    contact = (
        NotificationContact(channel=ContactChannel(dmp.notify_channel), address=dmp.notify_address)
        if dmp.notify_channel and dmp.notify_address
        else None
    )
    trace(db, actor, AuditAction.PATIENT_READ, now=now, patient_ins=ins)
    return PatientRecord(
        ins=dmp.ins,
        nom=dmp.nom,
        prenom=dmp.prenom,
        documents=by_category,
        professionals=professionals,
        treating_doctor=dmp.treating_doctor,
        emergency=EmergencyChoices(etreat=dmp.etreat, btg=dmp.btg, masked=dmp.masked_in_emergency),
        notifications=NotificationPreferences(
            contact=contact,
            new_document=dmp.notify_new_document,
            first_access=dmp.notify_first_access,
            emergency=dmp.notify_emergency,
        ),
    )


def access_log(db: Session, actor: Actor) -> list[AccessLogEntry]:
    """Who accessed the record, in which role and mode, and the break-glass reasons."""
    entries: list[AuditEntry] = AuditLog.for_patient(db, _ins(actor))
    return [
        AccessLogEntry(
            at=e.at,
            who=e.actor_name,
            role=e.role,
            mode=e.mode,
            action=e.action,
            outcome=e.outcome,
            reason=e.detail
            if e.mode == AccessMode.BREAK_GLASS.value or e.outcome == "refused"
            else None,
        )
        for e in entries
        if e.action in _SHOWN and not e.actor_id.startswith("patient:")
    ]


def set_emergency(db: Session, actor: Actor, choices: EmergencyChoices, now: dt.datetime) -> None:
    """Change the emergency choices (ETREAT, BTG, MASKED)."""
    dmp = repository.get_dmp(db, _ins(actor))
    dmp.etreat, dmp.btg, dmp.masked_in_emergency = choices.etreat, choices.btg, choices.masked
    trace(
        db,
        actor,
        AuditAction.EMERGENCY_CHOICES,
        now=now,
        patient_ins=dmp.ins,
        detail=f"etreat={int(choices.etreat)};btg={int(choices.btg)};masked={int(choices.masked)}",
    )


def set_notifications(
    db: Session, actor: Actor, prefs: NotificationPreferences, now: dt.datetime
) -> None:
    """Change the channel and which events are notified."""
    dmp = repository.get_dmp(db, _ins(actor))
    if prefs.contact is not None:
        dmp.notify_channel = prefs.contact.channel.value
        dmp.notify_address = prefs.contact.address
    dmp.notify_new_document = prefs.new_document
    dmp.notify_first_access = prefs.first_access
    dmp.notify_emergency = prefs.emergency
    trace(db, actor, AuditAction.NOTIFICATION_PREFERENCES, now=now, patient_ins=dmp.ins)
