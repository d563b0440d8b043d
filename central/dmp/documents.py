"""Adding documents to a DMP (or replacing one, the old version kept as history)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, trace
from central.dmp import repository
from central.dmp.common import (
    PatientNotices,
    choices_of,
    enforce,
    managed_by_representative,
    relation,
)
from central.dmp.models import Document
from central.dmp.policy import may_open
from central.dmp.schemas import Category, DocumentIn
from central.errors import BadRequest, Conflict, Forbidden, NotFound
from central.notify import messages
from dmpcommon.vocabulary import AccessMode, DmpStatus, Role

__all__ = ["DEFAULT_LOINC", "RecordDocuments"]

# LOINC document types where one fits the category.
DEFAULT_LOINC = {
    Category.CARE_HISTORY: "34117-2",  # History and physical note
    Category.PATHOLOGIES_ALLERGIES: "48765-2",  # Allergies and adverse reactions
    Category.MEDICATIONS: "10160-0",  # History of medication use
    Category.REPORTS: "11488-4",  # Consult note
    Category.EXAM_RESULTS: "30954-2",  # Relevant diagnostic tests/laboratory data
    Category.ADVANCE_DIRECTIVES: "42348-3",  # Advance directives
}
_PATIENT_CATEGORIES = (
    Category.EMERGENCY_CONTACTS,
    Category.OTHER,
    Category.ADVANCE_DIRECTIVES,
    Category.PATHOLOGIES_ALLERGIES,
)


class RecordDocuments:
    """Documents of a DMP."""

    def __init__(self, notices: PatientNotices) -> None:
        self.notices = notices

    def add_document(
        self, db: Session, actor: Actor, ins: str, doc: DocumentIn, now: dt.datetime
    ) -> Document:
        """Add (or replace) a document; the patient is told, without what it is."""
        dmp = repository.get_dmp(db, ins)
        if actor.role in (Role.PATIENT, Role.REPRESENTATIVE):
            if actor.patient_ins != ins:
                raise Forbidden("not your record")
            if doc.category not in _PATIENT_CATEGORIES:
                raise Forbidden("patients add emergency contacts, notes and directives only")
        else:
            decision = may_open(
                actor.role,
                AccessMode.NORMAL,
                choices_of(dmp),
                relation(db, dmp, actor.id),
                dmp_open=dmp.status == DmpStatus.VALID,
            )
            enforce(decision, db, actor, AuditAction.ADD_DOCUMENT, now=now, patient_ins=ins)
        replaced: Document | None = None
        if doc.replaces is not None:
            replaced = db.get(Document, doc.replaces)
            if replaced is None or replaced.dmp_ins != ins:
                raise NotFound("no such document to replace")
            if replaced.replaced_by is not None:
                raise Conflict("that version was already replaced", code="already_replaced")
        try:
            document_date = dt.date.fromisoformat(doc.document_date)
        except ValueError as exc:
            raise BadRequest("document_date is not a date") from exc
        row = Document(
            id=str(uuid.uuid4()),
            dmp_ins=ins,
            category=doc.category.value,
            loinc=doc.loinc or DEFAULT_LOINC.get(doc.category),
            title=doc.title,
            content=doc.content,
            author_id=actor.id,
            author_name=actor.public_label(),
            author_role=actor.role.value,
            document_date=document_date,
            created_at=now,
            masked_to_professionals=doc.masked_to_professionals,
            invisible_to_representatives=doc.invisible_to_representatives,
            replaces=doc.replaces,
        )
        db.add(row)
        if replaced is not None:
            replaced.replaced_by = row.id
        db.flush()
        trace(
            db,
            actor,
            AuditAction.ADD_DOCUMENT,
            now=now,
            patient_ins=ins,
            detail=f"{row.id};{row.category}",
        )
        hidden_from_contact = row.invisible_to_representatives and managed_by_representative(
            dmp, now.date()
        )
        if (
            dmp.notify_new_document
            and actor.role not in (Role.PATIENT, Role.REPRESENTATIVE)
            and not hidden_from_contact
        ):
            self.notices.tell(
                db,
                dmp,
                f"new_document:{row.id}",
                messages.new_document(self.notices.portal_url),
                now,
            )
        return row
