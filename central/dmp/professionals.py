"""Who the patient lets in: authorising, revoking or blocking a professional, and naming the
treating doctor."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, refuse, trace
from central.dmp import repository
from central.dmp.common import denial, enforce, relation
from central.dmp.models import DmpProfessional
from central.dmp.policy import may_manage
from central.dmp.schemas import ProfessionalChange
from central.errors import BadRequest, Conflict, Forbidden
from central.professionals.roles import FORBIDDEN_ROLES
from dmpcommon.identifiers import (
    IdentifierError,
    check_health_professional_id_nat,
    rpps_of_id_nat,
)
from dmpcommon.vocabulary import Authorisation, Role

__all__ = ["RecordProfessionals"]

_MAY_CHANGE = (
    Role.PATIENT,
    Role.REPRESENTATIVE,
    Role.HEALTH_PROFESSIONAL,
    Role.ADMINISTRATIVE_AGENT,
    Role.SAMU_REGULATOR,
)


_AUDIT = {
    ProfessionalChange.AUTHORISE: AuditAction.PROFESSIONAL_AUTHORISE,
    ProfessionalChange.REVOKE: AuditAction.PROFESSIONAL_REVOKE,
    ProfessionalChange.BLOCK: AuditAction.PROFESSIONAL_BLOCK,
}


def _professional_id(id_nat: str) -> str:
    """A card identifier that names a health professional, or BadRequest with why."""
    try:
        return check_health_professional_id_nat(id_nat)
    except IdentifierError as exc:
        raise BadRequest(
            "not a health professional's identifier", code=f"id_nat_{exc.problem.value}"
        ) from exc


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
    ) -> None:
        """Authorise, revoke or block a professional (the patient's decision)."""
        if actor.role in FORBIDDEN_ROLES:
            refuse(db, actor, _AUDIT[change], denial("forbidden_party"), now=now, patient_ins=ins)
        if actor.role not in _MAY_CHANGE:
            raise Forbidden("not allowed")
        id_nat = _professional_id(id_nat)
        dmp = repository.get_dmp(db, ins)
        row = db.scalar(
            select(DmpProfessional).where(
                DmpProfessional.dmp_ins == ins, DmpProfessional.id_nat == id_nat
            )
        )
        if change is ProfessionalChange.REVOKE:
            if row is not None and row.status == Authorisation.AUTHORISED:
                db.delete(row)
            if dmp.treating_doctor == id_nat:
                dmp.treating_doctor = None
        else:
            status = (
                Authorisation.AUTHORISED
                if change is ProfessionalChange.AUTHORISE
                else Authorisation.BLOCKED
            )
            if row is None:
                db.add(
                    DmpProfessional(
                        dmp_ins=ins,
                        id_nat=id_nat,
                        status=status.value,
                        changed_at=now,
                        changed_by=actor.id,
                    )
                )
            else:
                row.status, row.changed_at, row.changed_by = status.value, now, actor.id
            if status is Authorisation.BLOCKED and dmp.treating_doctor == id_nat:
                dmp.treating_doctor = None
        trace(db, actor, _AUDIT[change], now=now, patient_ins=ins, detail=id_nat)

    def set_treating_doctor(
        self, db: Session, actor: Actor, ins: str, id_nat: str, now: dt.datetime
    ) -> None:
        """The treating doctor the patient names at the counter (not one they blocked)."""
        enforce(
            may_manage(actor.role),
            db,
            actor,
            AuditAction.TREATING_DOCTOR_SET,
            now=now,
            patient_ins=ins,
        )
        id_nat = _professional_id(id_nat)
        if rpps_of_id_nat(id_nat) is None:
            raise BadRequest("a treating doctor is named by RPPS", code="id_nat_not_rpps")
        dmp = repository.get_dmp(db, ins)
        if relation(db, dmp, id_nat).blocked:
            raise Conflict(
                "the patient blocked this professional; only they can lift it",
                code="professional_blocked",
            )
        dmp.treating_doctor = id_nat
        trace(db, actor, AuditAction.TREATING_DOCTOR_SET, now=now, patient_ins=ins, detail=id_nat)
