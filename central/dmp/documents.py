"""Adding documents to a DMP (or replacing one, the old version kept as history)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid

from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, refuse, trace
from central.dmp import repository
from central.dmp.changes import Authorship, DocumentChange, may_change_document
from central.dmp.common import (
    PatientNotices,
    choices_of,
    denial,
    enforce,
    managed_by_representative,
    relation,
)
from central.dmp.files import DEFAULT_MAX_BYTES, CheckedFile, FileTooLarge, MimeType, check_file
from central.dmp.loinc import DEFAULT_LOINC, loinc_problem
from central.dmp.models import Document
from central.dmp.policy import may_open
from central.dmp.schemas import Category, DocumentIn
from central.errors import BadRequest, Conflict, Forbidden, NotFound
from central.notify import messages
from central.professionals.roles import FORBIDDEN_ROLES
from dmpcommon.actions import DocumentAdded
from dmpcommon.vocabulary import AccessMode, CounterDocument, DmpStatus, Role

__all__ = ["COUNTER_DOCUMENTS", "RecordDocuments", "counter_document", "file_of"]

_PATIENTS = (Role.PATIENT, Role.REPRESENTATIVE)
# What the patient files themselves: their own notes.
_PATIENT_CATEGORIES = (
    Category.EMERGENCY_CONTACTS,
    Category.OTHER,
    Category.ADVANCE_DIRECTIVES,
    Category.PATHOLOGIES_ALLERGIES,
)


# What each short form of the counter files: its category and LOINC document type.
COUNTER_DOCUMENTS: dict[CounterDocument, tuple[Category, str]] = {
    CounterDocument.VACCINATION: (Category.OTHER, "11369-6"),  # History of immunization
    CounterDocument.MEDICATION_REVIEW: (Category.MEDICATIONS, "10160-0"),  # medication use
    CounterDocument.PHARMACEUTICAL_NOTE: (Category.MEDICATIONS, "10160-0"),
    CounterDocument.ALLERGY: (Category.PATHOLOGIES_ALLERGIES, "48765-2"),  # allergies
}


def counter_document(payload: DocumentAdded, today: dt.date) -> DocumentIn:
    """The document a counter's short form files (care given by `today`, the action's day)."""
    if dt.date.fromisoformat(payload.document_date) > today:
        raise BadRequest("care dated after the action", code="document_date_in_future")
    category, loinc = COUNTER_DOCUMENTS[payload.kind]
    return DocumentIn(
        category=category,
        loinc=loinc,
        title=payload.title,
        content=payload.content,
        document_date=payload.document_date,
        masked_to_professionals=payload.masked,
    )


def _own(actor: Actor, doc: Document) -> bool:
    """Written by this actor; for the patient's side, by the patient or the representative."""
    if actor.role in _PATIENTS:
        return doc.author_role in (Role.PATIENT.value, Role.REPRESENTATIVE.value)
    return doc.author_id == actor.id


def file_of(doc: DocumentIn, *, max_bytes: int) -> CheckedFile:
    """The document's file, checked: its text, or its file decoded from base64."""
    if (doc.content is None) == (doc.file is None):
        raise BadRequest("a document is a text or a file, one of them", code="content_or_file")
    if doc.file is None:
        return check_file(str(doc.content).encode("utf-8"), MimeType.TEXT, max_bytes=max_bytes)
    if len(doc.file.data_base64) > (max_bytes + 2) // 3 * 4 + 4:
        raise FileTooLarge(f"file larger than {max_bytes} bytes")
    try:
        data = base64.b64decode(doc.file.data_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("the file is not base64", code="file_not_base64") from exc
    return check_file(data, doc.file.mime_type, max_bytes=max_bytes)


def _versions(db: Session, doc: Document) -> list[Document]:
    """The document and every earlier version of it, newest first."""
    chain = [doc]
    while chain[-1].replaces is not None:
        older = repository.document_of(db, doc.dmp_ins, chain[-1].replaces)
        if older is None:
            break
        chain.append(older)
    return chain


class RecordDocuments:
    """Documents of a DMP."""

    def __init__(self, notices: PatientNotices, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.notices = notices
        self.max_bytes = max_bytes

    def add_document(
        self,
        db: Session,
        actor: Actor,
        ins: str,
        doc: DocumentIn,
        now: dt.datetime,
        *,
        checked: CheckedFile | None = None,
    ) -> Document:
        """Add (or replace) a document; the patient is told, without what it is. Its file is
        checked before anything is stored (`checked`: already checked by the caller)."""
        if actor.role in FORBIDDEN_ROLES:  # refused before the record is looked up: a party
            # that may not know whether a record exists is not told so by a 404
            refuse(
                db,
                actor,
                AuditAction.ADD_DOCUMENT,
                denial("forbidden_party"),
                now=now,
                patient_ins=ins,
            )
        dmp = repository.get_dmp(db, ins)
        if actor.role in _PATIENTS:
            if actor.patient_ins != ins:
                raise Forbidden("not your record", code="not_your_record")
            if doc.category not in _PATIENT_CATEGORIES:
                raise Forbidden(
                    "patients add emergency contacts, notes and directives only",
                    code="not_a_patient_note",
                )
        else:
            decision = may_open(
                actor.role,
                AccessMode.NORMAL,
                choices_of(dmp),
                relation(db, dmp, actor.id),
                dmp_open=dmp.status == DmpStatus.VALID,
            )
            enforce(decision, db, actor, AuditAction.ADD_DOCUMENT, now=now, patient_ins=ins)
        if doc.loinc is not None and (problem := loinc_problem(doc.loinc, doc.category)):
            raise BadRequest(f"LOINC code refused: {problem}", code=problem)
        replaced: Document | None = None
        if doc.replaces is not None:
            replaced = self._document(db, actor, ins, doc.replaces)
            if replaced.replaced_by is not None:
                raise Conflict("that version was already replaced", code="already_replaced")
            authorship = Authorship(
                own=_own(actor, replaced), same_category=replaced.category == doc.category.value
            )
            decision = may_change_document(DocumentChange.REPLACE, actor.role, authorship)
            enforce(decision, db, actor, AuditAction.ADD_DOCUMENT, now=now, patient_ins=ins)
        try:
            document_date = dt.date.fromisoformat(doc.document_date)
        except ValueError as exc:
            raise BadRequest("document_date is not a date") from exc
        if checked is None:
            checked = file_of(doc, max_bytes=self.max_bytes)
        repository.store_file(db, ins, checked)
        row = Document(
            id=str(uuid.uuid4()),
            dmp_ins=ins,
            category=doc.category.value,
            loinc=doc.loinc or DEFAULT_LOINC.get(doc.category),
            title=doc.title,
            mime_type=checked.mime_type.value,
            size=checked.size,
            sha256=checked.sha256,
            format_code=checked.format_code.value,
            filename=doc.file.filename if doc.file is not None else None,
            author_id=actor.id,
            author_name=actor.public_label(),
            author_role=actor.role.value,
            document_date=document_date,
            created_at=now,
            # A new version keeps what the patient masked and what was hidden from the
            # representative: a replacement never uncovers silently.
            masked_to_professionals=doc.masked_to_professionals
            or (replaced is not None and replaced.masked_to_professionals),
            invisible_to_representatives=doc.invisible_to_representatives
            or (replaced is not None and replaced.invisible_to_representatives),
            replaces=doc.replaces,
        )
        db.add(row)
        if replaced is not None:
            replaced.replaced_by = row.id
            # A label the new version carries covers the earlier ones too.
            for version in _versions(db, replaced):
                version.masked_to_professionals |= row.masked_to_professionals
                version.invisible_to_representatives |= row.invisible_to_representatives
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
        if dmp.notify_new_document and actor.role not in _PATIENTS and not hidden_from_contact:
            self.notices.tell(
                db,
                dmp,
                f"new_document:{row.id}",
                messages.new_document(self.notices.portal_url),
                now,
            )
        return row

    def set_masked(
        self, db: Session, actor: Actor, ins: str, document_id: str, masked: bool, now: dt.datetime
    ) -> None:
        """The patient masks a document from professionals (MASQUE_PS), or shows it again:
        the document, that is every version of it (an earlier one would tell what the
        current one says). Its author and the treating doctor still see it."""
        doc = self._document(db, actor, ins, document_id)
        if doc.replaced_by is not None:
            raise Conflict("only the current version is masked", code="already_replaced")
        action = AuditAction.DOCUMENT_MASK if masked else AuditAction.DOCUMENT_UNMASK
        decision = may_change_document(
            DocumentChange.MASK, actor.role, Authorship(_own(actor, doc))
        )
        enforce(decision, db, actor, action, now=now, patient_ins=ins)
        for version in _versions(db, doc):
            version.masked_to_professionals = masked
        trace(db, actor, action, now=now, patient_ins=ins, detail=doc.id)

    def delete_document(
        self, db: Session, actor: Actor, ins: str, document_id: str, now: dt.datetime
    ) -> None:
        """The patient deletes one of their own notes, with its earlier versions."""
        doc = self._document(db, actor, ins, document_id)
        decision = may_change_document(
            DocumentChange.DELETE, actor.role, Authorship(_own(actor, doc))
        )
        enforce(decision, db, actor, AuditAction.DOCUMENT_DELETE, now=now, patient_ins=ins)
        if doc.replaced_by is not None:
            raise Conflict("only the current version is deleted", code="already_replaced")
        version: Document | None = doc
        hashes: set[str] = set()
        while version is not None:  # newest first: nothing points at the one deleted
            older = repository.document_of(db, ins, version.replaces) if version.replaces else None
            hashes.add(version.sha256)
            db.delete(version)
            db.flush()
            version = older
        for sha256 in hashes:  # deleted means gone, unless another document has the bytes
            repository.drop_file_if_unused(db, ins, sha256)
        trace(db, actor, AuditAction.DOCUMENT_DELETE, now=now, patient_ins=ins, detail=doc.id)

    @staticmethod
    def _document(db: Session, actor: Actor, ins: str, document_id: str) -> Document:
        """A document of this DMP that this actor may know of (a representative knows nothing
        of those hidden from them)."""
        if actor.role in _PATIENTS and actor.patient_ins != ins:
            raise Forbidden("not your record", code="not_your_record")
        doc = repository.document_of(db, ins, document_id, for_update=True)  # one at a time
        hidden = (
            actor.role is Role.REPRESENTATIVE
            and doc is not None
            and (doc.invisible_to_representatives)
        )
        if doc is None or hidden:
            raise NotFound("no such document", code="no_document")
        return doc
