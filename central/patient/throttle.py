"""Throttles at the patient's doors: per person asked, per source address, overall.

Every door (a code asked, a code typed, an activation, an online creation) first passes
`admit`, then leaves one `AuthAttempt` row keyed by hashes: the person asked (NIR and birth
date, or the access sheet's identifier) and the source address. The same row and the same
counts whether or not the person exists, so a throttle that stops a known person stops an
unknown one at the same try: the answers cannot tell them apart. A throttled request is not
counted (it did nothing), so it does not push its own lock further.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, func, select, text
from sqlalchemy.orm import Session

from central.actors import Actor
from central.errors import TooManyRequests
from central.patient.models import AuthAttempt
from central.security import hash_secret
from dmpcommon.vocabulary import Role

if TYPE_CHECKING:
    from central.config import Settings

__all__ = ["AuthLimits", "Door", "DoorThrottle", "Rate", "retry_after"]


class Door(StrEnum):
    """Where an attempt knocked."""

    CODE = "code"  # a one-time code asked
    LOGIN = "login"  # a one-time code typed
    ACTIVATION = "activation"  # the access sheet's provisional code typed
    CREATION = "creation"  # an online creation's proof
    CREATION_CONFIRM = "creation_confirm"  # its code typed


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `count` attempts per `per`."""

    count: int
    per: dt.timedelta


@dataclass(frozen=True, slots=True)
class AuthLimits:
    """The figures (README, "Patient access throttles"); Settings carries them."""

    per_source: tuple[Rate, ...] = (
        Rate(60, dt.timedelta(minutes=1)),
        Rate(600, dt.timedelta(hours=1)),
    )
    overall: tuple[Rate, ...] = (
        Rate(600, dt.timedelta(minutes=1)),
        Rate(10_000, dt.timedelta(hours=1)),
    )
    # Wrong provisional codes per access sheet: locked a while, never for good.
    activation: tuple[Rate, ...] = (
        Rate(5, dt.timedelta(minutes=15)),
        Rate(20, dt.timedelta(days=1)),
    )
    keep: dt.timedelta = dt.timedelta(days=1)  # no window is longer

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthLimits:
        """The figures a deployment set."""
        minute, hour = dt.timedelta(minutes=1), dt.timedelta(hours=1)
        return cls(
            per_source=(
                Rate(settings.patient_source_per_minute, minute),
                Rate(settings.patient_source_per_hour, hour),
            ),
            overall=(
                Rate(settings.patient_overall_per_minute, minute),
                Rate(settings.patient_overall_per_hour, hour),
            ),
            activation=(
                Rate(
                    settings.activation_lock_tries,
                    dt.timedelta(minutes=settings.activation_lock_minutes),
                ),
                Rate(settings.activation_max_per_day, dt.timedelta(days=1)),
            ),
        )


def retry_after(until: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds to wait, at least one."""
    return max(1, math.ceil((until - now).total_seconds()))


def _wait(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes > 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"{hours} heure{'s' if hours > 1 else ''}"


class DoorThrottle:
    """Counts attempts by keyed hashes and refuses past the limits, with Retry-After."""

    def __init__(self, *, key: bytes, limits: AuthLimits) -> None:
        self.key = key
        self.limits = limits

    def subject(self, kind: str, *parts: str) -> str:
        """The keyed hash of who is asked about (never stored in clear)."""
        return hash_secret(self.key, "\x1f".join(parts), purpose=f"throttle:{kind}")

    def source(self, address: str) -> str:
        """The keyed hash of a source address."""
        return hash_secret(self.key, address, purpose="throttle:source")

    @staticmethod
    def stranger(source_hash: str) -> Actor:
        """Who the audit names for a try at a door: nobody proven yet, only where from."""
        return Actor(
            id=f"source:{source_hash[:16]}",
            name="inconnu (accès patient)",
            role=Role.PATIENT,
            session_id="",
        )

    @staticmethod
    def lock(db: Session, subject_hash: str) -> None:
        """One attempt per person asked at a time, so that tries are counted under a lock.
        SQLite serialises writers by itself."""
        if db.get_bind().dialect.name == "postgresql":
            key = int(subject_hash[:15], 16)
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def admit(self, db: Session, source_hash: str, now: dt.datetime) -> None:
        """Refuse (429) past the per-source or the overall rates."""
        mine = AuthAttempt.source_hash == source_hash
        for rate in self.limits.per_source:
            until = self._full_until(db, rate, now, mine)
            if until is not None:
                wait = retry_after(until, now)
                raise TooManyRequests(
                    "trop de demandes depuis cette adresse : "
                    f"réessayez dans {_wait(math.ceil(wait / 60))}",
                    code="too_many_from_source",
                    retry_after_s=wait,
                )
        for rate in self.limits.overall:
            until = self._full_until(db, rate, now, None)
            if until is not None:
                wait = retry_after(until, now)
                raise TooManyRequests(
                    "le service reçoit trop de demandes : "
                    f"réessayez dans {_wait(math.ceil(wait / 60))}",
                    code="service_busy",
                    retry_after_s=wait,
                )

    def activation_lock(
        self, db: Session, subject_hash: str, now: dt.datetime, *, since: dt.datetime | None
    ) -> None:
        """Refuse (429) an access sheet with too many wrong codes lately: for a while only,
        or until a new code is printed at the counter (`since`: the tries before it do not
        count)."""
        failed = (
            AuthAttempt.subject_hash == subject_hash,
            AuthAttempt.door == Door.ACTIVATION.value,
            AuthAttempt.failed.is_(True),
            None if since is None else AuthAttempt.at > since,
        )
        for rate in self.limits.activation:
            until = self._full_until(db, rate, now, *failed)
            if until is not None:
                wait = retry_after(until, now)
                raise TooManyRequests(
                    "trop d'essais avec ce code provisoire : réessayez dans "
                    f"{_wait(math.ceil(wait / 60))}, ou demandez au comptoir un nouveau code "
                    "d'accès (il remplace l'ancien)",
                    code="too_many_tries",
                    retry_after_s=wait,
                )

    def activation_left(
        self, db: Session, subject_hash: str, now: dt.datetime, *, since: dt.datetime | None
    ) -> int:
        """How many wrong tries an access sheet has left before its next lock."""
        failed = (
            AuthAttempt.subject_hash == subject_hash,
            AuthAttempt.door == Door.ACTIVATION.value,
            AuthAttempt.failed.is_(True),
            *(() if since is None else (AuthAttempt.at > since,)),
        )
        left = [
            rate.count
            - (
                db.scalar(
                    select(func.count())
                    .select_from(AuthAttempt)
                    .where(AuthAttempt.at > now - rate.per, *failed)
                )
                or 0
            )
            for rate in self.limits.activation
        ]
        return max(0, min(left))

    def _full_until(
        self, db: Session, rate: Rate, now: dt.datetime, *where: ColumnElement[bool] | None
    ) -> dt.datetime | None:
        """When the window has room again, or None if it has room now."""
        since = now - rate.per
        clauses = [w for w in where if w is not None]
        window = (AuthAttempt.at > since, *clauses)
        count = db.scalar(select(func.count()).select_from(AuthAttempt).where(*window)) or 0
        if count < rate.count:
            return None
        # The row whose leaving brings the count under the limit.
        leaving = db.scalar(
            select(AuthAttempt.at)
            .where(*window)
            .order_by(AuthAttempt.at)
            .offset(count - rate.count)
            .limit(1)
        )
        return (leaving or now) + rate.per

    def count(
        self, db: Session, subject_hash: str, door: Door, since: dt.datetime
    ) -> tuple[int, dt.datetime | None]:
        """How many attempts at `door` about this person after `since`, and the latest."""
        row = db.execute(
            select(func.count(), func.max(AuthAttempt.at)).where(
                AuthAttempt.subject_hash == subject_hash,
                AuthAttempt.door == door.value,
                AuthAttempt.at > since,
            )
        ).one()
        return int(row[0] or 0), row[1]

    def oldest(
        self, db: Session, subject_hash: str, door: Door, since: dt.datetime
    ) -> dt.datetime | None:
        """The first attempt at `door` about this person after `since`."""
        return db.scalar(
            select(func.min(AuthAttempt.at)).where(
                AuthAttempt.subject_hash == subject_hash,
                AuthAttempt.door == door.value,
                AuthAttempt.at > since,
            )
        )

    def record(
        self,
        db: Session,
        door: Door,
        *,
        subject_hash: str,
        source_hash: str,
        now: dt.datetime,
        failed: bool,
    ) -> None:
        """Count this attempt, and forget those older than every window."""
        db.execute(delete(AuthAttempt).where(AuthAttempt.at < now - self.limits.keep))
        db.add(
            AuthAttempt(
                door=door.value,
                subject_hash=subject_hash,
                source_hash=source_hash,
                at=now,
                failed=failed,
            )
        )
