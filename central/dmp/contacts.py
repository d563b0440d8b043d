"""Where the patient is told, and how they get back in: the notification contact and the
activation code.

A contact changes at the counter with the patient present, or by the patient in the portal
once a code sent to the new address comes back; either way the old contact is told. The
counter re-issues a lost activation code (the old one void), and the patient is told.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, refuse, trace
from central.dmp import repository
from central.dmp.changes import Change, may_change
from central.dmp.common import PatientNotices, enforce, relation, standing
from central.dmp.models import ContactChange, Dmp, PatientAccess
from central.errors import (
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    ServiceError,
    TooManyRequests,
    WrongCode,
)
from central.notify import messages
from central.security import hash_secret, same_secret
from dmpcommon.actions import NotificationContact
from dmpcommon.identifiers import ONE_TIME_CODE_LENGTH, new_activation_code, new_numeric_code
from dmpcommon.vocabulary import Role

__all__ = ["ContactCodes", "RecordContacts"]

_PATIENTS = (Role.PATIENT, Role.REPRESENTATIVE)


@dataclass(frozen=True, slots=True)
class ContactCodes:
    """How long a contact code lives, how often one is sent, how many tries it takes."""

    ttl: dt.timedelta = dt.timedelta(minutes=10)
    resend_interval: dt.timedelta = dt.timedelta(seconds=60)
    max_per_hour: int = 5
    max_tries: int = 5


class RecordContacts:
    """The notification contact and the activation code."""

    def __init__(
        self,
        notices: PatientNotices,
        *,
        key: bytes,
        activation_days: int,
        codes: ContactCodes | None = None,
    ) -> None:
        self.notices = notices
        self.key = key
        self.activation_days = activation_days
        self.codes = codes or ContactCodes()

    # -- at the counter ----------------------------------------------------------------

    def set_contact(
        self, db: Session, actor: Actor, ins: str, contact: NotificationContact, now: dt.datetime
    ) -> None:
        """At the counter, with the patient present. A patient confirms by code instead."""
        action = AuditAction.CONTACT_SET
        if actor.role in _PATIENTS:
            refuse(
                db,
                actor,
                action,
                Forbidden("a new contact is confirmed by a code", code="contact_needs_code"),
                now=now,
                patient_ins=ins,
            )
        decision = may_change(Change.SET_CONTACT, standing(db, actor, ins, now))
        enforce(decision, db, actor, action, now=now, patient_ins=ins)
        dmp = repository.get_dmp(db, ins)
        self._replace(db, dmp, contact, now)
        trace(db, actor, action, now=now, patient_ins=ins)

    def reissue_activation(
        self,
        db: Session,
        actor: Actor,
        ins: str,
        now: dt.datetime,
        *,
        drawn: tuple[str, str] | None = None,
    ) -> tuple[PatientAccess, str]:
        """A new activation code for a lost sheet or a locked-out patient; the old one is
        void. Returns the access (its identifier) and the code, printed on a new sheet.
        `drawn`: the identifier and code a kiosk drew and printed (a queued reissue); the
        old identifier is void as well then."""
        action = AuditAction.ACTIVATION_REISSUE
        decision = may_change(Change.REISSUE_ACTIVATION, standing(db, actor, ins, now))
        enforce(decision, db, actor, action, now=now, patient_ins=ins)
        dmp = repository.get_dmp(db, ins)
        if relation(db, dmp, actor.id).blocked:
            # The code opens the patient's own pages: never to one the patient shut out.
            refuse(
                db,
                actor,
                action,
                Forbidden("blocked by the patient", code="blocked_by_patient"),
                now=now,
                patient_ins=ins,
            )
        access = db.get(PatientAccess, ins, with_for_update=True)
        if access is None:
            raise NotFound("no access for this DMP", code="no_dmp")
        if drawn is None:
            code = new_activation_code()
        else:
            identifier, code = drawn
            if identifier != access.identifier:
                taken = db.scalar(
                    select(PatientAccess.dmp_ins).where(PatientAccess.identifier == identifier)
                )
                if taken is not None:
                    raise Conflict("identifier already in use", code="identifier_taken")
                access.identifier = identifier
        access.activation_hash = hash_secret(self.key, code, purpose="activation")
        access.activation_expires_at = now + dt.timedelta(days=self.activation_days)
        access.activation_tries = 0
        trace(db, actor, action, now=now, patient_ins=ins)
        self.notices.tell(
            db,
            dmp,
            f"activation:{ins}:{now.isoformat()}",
            messages.activation_reissued(now, actor.structure_name or actor.public_label()),
            now,
        )
        return access, code

    # -- by the patient, in the portal ---------------------------------------------------

    def ask_change(
        self, db: Session, actor: Actor, contact: NotificationContact, now: dt.datetime
    ) -> None:
        """The patient gives a new contact: a code goes there; nothing changes until it is
        typed back (confirm_change)."""
        ins = self._own(actor)
        dmp = repository.get_dmp(db, ins)
        last = db.scalar(
            select(func.max(ContactChange.created_at)).where(ContactChange.dmp_ins == ins)
        )
        if last is not None and now - last < self.codes.resend_interval:
            raise TooManyRequests("wait before asking again", code="resend_too_soon")
        recent = db.scalar(
            select(func.count())
            .select_from(ContactChange)
            .where(
                ContactChange.dmp_ins == ins,
                ContactChange.created_at > now - dt.timedelta(hours=1),
            )
        )
        if (recent or 0) >= self.codes.max_per_hour:
            raise TooManyRequests("too many codes asked", code="too_many_codes")
        code = new_numeric_code(ONE_TIME_CODE_LENGTH)
        row = ContactChange(
            dmp_ins=ins,
            channel=contact.channel.value,
            address=contact.address,
            code_hash=hash_secret(self.key, code, purpose="contact"),
            created_at=now,
            expires_at=now + self.codes.ttl,
        )
        db.add(row)
        db.flush()
        subject, body = messages.contact_code(code, int(self.codes.ttl.total_seconds() // 60))
        self.notices.notifier.enqueue(
            db,
            dedup_key=f"contact_code:{row.id}",
            channel=row.channel,
            address=row.address,
            subject=subject,
            body=body,
            now=now,
        )
        trace(db, actor, AuditAction.CONTACT_CHANGE_ASKED, now=now, patient_ins=dmp.ins)

    def confirm_change(
        self, db: Session, actor: Actor, code: str, now: dt.datetime
    ) -> ServiceError | None:
        """The code sent to the new contact, typed back: the contact changes and the old one
        is told. A wrong code is counted (the caller commits, then raises the refusal)."""
        ins = self._own(actor)
        row = db.scalar(
            select(ContactChange)
            .where(ContactChange.dmp_ins == ins)
            .order_by(ContactChange.created_at.desc(), ContactChange.id.desc())
            .limit(1)
            .with_for_update()
        )
        if row is None or row.done_at is not None:
            raise NotFound("no contact change waiting", code="no_contact_change")
        if row.expires_at <= now:
            raise Gone("the code expired", code="code_expired")
        if row.tries >= self.codes.max_tries:
            raise TooManyRequests("too many tries", code="too_many_tries")
        row.tries += 1
        if not same_secret(row.code_hash, hash_secret(self.key, code.strip(), purpose="contact")):
            return WrongCode("wrong code", tries_left=self.codes.max_tries - row.tries)
        row.done_at = now
        dmp = repository.get_dmp(db, ins)
        new = NotificationContact.model_validate({"channel": row.channel, "address": row.address})
        self._replace(db, dmp, new, now)
        trace(db, actor, AuditAction.CONTACT_SET, now=now, patient_ins=ins)
        return None

    # -- shared ------------------------------------------------------------------------

    @staticmethod
    def _own(actor: Actor) -> str:
        if actor.role not in _PATIENTS or actor.patient_ins is None:
            raise Forbidden("the patient's own contact", code="not_for_operators")
        return actor.patient_ins

    def _replace(
        self, db: Session, dmp: Dmp, contact: NotificationContact, now: dt.datetime
    ) -> None:
        """Set the contact; the old one, if another, is told (its last message)."""
        old = (dmp.notify_channel, dmp.notify_address)
        new = (contact.channel.value, contact.address)
        if old != new and old[0] and old[1]:
            self.notices.tell(
                db,
                dmp,
                f"contact_changed:{dmp.ins}:{now.isoformat()}",
                messages.contact_changed(now, self.notices.portal_url),
                now,
            )
        dmp.notify_channel, dmp.notify_address = new
