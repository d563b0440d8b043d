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
        self._turn(db, actor, ins, now, closed=True)

    def reopen(self, db: Session, actor: Actor, ins: str, now: dt.datetime) -> None:
        """Reopen a closed DMP: its content and authorisations as they were."""
        self._turn(db, actor, ins, now, closed=False)

    def _turn(self, db: Session, actor: Actor, ins: str, now: dt.datetime, *, closed: bool) -> None:
        change, action = (
            (Change.CLOSE, AuditAction.DMP_CLOSE)
            if closed
            else (Change.REOPEN, AuditAction.DMP_REOPEN)
        )
        who = standing(db, actor, ins, now)
        enforce(may_change(change, who), db, actor, action, now=now, patient_ins=ins)
        dmp = repository.get_dmp(db, ins)
        if (dmp.status == DmpStatus.CLOSED) is closed:
            if closed:
                raise Conflict("the DMP is already closed", code="dmp_already_closed")
            raise Conflict("the DMP is not closed", code="dmp_not_closed")
        dmp.status = (DmpStatus.CLOSED if closed else DmpStatus.VALID).value
        trace(db, actor, action, now=now, patient_ins=ins)
        portal = self.notices.portal_url
        self.notices.tell(
            db,
            dmp,
            f"{'closed' if closed else 'reopened'}:{ins}:{now.isoformat()}",
            messages.dmp_closed(now, portal) if closed else messages.dmp_reopened(now, portal),
            now,
            even_closed=True,  # the closing notice is the last one a closed DMP sends
        )
