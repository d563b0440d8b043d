"""What a logged-in patient reads and changes in their own record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.models import AuditEntry
from central.audit.service import AuditLog
from central.audit.trail import AuditAction, AuditOutcome, refuse, trace
from central.dmp import repository
from central.dmp.access import RecordAccess
from central.dmp.common import (
    care_history,
    care_line_out,
    choices_of,
    document_out,
    kept_from_representatives,
)
from central.dmp.models import Dmp, DmpProfessional, Document
from central.dmp.policy import Labels, may_see
from central.dmp.schemas import Category, DocumentOut, EmergencyChoices, NotificationContact
from central.errors import Conflict, NotFound, Unauthenticated
from central.patient.schemas import (
    AccessLogEntry,
    ConsentRecord,
    NotificationPreferences,
    PatientRecord,
)
from central.professionals.directory import label_of, names_at, names_of
from dmpcommon.vocabulary import AccessMode, ContactChannel, Role

__all__ = [
    "access_log",
    "document_title",
    "exported_documents",
    "file_of",
    "read_document",
    "read_record",
    "set_emergency",
    "set_notifications",
]

# What each entry of the trail means to the patient, as a code the portal puts in French.
# Entries not listed (their own log-ins and reads, notification choices) are not shown.
_EVENTS = {
    AuditAction.OPEN: "consulted",
    AuditAction.STATUS: "checked_status",
    AuditAction.IDENTITY_QUALIFY: "read_card",
    AuditAction.CONSENT: "recorded_consent",
    AuditAction.CREATE: "created",
    AuditAction.ADD_DOCUMENT: "added_document",
    AuditAction.PROFESSIONAL_AUTHORISE: "authorised_professional",
    AuditAction.PROFESSIONAL_REVOKE: "revoked_professional",
    AuditAction.PROFESSIONAL_BLOCK: "blocked_professional",
    AuditAction.PROFESSIONAL_UNBLOCK: "unblocked_professional",
    AuditAction.TREATING_DOCTOR_SET: "designated_treating_doctor",
    AuditAction.CONTACT_SET: "changed_contact",
    AuditAction.ACTIVATION_REISSUE: "reissued_activation",
    AuditAction.DMP_CLOSE: "closed",
    AuditAction.DMP_REOPEN: "reopened",
    AuditAction.IDENTITY_CHECKED: "checked_identity_document",
    AuditAction.CAME_OF_AGE: "came_of_age",
    AuditAction.DOCUMENT_SEARCH: "listed_documents",
    AuditAction.DOCUMENT_READ: "read_document",
    AuditAction.CARE_LINES: "received_care_lines",
}
_READ = AuditAction.DOCUMENT_READ.value
# The same act on oneself reads otherwise ("s'est déclaré autorisé avec votre accord").
_ON_ITSELF = {
    AuditAction.PROFESSIONAL_AUTHORISE: "authorised_itself",
    AuditAction.PROFESSIONAL_REVOKE: "revoked_itself",
}
_IN_EMERGENCY = {
    AccessMode.REGULATOR.value: "consulted_regulator",
    AccessMode.BREAK_GLASS.value: "consulted_break_glass",
}


def _event(entry: AuditEntry) -> str | None:
    try:
        action = AuditAction(entry.action)
    except ValueError:
        return None
    if action is AuditAction.DOCUMENT_READ and entry.mode in _IN_EMERGENCY:
        return f"read_document_{entry.mode}"  # the document's title is never in the log
    if action is AuditAction.OPEN and entry.mode in _IN_EMERGENCY:
        return _IN_EMERGENCY[entry.mode]
    if action in _ON_ITSELF and entry.detail == entry.actor_id:
        return _ON_ITSELF[action]
    if action is AuditAction.IDENTITY_QUALIFY and entry.detail.split(";")[0] == "search":
        return "searched_identity"  # no card at the counter: looked up by a document's traits
    return _EVENTS.get(action)


def _ins(actor: Actor) -> str:
    if actor.patient_ins is None:
        raise Unauthenticated("patient session required")
    return actor.patient_ins


def _consent(db: Session, dmp: Dmp) -> ConsentRecord:
    """The consent as recorded at creation, with who recorded it (from the trail, named as
    the directory knows them)."""
    creator = db.execute(
        select(AuditEntry.actor_id, AuditEntry.actor_name, AuditEntry.at).where(
            AuditEntry.patient_ins == dmp.ins,
            AuditEntry.action == AuditAction.CREATE.value,
            AuditEntry.outcome == AuditOutcome.DONE.value,
        )
    ).first()
    operator = (
        names_at(db, [(creator.actor_id, creator.at)]).get(
            (creator.actor_id, creator.at), creator.actor_name
        )
        if creator is not None
        else ""
    )
    online = dmp.created_by.startswith("patient:")
    representative = (
        f"{dmp.representative_prenom} {dmp.representative_nom}"
        if dmp.consent_by == "representative"
        else None
    )
    return ConsentRecord(
        at=dmp.consent_at,
        by=dmp.consent_by,
        representative=representative,
        information_version=dmp.information_version,
        operator="" if online else operator or "",
        online=online,
    )


def read_record(db: Session, actor: Actor, now: dt.datetime) -> PatientRecord:
    """The whole record, every category; masked documents shown flagged as masked."""
    ins = _ins(actor)
    dmp = repository.get_dmp(db, ins)
    choices = choices_of(dmp)
    by_category: dict[str, list[DocumentOut]] = {c.value: [] for c in Category}
    documents = [
        doc
        for doc in sorted(
            repository.current_documents(db, ins),
            key=lambda d: (d.document_date, d.created_at),
            reverse=True,
        )
        if may_see(
            actor.role,
            AccessMode.NORMAL,
            choices,
            Labels(doc.masked_to_professionals, doc.invisible_to_representatives),
        )
    ]
    authors = names_at(
        db,
        [(d.author_id, d.created_at) for d in documents if not d.author_id.startswith("patient:")],
    )
    texts = repository.texts_of(db, ins, documents)
    for doc in documents:  # a professional's documents say who wrote them, and from where
        shown = document_out(doc, texts)
        if (doc.author_id, doc.created_at) in authors:
            shown = shown.model_copy(update={"author": authors[(doc.author_id, doc.created_at)]})
        by_category[doc.category].append(shown)
    rows = list(
        db.scalars(
            select(DmpProfessional)
            .where(DmpProfessional.dmp_ins == ins)
            .order_by(DmpProfessional.id)
        )
    )
    confidential = set()
    if actor.role is Role.REPRESENTATIVE:  # whom a minor sees in confidence stays unsaid
        confidential = kept_from_representatives(db, ins)
        rows = [p for p in rows if p.id_nat not in confidential]
    # The insurance's lines name no one the service can match: with anything kept from the
    # representative, none is shown to them rather than one that would tell.
    care_lines = [] if confidential else care_history(db, ins, now.date())
    names = names_of(db, [p.id_nat for p in rows] + [dmp.treating_doctor or ""])
    professionals = [
        {"id_nat": p.id_nat, "status": p.status, "name": label_of(p.id_nat, names)} for p in rows
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
        status=dmp.status,
        consent=_consent(db, dmp),
        documents=by_category,
        professionals=professionals,
        treating_doctor=dmp.treating_doctor,
        treating_doctor_name=(
            label_of(dmp.treating_doctor, names) if dmp.treating_doctor else None
        ),
        emergency=EmergencyChoices(etreat=dmp.etreat, btg=dmp.btg, masked=dmp.masked_in_emergency),
        notifications=NotificationPreferences(
            contact=contact,
            new_document=dmp.notify_new_document,
            first_access=dmp.notify_first_access,
            emergency=dmp.notify_emergency,
        ),
        care_lines=[care_line_out(line) for line in care_lines],
        care_lines_withheld=bool(confidential),
    )


def read_document(
    db: Session, actor: Actor, access: RecordAccess, document_id: str, now: dt.datetime
) -> tuple[Document, bytes]:
    """One document of the patient's own record and its bytes (hash checked), through the
    service's one read path: a document of another record, or one hidden from a legal
    representative who asks, is answered as absent (NotFound), and the try traced."""
    return access.document_file(
        db,
        actor,
        _ins(actor),
        document_id,
        mode=AccessMode.NORMAL,
        reason_code=None,
        reason_text=None,
        now=now,
    )


def exported_documents(
    db: Session, actor: Actor, access: RecordAccess, now: dt.datetime
) -> list[Document]:
    """The current documents of the patient's own record that this session may see, newest
    care first, through the service's one read path (traced as a list consulted)."""
    return access.documents(
        db, actor, _ins(actor), mode=AccessMode.NORMAL, reason_code=None, reason_text=None, now=now
    )


def file_of(db: Session, actor: Actor, document_id: str) -> bytes:
    """The bytes of a document `exported_documents` gave this session (hash checked), read
    again later (the record downloaded whole is written as it is sent): still one of this
    record's, still one this session may see."""
    ins = _ins(actor)
    doc = repository.document_of(db, ins, document_id)
    if doc is None:
        raise NotFound("no such document", code="no_document")
    labels = Labels(doc.masked_to_professionals, doc.invisible_to_representatives)
    if not may_see(actor.role, AccessMode.NORMAL, choices_of(repository.get_dmp(db, ins)), labels):
        raise NotFound("no such document", code="no_document")
    return repository.read_file(db, doc)


def access_log(db: Session, actor: Actor) -> list[AccessLogEntry]:
    """What others did on the record, newest first: who (name, profession and place where the
    service knows them), in which role, what (an event code), whether it was refused and why,
    the break-glass reason. A legal representative sees no trace of a document hidden from
    representatives."""
    ins = _ins(actor)
    entries: list[AuditEntry] = AuditLog.for_patient(db, ins)
    hidden = _hidden_from(db, actor, ins)
    confidential = kept_from_representatives(db, ins) if hidden else set()
    # Of whom the minor sees in confidence, the parent learns only what the record shows
    # anyway: the documents they may read, with their author.
    entries = [
        e
        for e in entries
        if e.actor_id not in confidential
        or (e.action == AuditAction.ADD_DOCUMENT.value and e.detail.split(";")[0] not in hidden)
    ]
    # Each act with the place its author acted from, not where they work today.
    names = names_at(
        db, [(e.actor_id, e.at) for e in entries if not e.actor_id.startswith("patient:")]
    )
    log = []
    for e in entries:
        event = _event(e)
        if event is None or e.actor_id.startswith("patient:"):
            continue
        document_act = e.action in (AuditAction.ADD_DOCUMENT.value, _READ)
        if document_act and e.detail.split(";")[0] in hidden:
            continue  # who added or read a document hidden from representatives: unsaid
        refused = e.outcome == AuditOutcome.REFUSED.value
        reason = e.detail if e.mode == AccessMode.BREAK_GLASS.value or refused else None
        if reason and e.action == _READ and e.outcome != AuditOutcome.REFUSED.value:
            reason = reason.split(";", 1)[-1]  # the reason given, never the document's id
        log.append(
            AccessLogEntry(
                at=e.at,
                who=names.get((e.actor_id, e.at), e.actor_name),
                id_nat=None if e.actor_id.startswith("patient:") else e.actor_id,
                role=e.role,
                mode=e.mode,
                action=e.action,
                event=event,
                outcome=e.outcome,
                reason=reason,
            )
        )
    return log


def document_title(db: Session, actor: Actor, document_id: str) -> str | None:
    """The title of a current document of this patient's record, to ask before changing it;
    None for one they may not know of (another record's, or hidden from a representative)."""
    doc = repository.document_of(db, _ins(actor), document_id)
    if doc is None or doc.replaced_by is not None:
        return None
    if document_id in _hidden_from(db, actor, doc.dmp_ins):
        return None
    return doc.title


def _hidden_from(db: Session, actor: Actor, ins: str) -> set[str]:
    """The documents this patient session may not know of (a representative's)."""
    if actor.role is not Role.REPRESENTATIVE:
        return set()
    return set(
        db.scalars(
            select(Document.id).where(
                Document.dmp_ins == ins, Document.invisible_to_representatives.is_(True)
            )
        )
    )


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
    """Change which events are notified; the contact itself changes by code only."""
    dmp = repository.get_dmp(db, _ins(actor))
    if prefs.contact is not None and (prefs.contact.channel.value, prefs.contact.address) != (
        dmp.notify_channel,
        dmp.notify_address,
    ):
        # A new contact is proven by a code sent there (central.dmp.contacts).
        refuse(
            db,
            actor,
            AuditAction.CONTACT_SET,
            Conflict("a new contact is confirmed by a code", code="contact_needs_code"),
            now=now,
            patient_ins=dmp.ins,
        )
    dmp.notify_new_document = prefs.new_document
    dmp.notify_first_access = prefs.first_access
    dmp.notify_emergency = prefs.emergency
    trace(db, actor, AuditAction.NOTIFICATION_PREFERENCES, now=now, patient_ins=dmp.ins)
