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

__all__ = ["come_of_age", "due", "sweep"]


def due(dmp: Dmp, today: dt.date) -> bool:
    """Whether this record's person has come of age and the record is not handed over yet."""
    return (
        dmp.consent_by == "representative"
        and dmp.came_of_age_at is None
        and BirthDate.parse(dmp.birth_date).adult_on(today)
    )


def _adult_since(dmp: Dmp) -> dt.datetime:
    """The first moment the rule (BirthDate.adult_on) counts this person an adult: their
    18th birthday, the 1 March for a 29 February in a common year."""
    born = BirthDate.parse(dmp.birth_date).latest()
    year = born.year + AGE_OF_MAJORITY
    try:
        day = dt.date(year, born.month, born.day)
    except ValueError:
        day = dt.date(year, 3, 1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def come_of_age(
    db: Session,
    notifier: Notifier,
    dmp: Dmp,
    now: dt.datetime,
    *,
    activation_days: int = ACTIVATION_CODE_DAYS,
) -> bool:
    """Hand the record over to its adult person if the day has come; whether it did."""
    if not due(dmp, now.date()):
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
    # counter, with the adult's card) is theirs. A sheet lasts `activation_days`.
    printed_before = _adult_since(dmp) + dt.timedelta(days=activation_days)
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


def sweep(
    db: Session,
    notifier: Notifier,
    now: dt.datetime,
    *,
    activation_days: int = ACTIVATION_CODE_DAYS,
    limit: int = 500,
) -> int:
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
    return sum(come_of_age(db, notifier, dmp, now, activation_days=activation_days) for dmp in rows)
