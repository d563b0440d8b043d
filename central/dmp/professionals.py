"""Who the patient lets in: authorising, revoking, blocking or unblocking a professional, and
naming the treating doctor. The patient holds the keys (central.dmp.changes): a professional
authorises only itself, with the patient present and agreeing, never over a block, and
revokes only its own authorisation; only the patient blocks, unblocks or lets others in."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, refuse, trace
from central.dmp import repository
from central.dmp.changes import Change, may_change
from central.dmp.common import enforce, kept_from_representatives, relation, standing
from central.dmp.models import Dmp, DmpProfessional
from central.dmp.schemas import ProfessionalChange
from central.errors import BadRequest, Conflict, Forbidden
from central.professionals.models import OperatorSession
from dmpcommon.identifiers import (
    IdentifierError,
    check_health_professional_id_nat,
    rpps_of_id_nat,
)
from dmpcommon.vocabulary import Authorisation, Role

__all__ = [
    "RecordProfessionals",
    "check_treating_doctor",
    "forget_professions",
    "hold_professions",
]

_AUDIT = {
    ProfessionalChange.AUTHORISE: AuditAction.PROFESSIONAL_AUTHORISE,
    ProfessionalChange.REVOKE: AuditAction.PROFESSIONAL_REVOKE,
    ProfessionalChange.BLOCK: AuditAction.PROFESSIONAL_BLOCK,
    ProfessionalChange.UNBLOCK: AuditAction.PROFESSIONAL_UNBLOCK,
}
_PHYSICIAN = "10"  # TRE_G15
_HELD_PROFESSIONS = "held_professions"


def _professional_id(id_nat: str) -> str:
    """A card identifier that names a health professional, or BadRequest with why."""
    try:
        return check_health_professional_id_nat(id_nat)
    except IdentifierError as exc:
        raise BadRequest(
            "not a health professional's identifier", code=f"id_nat_{exc.problem.value}"
        ) from exc


def hold_professions(db: Session) -> None:
    """Look each card's profession up once while a pass of work holds them (an ingest's
    batch, which forgets them when it opens a session): the card's, not a patient's."""
    db.info[_HELD_PROFESSIONS] = {}


def forget_professions(db: Session, *, stop: bool = False) -> None:
    """Forget the professions held (a session was opened), or `stop` holding them."""
    if stop:
        db.info.pop(_HELD_PROFESSIONS, None)
    elif _HELD_PROFESSIONS in db.info:
        db.info[_HELD_PROFESSIONS] = {}


def check_treating_doctor(db: Session, id_nat: str) -> str:
    """A treating doctor is a physician named by RPPS: "8" + RPPS, and, where the service
    has seen their card, profession 10. BadRequest otherwise."""
    id_nat = _professional_id(id_nat)
    if rpps_of_id_nat(id_nat) is None:
        raise BadRequest("a treating doctor is named by RPPS", code="id_nat_not_rpps")
    held: dict[str, str | None] | None = db.info.get(_HELD_PROFESSIONS)
    if held is not None and id_nat in held:
        profession = held[id_nat]
    else:
        profession = db.scalar(
            select(OperatorSession.profession)
            .where(OperatorSession.id_nat == id_nat)
            .order_by(OperatorSession.created_at.desc())
            .limit(1)
        )
        if held is not None:
            held[id_nat] = profession
    if profession is not None and profession != _PHYSICIAN:
        raise BadRequest("a treating doctor is a physician", code="not_a_physician")
    return id_nat


def _change_asked(actor: Actor, id_nat: str, change: ProfessionalChange) -> Change:
    own = actor.role not in (Role.PATIENT, Role.REPRESENTATIVE) and id_nat == actor.id
    return {
        ProfessionalChange.AUTHORISE: Change.AUTHORISE_SELF if own else Change.AUTHORISE_OTHER,
        ProfessionalChange.REVOKE: Change.REVOKE_OWN if own else Change.REVOKE_OTHER,
        ProfessionalChange.BLOCK: Change.BLOCK,
        ProfessionalChange.UNBLOCK: Change.UNBLOCK,
    }[change]


class RecordProfessionals:
    """Authorisations, blocks and the treating doctor."""

    def set_professional(
        self,
        db: Session,
        actor: Actor,
        ins: str,
        id_nat: str,
        change: ProfessionalChange,
        now: dt.datetime,
        *,
        patient_agreement: bool = False,
    ) -> None:
        """Authorise, revoke, block or unblock a professional, if the rules allow it."""
        action = _AUDIT[change]
        id_nat = _professional_id(id_nat)
        asked = _change_asked(actor, id_nat, change)
        who = standing(db, actor, ins, now)
        enforce(may_change(asked, who), db, actor, action, now=now, patient_ins=ins)
        dmp = repository.get_dmp(db, ins)
        if actor.role is Role.REPRESENTATIVE and id_nat in kept_from_representatives(db, ins):
            refuse(  # a minor's care in confidence is not the parent's to cut
                db,
                actor,
                action,
                Forbidden("kept from representatives", code="kept_from_representatives"),
                now=now,
                patient_ins=ins,
            )
        row = db.scalar(
            select(DmpProfessional).where(
                DmpProfessional.dmp_ins == ins, DmpProfessional.id_nat == id_nat
            )
        )
        blocked = row is not None and row.status == Authorisation.BLOCKED
        if asked is Change.AUTHORISE_SELF:
            if blocked:  # only the patient lifts a block
                refuse(
                    db,
                    actor,
                    action,
                    Forbidden("blocked", code="blocked_by_patient"),
                    now=now,
                    patient_ins=ins,
                )
            if not patient_agreement:
                refuse(
                    db,
                    actor,
                    action,
                    Forbidden("the patient's agreement", code="patient_agreement_required"),
                    now=now,
                    patient_ins=ins,
                )
        if change is ProfessionalChange.BLOCK and dmp.treating_doctor == id_nat:
            refuse(
                db,
                actor,
                action,
                Conflict(
                    "the treating doctor is not blocked while designated",
                    code="treating_doctor_cannot_be_blocked",
                ),
                now=now,
                patient_ins=ins,
            )
        self._apply(db, actor, dmp, row, id_nat, change, now)
        trace(db, actor, action, now=now, patient_ins=ins, detail=id_nat)

    @staticmethod
    def _apply(
        db: Session,
        actor: Actor,
        dmp: Dmp,
        row: DmpProfessional | None,
        id_nat: str,
        change: ProfessionalChange,
        now: dt.datetime,
    ) -> None:
        if change is ProfessionalChange.REVOKE:
            if row is not None and row.status == Authorisation.AUTHORISED:
                db.delete(row)
            if dmp.treating_doctor == id_nat:
                dmp.treating_doctor = None
            return
        if change is ProfessionalChange.UNBLOCK:
            if row is not None and row.status == Authorisation.BLOCKED:
                db.delete(row)
            return
        status = (
            Authorisation.AUTHORISED
            if change is ProfessionalChange.AUTHORISE
            else Authorisation.BLOCKED
        )
        if row is None:
            db.add(
                DmpProfessional(
                    dmp_ins=dmp.ins,
                    id_nat=id_nat,
                    status=status.value,
                    changed_at=now,
                    changed_by=actor.id,
                )
            )
        else:
            row.status, row.changed_at, row.changed_by = status.value, now, actor.id

    def set_treating_doctor(
        self, db: Session, actor: Actor, ins: str, id_nat: str, now: dt.datetime
    ) -> None:
        """The treating doctor: named by the patient, or at the counter with the patient
        present; a physician by RPPS, not one the patient blocked."""
        action = AuditAction.TREATING_DOCTOR_SET
        who = standing(db, actor, ins, now)
        enforce(
            may_change(Change.DESIGNATE_TREATING_DOCTOR, who),
            db,
            actor,
            action,
            now=now,
            patient_ins=ins,
        )
        id_nat = check_treating_doctor(db, id_nat)
        dmp = repository.get_dmp(db, ins)
        if relation(db, dmp, id_nat).blocked:
            raise Conflict(
                "the patient blocked this professional; only they can lift it",
                code="professional_blocked",
            )
        dmp.treating_doctor = id_nat
        trace(db, actor, action, now=now, patient_ins=ins, detail=id_nat)
