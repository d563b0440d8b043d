"""Reading a DMP: its status at the counter, and opening its summary (normal, SAMU regulator,
or break-glass with a reason), traced and told to the patient."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, AuditOutcome, read_traced, refuse, trace
from central.db import insert_for
from central.dmp import repository
from central.dmp.common import (
    PatientNotices,
    care_history,
    care_line_out,
    choices_of,
    denial,
    dmp_and_relation,
    document_out,
    enforce,
    history_horizon,
    status_of,
    status_query,
)
from central.dmp.models import Dmp, Document, FirstAccess
from central.dmp.policy import Labels, may_manage, may_open, may_see
from central.dmp.schemas import CareLineOut, Category, DocumentOut
from central.errors import NotFound, ServiceError
from central.notify import messages
from central.professionals.roles import FORBIDDEN_ROLES
from dmpcommon.vocabulary import AccessMode, Authorisation, BreakGlassReason, DmpStatus, Role

__all__ = ["RecordAccess", "Summary"]

_LATEST = 10
_PROFESSIONALS = (Role.HEALTH_PROFESSIONAL, Role.SAMU_REGULATOR)


@dataclass(frozen=True, slots=True)
class Summary:
    """The record as opened, filtered for the reader."""

    ins: str
    mode: AccessMode
    sections: dict[str, list[DocumentOut]]
    care_lines: list[CareLineOut]


class RecordAccess:
    """Status checks and openings."""

    def __init__(self, notices: PatientNotices) -> None:
        self.notices = notices

    def status(
        self, db: Session, actor: Actor, ins: str, now: dt.datetime
    ) -> tuple[DmpStatus, Authorisation]:
        """The DMP's status and this operator's authorisation on it."""
        enforce(may_manage(actor.role), db, actor, AuditAction.STATUS, now=now, patient_ins=ins)
        row = read_traced(
            db, status_query(ins, actor.id), actor, AuditAction.STATUS, now=now, patient_ins=ins
        )
        found, relation = status_of(row, actor.id)
        if found is None:
            status, authorisation = DmpStatus.NONE, Authorisation.NOT_AUTHORISED
        else:
            status = DmpStatus(found)
            if relation.blocked:
                authorisation = Authorisation.BLOCKED
            elif relation.authorised and actor.role in _PROFESSIONALS:
                authorisation = Authorisation.AUTHORISED
            else:
                authorisation = Authorisation.NOT_AUTHORISED
        return status, authorisation

    def open(
        self,
        db: Session,
        actor: Actor,
        ins: str,
        *,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
        now: dt.datetime,
    ) -> Summary:
        """Open the record's summary, if the rules allow, and trace it."""
        dmp = self._enter(
            db, actor, ins, AuditAction.OPEN, mode, reason_code, reason_text, now, detail=""
        )
        return self._summary(db, dmp, actor, mode, now.date())

    def documents(
        self,
        db: Session,
        actor: Actor,
        ins: str,
        *,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
        now: dt.datetime,
        current_only: bool = True,
    ) -> list[Document]:
        """The record's documents this reader may see (every version, or the current ones),
        newest care first, under the same rules and trace as an opening."""
        dmp = self._enter(
            db,
            actor,
            ins,
            AuditAction.DOCUMENT_SEARCH,
            mode,
            reason_code,
            reason_text,
            now,
            detail="",
        )
        query = select(Document).where(Document.dmp_ins == ins)
        if current_only:
            query = query.where(Document.replaced_by.is_(None))
        seen = [d for d in db.scalars(query) if self._sees(dmp, actor, mode, d)]
        seen.sort(key=lambda d: (d.document_date, d.created_at), reverse=True)
        return seen

    def document_file(
        self,
        db: Session,
        actor: Actor,
        ins: str,
        document_id: str,
        *,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
        now: dt.datetime,
    ) -> tuple[Document, bytes]:
        """One document and its bytes (hash checked), if this reader may see it; a document
        they may not see is answered as one that does not exist, and the try is traced."""
        dmp = self._enter(
            db,
            actor,
            ins,
            AuditAction.DOCUMENT_READ,
            mode,
            reason_code,
            reason_text,
            now,
            detail=document_id,
        )
        doc = repository.document_of(db, ins, document_id)
        if doc is None or not self._sees(dmp, actor, mode, doc):
            refuse(
                db,
                actor,
                AuditAction.DOCUMENT_READ,
                NotFound("no such document", code="no_document"),
                now=now,
                patient_ins=ins,
                mode=mode,
            )
        return doc, repository.read_file(db, doc)

    @staticmethod
    def _sees(dmp: Dmp, actor: Actor, mode: AccessMode, doc: Document) -> bool:
        return may_see(
            actor.role,
            mode,
            choices_of(dmp),
            Labels(doc.masked_to_professionals, doc.invisible_to_representatives),
            author=doc.author_id == actor.id,
            treating_doctor=dmp.treating_doctor == actor.id,
        )

    def _enter(
        self,
        db: Session,
        actor: Actor,
        ins: str,
        action: AuditAction,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
        now: dt.datetime,
        *,
        detail: str,
    ) -> Dmp:
        """The record, if the rules let this reader in with this mode; traced either way, and
        told to the patient (first access by this professional, every emergency access)."""

        def refused(error: ServiceError) -> NoReturn:
            refuse(db, actor, action, error, now=now, patient_ins=ins, mode=mode)

        if actor.role in FORBIDDEN_ROLES:
            refused(denial("forbidden_party"))
        dmp, relation = dmp_and_relation(db, ins, actor.id)
        if dmp is None:
            refused(NotFound("no DMP for this INS", code="no_dmp"))
        if mode is AccessMode.BREAK_GLASS and not (reason_code and reason_text):
            refused(denial("reason_required"))
        decision = may_open(
            actor.role, mode, choices_of(dmp), relation, dmp_open=dmp.status == DmpStatus.VALID
        )
        if not decision.allowed:
            refused(denial(decision.reason))
        if mode is AccessMode.BREAK_GLASS:  # "<document id>;" first when one was read
            detail = (f"{detail};" if detail else "") + f"{reason_code}: {reason_text}"
        trace(
            db,
            actor,
            action,
            now=now,
            outcome=AuditOutcome.ALLOWED,
            patient_ins=ins,
            mode=mode,
            detail=detail,
        )
        if actor.role not in (Role.PATIENT, Role.REPRESENTATIVE):  # no "first access" to oneself
            self._tell_patient_of_access(db, dmp, actor, mode, now)
        return dmp

    def _tell_patient_of_access(
        self, db: Session, dmp: Dmp, actor: Actor, mode: AccessMode, now: dt.datetime
    ) -> None:
        portal = self.notices.portal_url
        if mode is not AccessMode.NORMAL:
            if dmp.notify_emergency:
                self.notices.tell(
                    db,
                    dmp,
                    f"emergency:{dmp.ins}:{actor.session_id}:{now.isoformat()}",
                    messages.emergency_access(actor.public_label(), mode, now, portal),
                    now,
                )
            return
        # One statement: recorded now, or already (by an earlier or a concurrent opening).
        first = (
            db.connection()
            .execute(
                insert_for(db)(FirstAccess)
                .values(dmp_ins=dmp.ins, id_nat=actor.id, at=now)
                .on_conflict_do_nothing(index_elements=["dmp_ins", "id_nat"])
                .returning(FirstAccess.id)
            )
            .first()
        )
        if first is None:
            return
        if dmp.notify_first_access:
            self.notices.tell(
                db,
                dmp,
                f"first_access:{dmp.ins}:{actor.id}",
                messages.first_access(actor.public_label(), now, portal),
                now,
            )

    @staticmethod
    def _summary(db: Session, dmp: Dmp, actor: Actor, mode: AccessMode, today: dt.date) -> Summary:
        visible = [
            doc
            for doc in repository.current_documents(db, dmp.ins)
            if RecordAccess._sees(dmp, actor, mode, doc)
        ]
        horizon = history_horizon(today)
        texts = repository.texts_of(db, dmp.ins, visible)

        def section(
            category: Category, *, latest: int | None = None, since: dt.date | None = None
        ) -> list[DocumentOut]:
            docs = [
                d
                for d in visible
                if d.category == category.value and (since is None or d.document_date >= since)
            ]
            docs.sort(key=lambda d: (d.document_date, d.created_at), reverse=True)
            return [document_out(d, texts) for d in (docs[:latest] if latest else docs)]

        sections = {
            "medications": section(Category.MEDICATIONS),
            "pathologies_allergies": section(Category.PATHOLOGIES_ALLERGIES),
            "care_history_24_months": section(Category.CARE_HISTORY, since=horizon),
            "latest_reports": section(Category.REPORTS, latest=_LATEST),
            "latest_exam_results": section(Category.EXAM_RESULTS, latest=_LATEST),
            "advance_directives": section(Category.ADVANCE_DIRECTIVES),
            "emergency_contacts": section(Category.EMERGENCY_CONTACTS),
            "other": section(Category.OTHER),
        }
        return Summary(
            ins=dmp.ins,
            mode=mode,
            sections=sections,
            care_lines=[care_line_out(line) for line in care_history(db, dmp.ins, today)],
        )
