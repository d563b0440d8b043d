"""What the DMP's use cases share: the professional's standing, the patient's choices as the
policy reads them, documents as readers see them, and telling the patient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, refuse
from central.dmp.changes import Standing
from central.dmp.models import CareLine, Dmp, DmpProfessional, Document
from central.dmp.policy import Choices, Decision, Relation
from central.dmp.schemas import CareLineOut, CareNature, CodeSystem, DocumentOut
from central.errors import Forbidden, ForbiddenParty
from central.identity.service import presence
from central.notify.service import Notifier
from dmpcommon.people import BirthDate
from dmpcommon.vocabulary import AccessMode, Authorisation, DmpStatus, Role

__all__ = [
    "PatientNotices",
    "choices_of",
    "denial",
    "enforce",
    "managed_by_representative",
    "standing",
    "dmp_and_relation",
    "status_of",
    "status_query",
    "care_history",
    "care_line_out",
    "document_out",
    "history_horizon",
    "relation",
]


def denial(reason: str) -> Forbidden:
    """The error that refuses an actor for this policy reason."""
    if reason == "forbidden_party":
        return ForbiddenParty("access to the DMP is forbidden to this party, whatever the consent")
    return Forbidden(reason, code=reason)


def enforce(
    decision: Decision,
    db: Session,
    actor: Actor,
    action: AuditAction,
    *,
    now: dt.datetime,
    patient_ins: str,
    mode: AccessMode = AccessMode.NORMAL,
) -> None:
    """A policy decision carried out: nothing if allowed; else the refusal traced (kept
    through the rollback) and raised."""
    if not decision.allowed:
        refuse(
            db, actor, action, denial(decision.reason), now=now, patient_ins=patient_ins, mode=mode
        )


def standing(
    db: Session, actor: Actor, ins: str, now: dt.datetime, *, at_creation: bool = False
) -> Standing:
    """Who asks for a change, as the change rules read it: a patient on their own record, or
    an operator with or without the patient present (card read and qualified just before)."""
    if actor.role in (Role.PATIENT, Role.REPRESENTATIVE):
        if actor.patient_ins != ins:
            raise Forbidden("not your record", code="not_your_record")
        return Standing(actor.role)
    seen = presence(db, actor.session_id, ins, now)
    return Standing(
        actor.role, present=seen is not None, by_card=seen is True, at_creation=at_creation
    )


def managed_by_representative(dmp: Dmp, today: dt.date) -> bool:
    """A minor's record, consented to by a legal representative: the patient's sessions and
    contact are the representative's, who must not learn of documents hidden from them."""
    return dmp.consent_by == "representative" and BirthDate.parse(dmp.birth_date).minor_on(today)


def kept_from_representatives(db: Session, ins: str) -> set[str]:
    """The professionals a minor sees in confidence: the authors of the record's documents
    hidden from its legal representatives. A representative learns nothing of them (not
    in the log, not among who may read) and may not revoke or block them."""
    return set(
        db.scalars(
            select(Document.author_id).where(
                Document.dmp_ins == ins,
                Document.invisible_to_representatives.is_(True),
                ~Document.author_id.startswith("patient:"),
            )
        )
    )


def _relation(dmp: Dmp, id_nat: str, status: str | None) -> Relation:
    return _standing(dmp.treating_doctor, id_nat, status)


def _standing(treating_doctor: str | None, id_nat: str, status: str | None) -> Relation:
    """Authorised (explicitly, or as the treating doctor) or blocked: the rule, once."""
    return Relation(
        authorised=status == Authorisation.AUTHORISED or treating_doctor == id_nat,
        blocked=status == Authorisation.BLOCKED,
    )


def relation(db: Session, dmp: Dmp, id_nat: str) -> Relation:
    """The professional's standing on this DMP."""
    status = db.scalar(
        select(DmpProfessional.status).where(
            DmpProfessional.dmp_ins == dmp.ins, DmpProfessional.id_nat == id_nat
        )
    )
    return _relation(dmp, id_nat, status)


def status_query(ins: str, id_nat: str) -> Select[str, str | None, str]:
    """What a status check reads, by columns (it needs no more of the record): the DMP's
    status, its treating doctor and the professional's standing (`status_of` reads it)."""
    return (
        select(Dmp.status, Dmp.treating_doctor, DmpProfessional.status)
        .outerjoin(
            DmpProfessional,
            (DmpProfessional.dmp_ins == Dmp.ins) & (DmpProfessional.id_nat == id_nat),
        )
        .where(Dmp.ins == ins)
    )


def status_of(row: Sequence[Any] | None, id_nat: str) -> tuple[str | None, Relation]:
    """The DMP's status (None: no DMP) and the professional's standing, from `status_query`."""
    if row is None:
        return None, Relation(authorised=False, blocked=False)
    return row[0], _standing(row[1], id_nat, row[2])


def dmp_and_relation(db: Session, ins: str, id_nat: str) -> tuple[Dmp | None, Relation]:
    """The DMP and the professional's standing on it, in one round trip."""
    row = db.execute(
        select(Dmp, DmpProfessional.status)
        .outerjoin(
            DmpProfessional,
            (DmpProfessional.dmp_ins == Dmp.ins) & (DmpProfessional.id_nat == id_nat),
        )
        .where(Dmp.ins == ins)
    ).first()
    if row is None:
        return None, Relation(authorised=False, blocked=False)
    return row[0], _relation(row[0], id_nat, row[1])


def choices_of(dmp: Dmp) -> Choices:
    """The patient's emergency choices, as the policy reads them."""
    return Choices(etreat=dmp.etreat, btg=dmp.btg, masked_in_emergency=dmp.masked_in_emergency)


def history_horizon(today: dt.date) -> dt.date:
    """The first day of the care history's 24 months (older care leaves the view)."""
    try:
        return today.replace(year=today.year - 2)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 2, day=28)


def care_history(db: Session, ins: str, today: dt.date) -> list[CareLine]:
    """The reimbursed care of the last 24 months, newest first."""
    return list(
        db.scalars(
            select(CareLine)
            .where(CareLine.dmp_ins == ins, CareLine.care_date >= history_horizon(today))
            .order_by(CareLine.care_date.desc(), CareLine.line_id)
        )
    )


def care_line_out(line: CareLine) -> CareLineOut:
    """A line of the care history as a reader receives it."""
    return CareLineOut(
        line_id=line.line_id,
        care_date=line.care_date.isoformat(),
        nature=CareNature(line.nature),
        code_system=CodeSystem(line.code_system),
        code=line.code,
        label=line.label,
        quantity=line.quantity,
        executant=line.executant,
    )


def document_out(doc: Document, texts: Mapping[str, str]) -> DocumentOut:
    """A document as a reader receives it; a text's content from `texts`
    (central.dmp.repository.texts_of)."""
    return DocumentOut(
        id=doc.id,
        category=doc.category,
        loinc=doc.loinc,
        title=doc.title,
        content=texts.get(doc.sha256) if doc.mime_type == "text/plain" else None,
        mime_type=doc.mime_type,
        size=doc.size,
        sha256=doc.sha256,
        format_code=doc.format_code,
        filename=doc.filename,
        created_at=doc.created_at,
        author=doc.author_name,
        author_role=doc.author_role,
        document_date=doc.document_date.isoformat(),
        masked_to_professionals=doc.masked_to_professionals,
        invisible_to_representatives=doc.invisible_to_representatives,
        replaces=doc.replaces,
    )


class PatientNotices:
    """Tells the patient through the outbox, at the DMP's contact, if there is one."""

    def __init__(self, notifier: Notifier, portal_url: str) -> None:
        self.notifier = notifier
        self.portal_url = portal_url

    def tell(
        self,
        db: Session,
        dmp: Dmp,
        key: str,
        text: tuple[str, str],
        now: dt.datetime,
        *,
        even_closed: bool = False,
    ) -> None:
        """Queue one message (de-duplicated by `key`); no health data in `text`. A closed DMP
        sends nothing but its closing."""
        if dmp.status == DmpStatus.CLOSED and not even_closed:
            return
        if dmp.notify_channel and dmp.notify_address:
            self.notifier.enqueue(
                db,
                dedup_key=key,
                channel=dmp.notify_channel,
                address=dmp.notify_address,
                subject=text[0],
                body=text[1],
                now=now,
            )
