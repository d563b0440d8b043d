"""A child's record becomes their own at 18: the parent's access and contact end, both told.

The representative's contact was the record's contact while the child was a minor, so it is
removed (a code sent there would let the parent in as the adult child); the parent's open
sessions, pending codes and an unused access sheet are voided. The parent is told at that
contact (the last message sent there); the child is told on their pages when they come in
with a new access sheet from the counter. Applied by the doors as soon as they meet such a
record, and by a daily pass for the others.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from central.audit.trail import AuditAction, trace_service
from central.dmp.models import Dmp, PatientAccess
from central.notify import messages
from central.notify.service import Notifier
from central.patient.models import OneTimeCode, PatientSession
from dmpcommon.identifiers import ACTIVATION_CODE_DAYS
from dmpcommon.people import AGE_OF_MAJORITY, BirthDate

__all__ = ["come_of_age", "sweep"]


def _due(dmp: Dmp, today: dt.date) -> bool:
    return (
        dmp.consent_by == "representative"
        and dmp.came_of_age_at is None
        and BirthDate.parse(dmp.birth_date).adult_on(today)
    )


def come_of_age(db: Session, notifier: Notifier, dmp: Dmp, now: dt.datetime) -> bool:
    """Hand the record over to its adult person if the day has come; whether it did."""
    if not _due(dmp, now.date()):
        return False
    if dmp.notify_channel and dmp.notify_address:
        subject, body = messages.came_of_age(dmp.prenom.capitalize())
        notifier.enqueue(
            db,
            dedup_key=f"came_of_age:{dmp.ins}",
            channel=dmp.notify_channel,
            address=dmp.notify_address,
            subject=subject,
            body=body,
            now=now,
        )
    dmp.notify_channel = None
    dmp.notify_address = None
    dmp.came_of_age_at = now
    db.execute(
        update(PatientSession)
        .where(PatientSession.dmp_ins == dmp.ins, PatientSession.closed_at.is_(None))
        .values(closed_at=now)
    )
    db.execute(
        update(OneTimeCode)
        .where(OneTimeCode.dmp_ins == dmp.ins, OneTimeCode.used_at.is_(None))
        .values(expires_at=now)
    )
    # A sheet printed before the 18th birthday was the parent's; one printed since (the
    # counter, with the adult's card) is theirs. Sheets last ACTIVATION_CODE_DAYS.
    born = BirthDate.parse(dmp.birth_date).latest()
    leap = born.month == 2 and born.day == 29  # a 29 February birthday falls on the 28th
    adult_since = dt.datetime(
        born.year + AGE_OF_MAJORITY, born.month, 28 if leap else born.day, tzinfo=dt.UTC
    )
    printed_before = adult_since + dt.timedelta(days=ACTIVATION_CODE_DAYS)
    db.execute(
        update(PatientAccess)
        .where(
            PatientAccess.dmp_ins == dmp.ins,
            PatientAccess.activation_expires_at < printed_before,
        )
        .values(activation_hash=None)
    )
    trace_service(db, AuditAction.CAME_OF_AGE, now=now, patient_ins=dmp.ins)
    return True


def sweep(db: Session, notifier: Notifier, now: dt.datetime, *, limit: int = 500) -> int:
    """The daily pass: every record whose person turned 18 (a bounded batch); how many."""
    # "YYYY-MM-DD" sorts as dates do: a cheap bound in SQL, the exact rule in Python.
    latest = f"{now.year - AGE_OF_MAJORITY}-12-31"
    rows = db.scalars(
        select(Dmp)
        .where(
            Dmp.consent_by == "representative",
            Dmp.came_of_age_at.is_(None),
            Dmp.birth_date <= latest,
        )
        .order_by(Dmp.birth_date)
        .limit(limit)
    ).all()
    return sum(come_of_age(db, notifier, dmp, now) for dmp in rows)
