"""What each action type does once its envelope is in the ledger.

Each applier raises a ServiceError to reject the action ("rejected: code"). Action times
are the kiosk's (the envelope's `created_at`): an offline session is judged as of when it
happened at the counter.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.service import AuditLog
from central.dmp.policy import may_manage
from central.dmp.schemas import CreateDmpRequest
from central.dmp.service import DmpService
from central.errors import Forbidden, Unauthenticated
from central.professionals.models import OperatorSession
from central.professionals.service import ProfessionalService, actor_of
from central.sync.ingest import Applier
from central.sync.models import Kiosk
from dmpcommon.envelope import ActionEnvelope

__all__ = ["appliers"]


def _operator(db: Session, kiosk: Kiosk, envelope: ActionEnvelope, at: dt.datetime) -> Actor:
    row = db.get(OperatorSession, envelope.session_id)
    if row is None or row.kiosk_id != kiosk.id:
        raise Unauthenticated("no operator session for this action", code="no_operator_session")
    if row.expires_at <= at or (row.closed_at is not None and row.closed_at < at):
        raise Unauthenticated("operator session over", code="operator_session_over")
    return actor_of(row)


def appliers(professionals: ProfessionalService, dmps: DmpService) -> dict[str, Applier]:
    """The action types the ingest knows, bound to the domain services."""

    def session_opened(
        db: Session,
        kiosk: Kiosk,
        envelope: ActionEnvelope,
        payload: dict[str, Any],
        at: dt.datetime,
    ) -> None:
        professionals.open_session(
            db,
            kiosk_id=kiosk.id,
            session_id=envelope.session_id,
            issued_at=str(payload["issued_at"]),
            certificate_b64=str(payload["certificate"]),
            signature_b64=str(payload["signature"]),
            now=at,
            queued=True,
        )

    def session_closed(
        db: Session,
        kiosk: Kiosk,
        envelope: ActionEnvelope,
        payload: dict[str, Any],
        at: dt.datetime,
    ) -> None:
        actor = _operator(db, kiosk, envelope, at)
        professionals.close_session(db, actor, at)

    def dmp_created(
        db: Session,
        kiosk: Kiosk,
        envelope: ActionEnvelope,
        payload: dict[str, Any],
        at: dt.datetime,
    ) -> None:
        actor = _operator(db, kiosk, envelope, at)
        decision = may_manage(actor.role)
        if not decision.allowed:
            AuditLog.append(
                db,
                actor=actor,
                action="create",
                outcome="refused",
                patient_ins=str(payload.get("ins")),
                detail=decision.reason,
                now=at,
            )
            raise Forbidden(decision.reason, code=decision.reason)
        dmps.create(db, actor, CreateDmpRequest.model_validate(payload), at)

    return {
        "operator_session_opened": session_opened,
        "operator_session_closed": session_closed,
        "dmp_created": dmp_created,
    }
