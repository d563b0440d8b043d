"""The patient's notification contact, given at the counter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, trace
from central.dmp import repository
from central.dmp.common import enforce
from central.dmp.policy import may_manage
from dmpcommon.actions import NotificationContact

__all__ = ["RecordContacts"]


class RecordContacts:
    """Where the patient is told (and receives login codes)."""

    def set_contact(
        self, db: Session, actor: Actor, ins: str, contact: NotificationContact, now: dt.datetime
    ) -> None:
        """Set the notification contact."""
        enforce(
            may_manage(actor.role), db, actor, AuditAction.CONTACT_SET, now=now, patient_ins=ins
        )
        dmp = repository.get_dmp(db, ins)
        dmp.notify_channel, dmp.notify_address = contact.channel.value, contact.address
        trace(db, actor, AuditAction.CONTACT_SET, now=now, patient_ins=ins)
