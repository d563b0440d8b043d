"""Closing and reopening a DMP: the patient's decision, in the portal or at the counter.

A closed DMP (FERME) keeps its content; every professional access is refused
(central.dmp.policy.may_open) and the patient is told of nothing but the closing itself.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, trace
from central.dmp import repository
from central.dmp.changes import Change, may_change
from central.dmp.common import PatientNotices, enforce, standing
from central.errors import Conflict
from central.notify import messages
from dmpcommon.vocabulary import DmpStatus

__all__ = ["RecordLifecycle"]


class RecordLifecycle:
    """Close and reopen."""

    def __init__(self, notices: PatientNotices) -> None:
        self.notices = notices

    def close(self, db: Session, actor: Actor, ins: str, now: dt.datetime) -> None:
        """Close the DMP (the patient asks); the patient is told, at the counter's word too."""
        action = AuditAction.DMP_CLOSE
        enforce(
            may_change(Change.CLOSE, standing(db, actor, ins, now)),
            db,
            actor,
            action,
            now=now,
            patient_ins=ins,
        )
        dmp = repository.get_dmp(db, ins)
        if dmp.status == DmpStatus.CLOSED:
            raise Conflict("the DMP is already closed", code="dmp_already_closed")
        dmp.status = DmpStatus.CLOSED.value
        trace(db, actor, action, now=now, patient_ins=ins)
        self.notices.tell(
            db,
            dmp,
            f"closed:{ins}:{now.isoformat()}",
            messages.dmp_closed(now, self.notices.portal_url),
            now,
            even_closed=True,
        )

    def reopen(self, db: Session, actor: Actor, ins: str, now: dt.datetime) -> None:
        """Reopen a closed DMP: its content and authorisations as they were."""
        action = AuditAction.DMP_REOPEN
        enforce(
            may_change(Change.REOPEN, standing(db, actor, ins, now)),
            db,
            actor,
            action,
            now=now,
            patient_ins=ins,
        )
        dmp = repository.get_dmp(db, ins)
        if dmp.status != DmpStatus.CLOSED:
            raise Conflict("the DMP is not closed", code="dmp_not_closed")
        dmp.status = DmpStatus.VALID.value
        trace(db, actor, action, now=now, patient_ins=ins)
        self.notices.tell(
            db,
            dmp,
            f"reopened:{ins}:{now.isoformat()}",
            messages.dmp_reopened(now, self.notices.portal_url),
            now,
        )
