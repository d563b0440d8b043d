"""Creating a DMP: the consent (a minor's through an adult legal representative), the
patient's choices, and the access sheet's identifier and activation code."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, AuditOutcome, trace
from central.dmp.changes import Change, may_change
from central.dmp.common import enforce, history_horizon, standing
from central.dmp.models import CareHistoryRequest, Dmp, DmpProfessional, PatientAccess
from central.dmp.professionals import check_treating_doctor
from central.errors import BadRequest, Conflict, NotFound
from central.identity.service import IdentityRegister, Person
from central.security import hash_secret
from dmpcommon.actions import ConsentRecorded, DmpCreated, Representative
from dmpcommon.identifiers import new_access_identifier, new_activation_code
from dmpcommon.people import BirthDate, check_representative
from dmpcommon.vocabulary import Authorisation, DmpStatus, Role

__all__ = ["DmpCreation", "check_consent"]


def check_consent(birth_date: str, representative: Representative | None, today: dt.date) -> None:
    """A minor consents through an adult legal representative, an adult alone (BadRequest)."""
    try:
        patient = BirthDate.parse(birth_date)
        rep = BirthDate.parse(representative.birth_date) if representative else None
    except ValueError as exc:
        raise BadRequest("unreadable birth date", code="birth_date_invalid") from exc
    problem = check_representative(patient, rep, today)
    if problem is not None:
        raise BadRequest(f"consent refused: {problem.value}", code=problem.value)


class DmpCreation:
    """Creation with consent, at a kiosk (live, or through its queue)."""

    def __init__(self, *, register: IdentityRegister, key: bytes, activation_days: int) -> None:
        self.register = register
        self.key = key
        self.activation_days = activation_days

    def _person(self, ins: str) -> Person:
        person = self.register.by_ins(ins)
        if person is None:
            raise NotFound("no qualified identity with this INS", code="ins_not_qualified")
        return person

    def record_consent(
        self, db: Session, actor: Actor, ins: str, consent: ConsentRecorded, now: dt.datetime
    ) -> None:
        """The consent given at the counter, checked and traced (the creation follows)."""
        decision = may_change(Change.CREATE, standing(db, actor, ins, now))
        enforce(decision, db, actor, AuditAction.CONSENT, now=now, patient_ins=ins)
        person = self._person(ins)
        check_consent(person.birth_date, consent.representative, now.date())
        rep = consent.representative
        # How the representative was proven: on the child's card, or an identity document.
        by = (
            "self"
            if rep is None
            else "representative"
            + (f";document={rep.identity_document.value}" if rep.identity_document else ";card")
        )
        trace(
            db,
            actor,
            AuditAction.CONSENT,
            now=now,
            outcome=AuditOutcome.RECORDED,
            patient_ins=ins,
            detail=f"consent={by};info={consent.information_version}",
        )

    @staticmethod
    def _may_create(
        db: Session, actor: Actor, ins: str, request: DmpCreated, now: dt.datetime
    ) -> None:
        """The creation, and each choice it carries, as the change rules allow them: the
        patient present; the operator itself authorised only if a professional (the patient's
        agreement is the consent screen's tick), others only as the patient's choices."""
        action = AuditAction.CREATE
        who = standing(db, actor, ins, now, at_creation=True)
        enforce(may_change(Change.CREATE, who), db, actor, action, now=now, patient_ins=ins)
        for id_nat in request.authorised_professionals:
            own = id_nat == actor.id and actor.role not in (Role.PATIENT, Role.REPRESENTATIVE)
            change = Change.AUTHORISE_SELF if own else Change.AUTHORISE_OTHER
            enforce(may_change(change, who), db, actor, action, now=now, patient_ins=ins)
        if request.treating_doctor is not None:
            decision = may_change(Change.DESIGNATE_TREATING_DOCTOR, who)
            enforce(decision, db, actor, action, now=now, patient_ins=ins)
            check_treating_doctor(db, request.treating_doctor)

    def create(
        self, db: Session, actor: Actor, ins: str, request: DmpCreated, now: dt.datetime
    ) -> tuple[Dmp, PatientAccess, str]:
        """Create the DMP with the consent record; returns the one-time activation code."""
        self._may_create(db, actor, ins, request, now)
        person = self._person(ins)
        check_consent(person.birth_date, request.representative, now.date())
        rep = request.representative
        contact = request.contact
        dmp = Dmp(
            ins=person.ins,
            oid=person.oid,
            status=DmpStatus.VALID.value,
            created_at=now,
            created_by=actor.id,
            nom=person.nom_naissance,
            prenom=person.prenoms[0],
            birth_date=person.birth_date,
            consent_by="representative" if rep else "self",
            consent_at=now,
            information_version=request.information_version,
            representative_nom=rep.nom if rep else None,
            representative_prenom=rep.prenom if rep else None,
            representative_birth_date=rep.birth_date if rep else None,
            representative_nir=rep.nir if rep else None,
            etreat=request.emergency.etreat,
            btg=request.emergency.btg,
            masked_in_emergency=request.emergency.masked,
            notify_channel=contact.channel.value if contact else None,
            notify_address=contact.address if contact else None,
            notify_new_document=True,
            notify_first_access=True,
            notify_emergency=True,
            treating_doctor=request.treating_doctor,
        )
        code = request.activation_code or new_activation_code()
        access = PatientAccess(
            dmp_ins=person.ins,
            identifier=request.access_identifier or new_access_identifier(),
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
                    status=Authorisation.AUTHORISED.value,
                    changed_at=now,
                    changed_by=actor.id,
                )
            )
        # The health insurance's feed sends the last 24 months (central.insurance).
        db.add(
            CareHistoryRequest(dmp_ins=dmp.ins, since=history_horizon(now.date()), requested_at=now)
        )
        detail = f"consent={dmp.consent_by};info={dmp.information_version};" + (
            f"etreat={int(dmp.etreat)};btg={int(dmp.btg)};masked={int(dmp.masked_in_emergency)}"
        )
        trace(db, actor, AuditAction.CREATE, now=now, patient_ins=dmp.ins, detail=detail)
        return dmp, access, code
