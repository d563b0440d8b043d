"""DMP rules: status, creation with consent, professionals, documents, opening the record.

Every read, write and refusal is appended to the audit log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.service import AuditLog
from central.dmp import repository
from central.dmp.models import Dmp, DmpProfessional, Document, FirstAccess, PatientAccess
from central.dmp.policy import Choices, Labels, Mode, Relation, may_manage, may_open, may_see
from central.dmp.schemas import (
    Category,
    CreateDmpRequest,
    DocumentIn,
    DocumentOut,
    NotificationContact,
)
from central.errors import BadRequest, Conflict, Forbidden, ForbiddenParty, NotFound
from central.identity.service import IdentityRegister
from central.notify import messages
from central.notify.service import Notifier
from central.professionals.roles import FORBIDDEN_ROLES, Role
from central.security import hash_secret, new_code, new_identifier

__all__ = ["DEFAULT_LOINC", "DmpService", "Summary", "age_on"]

# LOINC document types where one fits the category.
DEFAULT_LOINC = {
    Category.CARE_HISTORY: "34117-2",  # History and physical note
    Category.PATHOLOGIES_ALLERGIES: "48765-2",  # Allergies and adverse reactions
    Category.MEDICATIONS: "10160-0",  # History of medication use
    Category.REPORTS: "11488-4",  # Consult note
    Category.EXAM_RESULTS: "30954-2",  # Relevant diagnostic tests/laboratory data
    Category.ADVANCE_DIRECTIVES: "42348-3",  # Advance directives
}
_LATEST = 10


@dataclass(frozen=True, slots=True)
class Summary:
    """The record as opened, filtered for the reader."""

    ins: str
    mode: str
    sections: dict[str, list[DocumentOut]]
    hidden: int


def age_on(birth_date: str, today: dt.date) -> int | None:
    """Age in whole years on a day; None for a lunar date (no exact day)."""
    try:
        born = dt.date.fromisoformat(birth_date)
    except ValueError:
        return None  # a lunar date: the register's date is authoritative
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def document_out(doc: Document) -> DocumentOut:
    return DocumentOut(
        id=doc.id,
        category=doc.category,
        loinc=doc.loinc,
        title=doc.title,
        content=doc.content,
        author=doc.author_name,
        document_date=doc.document_date.isoformat(),
        masked_to_professionals=doc.masked_to_professionals,
        invisible_to_representatives=doc.invisible_to_representatives,
        replaces=doc.replaces,
    )


def _relation(dmp: Dmp, id_nat: str, status: str | None) -> Relation:
    return Relation(
        authorised=status == "AUTORISE" or dmp.treating_doctor == id_nat,
        blocked=status == "BLOQUE",
    )


def choices_of(dmp: Dmp) -> Choices:
    return Choices(etreat=dmp.etreat, btg=dmp.btg, masked_in_emergency=dmp.masked_in_emergency)


class DmpService:
    """The DMP's rules over the database."""

    def __init__(
        self,
        *,
        register: IdentityRegister,
        notifier: Notifier,
        key: bytes,
        portal_url: str,
        activation_days: int,
    ) -> None:
        self.register = register
        self.notifier = notifier
        self.key = key
        self.portal_url = portal_url
        self.activation_days = activation_days

    # -- helpers ---------------------------------------------------------------------------

    def _refuse(
        self,
        db: Session,
        actor: Actor,
        ins: str,
        action: str,
        reason: str,
        *,
        mode: str = "normal",
        now: dt.datetime,
    ) -> None:
        """Log the refusal (kept even though the request fails), then raise."""
        AuditLog.append(
            db,
            actor=actor,
            action=action,
            outcome="refused",
            patient_ins=ins,
            mode=mode,
            detail=reason,
            now=now,
        )
        if reason == "forbidden_party":
            raise ForbiddenParty(
                "access to the DMP is forbidden to this party, whatever the consent", keep=True
            )
        raise Forbidden(reason, code=reason, keep=True)

    def relation(self, db: Session, dmp: Dmp, id_nat: str) -> Relation:
        status = db.scalar(
            select(DmpProfessional.status).where(
                DmpProfessional.dmp_ins == dmp.ins, DmpProfessional.id_nat == id_nat
            )
        )
        return _relation(dmp, id_nat, status)

    @staticmethod
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

    def _notify(
        self, db: Session, dmp: Dmp, key: str, text: tuple[str, str], now: dt.datetime
    ) -> None:
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

    # -- operator operations ---------------------------------------------------------------

    def status(self, db: Session, actor: Actor, ins: str, now: dt.datetime) -> tuple[str, str]:
        """The DMP's status and this operator's authorisation on it."""
        decision = may_manage(actor.role)
        if not decision.allowed:
            self._refuse(db, actor, ins, "status", decision.reason, now=now)
        dmp, relation = self.dmp_and_relation(db, ins, actor.id)
        if dmp is None:
            status, authorisation = "NON_EXISTE", "NON_AUTORISE"
        else:
            status = dmp.status
            professional = actor.role in (Role.HEALTH_PROFESSIONAL, Role.SAMU_REGULATOR)
            if relation.blocked:
                authorisation = "BLOQUE"
            elif relation.authorised and professional:
                authorisation = "AUTORISE"
            else:
                authorisation = "NON_AUTORISE"
        AuditLog.append(
            db, actor=actor, action="status", outcome="allowed", patient_ins=ins, now=now
        )
        return status, authorisation

    def create(
        self, db: Session, actor: Actor, request: CreateDmpRequest, now: dt.datetime
    ) -> tuple[Dmp, PatientAccess, str]:
        """Create the DMP with the consent record; returns the one-time activation code."""
        decision = may_manage(actor.role)
        if not decision.allowed:
            self._refuse(db, actor, request.ins, "create", decision.reason, now=now)
        person = self.register.by_ins(request.ins)
        if person is None:
            raise NotFound("no qualified identity with this INS", code="ins_not_qualified")
        self.check_consent(person.birth_date, request, now.date())
        dmp = Dmp(
            ins=person.ins,
            oid=person.oid,
            status="VALIDE",
            created_at=now,
            created_by=actor.id,
            nom=person.nom_naissance,
            prenom=person.prenoms[0],
            birth_date=person.birth_date,
            consent_by="representative" if request.representative else "self",
            consent_at=now,
            information_version=request.information_version,
            representative_nom=request.representative.nom if request.representative else None,
            representative_prenom=request.representative.prenom if request.representative else None,
            representative_birth_date=(
                request.representative.birth_date if request.representative else None
            ),
            representative_nir=request.representative.nir if request.representative else None,
            etreat=request.emergency.etreat,
            btg=request.emergency.btg,
            masked_in_emergency=request.emergency.masked,
            notify_channel=request.contact.channel if request.contact else None,
            notify_address=request.contact.address if request.contact else None,
            notify_new_document=True,
            notify_first_access=True,
            notify_emergency=True,
            treating_doctor=request.treating_doctor,
        )
        code = request.activation_code or new_code(8)
        access = PatientAccess(
            dmp_ins=person.ins,
            identifier=request.access_identifier or new_identifier(),
            activation_hash=hash_secret(self.key, code, purpose="activation"),
            activation_expires_at=now + dt.timedelta(days=self.activation_days),
        )
        try:
            with db.begin_nested():
                db.add(dmp)
                db.flush()
        except IntegrityError as exc:
            raise Conflict("this patient already has a DMP", code="dmp_exists") from exc
        try:
            with db.begin_nested():
                db.add(access)
                db.flush()
        except IntegrityError as exc:  # a kiosk-drawn identifier already given (50 bits)
            raise Conflict("access identifier already in use", code="identifier_taken") from exc
        for id_nat in dict.fromkeys(request.authorised_professionals):
            db.add(
                DmpProfessional(
                    dmp_ins=dmp.ins,
                    id_nat=id_nat,
                    status="AUTORISE",
                    changed_at=now,
                    changed_by=actor.id,
                )
            )
        detail = f"consent={dmp.consent_by};info={dmp.information_version};" + (
            f"etreat={int(dmp.etreat)};btg={int(dmp.btg)};masked={int(dmp.masked_in_emergency)}"
        )
        AuditLog.append(
            db,
            actor=actor,
            action="create",
            outcome="done",
            patient_ins=dmp.ins,
            detail=detail,
            now=now,
        )
        return dmp, access, code

    @staticmethod
    def check_consent(birth_date: str, request: CreateDmpRequest, today: dt.date) -> None:
        """A minor's consent comes from an adult legal representative."""
        age = age_on(birth_date, today)
        minor = age is not None and age < 18
        if minor and request.representative is None:
            raise BadRequest(
                "a minor's DMP needs a legal representative's consent",
                code="representative_required",
            )
        if request.representative is not None:
            rep_age = age_on(request.representative.birth_date, today)
            if rep_age is None or rep_age < 18:
                raise BadRequest(
                    "the legal representative must be an adult", code="representative_not_adult"
                )
            if not minor:
                raise BadRequest("an adult consents for themself", code="representative_for_adult")

    def set_professional(
        self, db: Session, actor: Actor, ins: str, id_nat: str, action: str, now: dt.datetime
    ) -> None:
        """Authorise, revoke or block a professional (the patient's decision)."""
        if actor.role in FORBIDDEN_ROLES:
            self._refuse(db, actor, ins, f"professional_{action}", "forbidden_party", now=now)
        if actor.role not in (
            Role.PATIENT,
            Role.REPRESENTATIVE,
            Role.HEALTH_PROFESSIONAL,
            Role.ADMINISTRATIVE_AGENT,
            Role.SAMU_REGULATOR,
        ):
            raise Forbidden("not allowed")
        dmp = repository.get_dmp(db, ins)
        row = db.scalar(
            select(DmpProfessional).where(
                DmpProfessional.dmp_ins == ins, DmpProfessional.id_nat == id_nat
            )
        )
        if action == "revoke":
            if row is not None and row.status == "AUTORISE":
                db.delete(row)
            if dmp.treating_doctor == id_nat:
                dmp.treating_doctor = None
        else:
            status = "AUTORISE" if action == "authorise" else "BLOQUE"
            if row is None:
                db.add(
                    DmpProfessional(
                        dmp_ins=ins,
                        id_nat=id_nat,
                        status=status,
                        changed_at=now,
                        changed_by=actor.id,
                    )
                )
            else:
                row.status, row.changed_at, row.changed_by = status, now, actor.id
            if status == "BLOQUE" and dmp.treating_doctor == id_nat:
                dmp.treating_doctor = None
        AuditLog.append(
            db,
            actor=actor,
            action=f"professional_{action}",
            outcome="done",
            patient_ins=ins,
            detail=id_nat,
            now=now,
        )

    def _managed_dmp(
        self, db: Session, actor: Actor, ins: str, action: str, now: dt.datetime
    ) -> Dmp:
        decision = may_manage(actor.role)
        if not decision.allowed:
            self._refuse(db, actor, ins, action, decision.reason, now=now)
        return repository.get_dmp(db, ins)

    def set_contact(
        self,
        db: Session,
        actor: Actor,
        ins: str,
        contact: NotificationContact,
        now: dt.datetime,
    ) -> None:
        """The patient's notification contact, given at the counter."""
        dmp = self._managed_dmp(db, actor, ins, "contact_set", now)
        dmp.notify_channel, dmp.notify_address = contact.channel, contact.address
        AuditLog.append(
            db, actor=actor, action="contact_set", outcome="done", patient_ins=ins, now=now
        )

    def set_treating_doctor(
        self, db: Session, actor: Actor, ins: str, id_nat: str, now: dt.datetime
    ) -> None:
        """The treating doctor the patient names at the counter (not one they blocked)."""
        dmp = self._managed_dmp(db, actor, ins, "treating_doctor_set", now)
        if self.relation(db, dmp, id_nat).blocked:
            raise Conflict(
                "the patient blocked this professional; only they can lift it",
                code="professional_blocked",
            )
        dmp.treating_doctor = id_nat
        AuditLog.append(
            db,
            actor=actor,
            action="treating_doctor_set",
            outcome="done",
            patient_ins=ins,
            detail=id_nat,
            now=now,
        )

    def add_document(
        self, db: Session, actor: Actor, ins: str, doc: DocumentIn, now: dt.datetime
    ) -> Document:
        """Add (or replace) a document; the patient is told, without what it is."""
        dmp = repository.get_dmp(db, ins)
        if actor.role in (Role.PATIENT, Role.REPRESENTATIVE):
            if actor.patient_ins != ins:
                raise Forbidden("not your record")
            if doc.category not in (
                Category.EMERGENCY_CONTACTS,
                Category.OTHER,
                Category.ADVANCE_DIRECTIVES,
                Category.PATHOLOGIES_ALLERGIES,
            ):
                raise Forbidden("patients add emergency contacts, notes and directives only")
        else:
            decision = may_open(
                actor.role,
                Mode.NORMAL,
                choices_of(dmp),
                self.relation(db, dmp, actor.id),
                dmp_open=dmp.status == "VALIDE",
            )
            if not decision.allowed:
                self._refuse(db, actor, ins, "add_document", decision.reason, now=now)
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
        AuditLog.append(
            db,
            actor=actor,
            action="add_document",
            outcome="done",
            patient_ins=ins,
            detail=f"{row.id};{row.category}",
            now=now,
        )
        if dmp.notify_new_document and actor.role not in (Role.PATIENT, Role.REPRESENTATIVE):
            self._notify(
                db, dmp, f"new_document:{row.id}", messages.new_document(self.portal_url), now
            )
        return row

    def open(
        self,
        db: Session,
        actor: Actor,
        ins: str,
        *,
        mode: Mode,
        reason_code: str | None,
        reason_text: str | None,
        now: dt.datetime,
    ) -> Summary:
        """Open the record's summary, if the rules allow, and trace it."""
        if actor.role in FORBIDDEN_ROLES:
            self._refuse(db, actor, ins, "open", "forbidden_party", mode=mode.value, now=now)
        dmp, relation = self.dmp_and_relation(db, ins, actor.id)
        if dmp is None:
            AuditLog.append(
                db,
                actor=actor,
                action="open",
                outcome="refused",
                patient_ins=ins,
                mode=mode.value,
                detail="no_dmp",
                now=now,
            )
            raise NotFound("no DMP for this INS", code="no_dmp", keep=True)
        if mode is Mode.BREAK_GLASS and not (reason_code and reason_text):
            self._refuse(db, actor, ins, "open", "reason_required", mode=mode.value, now=now)
        decision = may_open(
            actor.role, mode, choices_of(dmp), relation, dmp_open=dmp.status == "VALIDE"
        )
        if not decision.allowed:
            self._refuse(db, actor, ins, "open", decision.reason, mode=mode.value, now=now)
        detail = f"{reason_code}: {reason_text}" if mode is Mode.BREAK_GLASS else ""
        AuditLog.append(
            db,
            actor=actor,
            action="open",
            outcome="allowed",
            patient_ins=ins,
            mode=mode.value,
            detail=detail,
            now=now,
        )
        self._tell_patient_of_access(db, dmp, actor, mode, now)
        return self._summary(db, dmp, actor.role, mode, now.date())

    def _tell_patient_of_access(
        self, db: Session, dmp: Dmp, actor: Actor, mode: Mode, now: dt.datetime
    ) -> None:
        if mode is not Mode.NORMAL:
            if dmp.notify_emergency:
                self._notify(
                    db,
                    dmp,
                    f"emergency:{dmp.ins}:{actor.session_id}:{now.isoformat()}",
                    messages.emergency_access(
                        actor.public_label(), mode.value, now, self.portal_url
                    ),
                    now,
                )
            return
        first = db.scalar(
            select(func.count())
            .select_from(FirstAccess)
            .where(FirstAccess.dmp_ins == dmp.ins, FirstAccess.id_nat == actor.id)
        )
        if first:
            return
        try:
            with db.begin_nested():
                db.add(FirstAccess(dmp_ins=dmp.ins, id_nat=actor.id, at=now))
        except IntegrityError:
            return  # a concurrent open recorded it first
        if dmp.notify_first_access:
            self._notify(
                db,
                dmp,
                f"first_access:{dmp.ins}:{actor.id}",
                messages.first_access(actor.public_label(), now, self.portal_url),
                now,
            )

    def _summary(self, db: Session, dmp: Dmp, role: Role, mode: Mode, today: dt.date) -> Summary:
        choices = choices_of(dmp)
        visible: list[Document] = []
        hidden = 0
        for doc in repository.current_documents(db, dmp.ins):
            labels = Labels(doc.masked_to_professionals, doc.invisible_to_representatives)
            if may_see(role, mode, choices, labels):
                visible.append(doc)
            else:
                hidden += 1
        horizon = today - dt.timedelta(days=730)

        def section(
            category: Category, *, latest: int | None = None, since: dt.date | None = None
        ) -> list[DocumentOut]:
            docs = [
                d
                for d in visible
                if d.category == category.value and (since is None or d.document_date >= since)
            ]
            docs.sort(key=lambda d: (d.document_date, d.created_at), reverse=True)
            return [document_out(d) for d in (docs[:latest] if latest else docs)]

        sections = {
            "medications": section(Category.MEDICATIONS),
            "pathologies_allergies": section(Category.PATHOLOGIES_ALLERGIES),
            "care_history_24_months": section(Category.CARE_HISTORY, since=horizon),
            "latest_reports": section(Category.REPORTS, latest=_LATEST),
            "latest_exam_results": section(Category.EXAM_RESULTS, latest=_LATEST),
            "advance_directives": section(Category.ADVANCE_DIRECTIVES),
            "emergency_contacts": section(Category.EMERGENCY_CONTACTS),
        }
        return Summary(ins=dmp.ins, mode=mode.value, sections=sections, hidden=hidden)
