"""The patient's own access: activation, one-time codes, sessions, their record and log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.models import AuditEntry
from central.audit.trail import AuditAction, AuditOutcome, trace
from central.dmp.common import managed_by_representative
from central.dmp.models import Dmp, PatientAccess
from central.errors import Forbidden, Gone, ServiceError, TooManyRequests, Unauthenticated
from central.notify import messages
from central.notify.service import Notifier
from central.patient.majority import come_of_age, due
from central.patient.models import OneTimeCode, PatientSession
from central.patient.throttle import AuthLimits, Door, DoorThrottle, retry_after
from central.security import hash_secret, new_token, same_secret
from dmpcommon import InvalidNirError, check_nir
from dmpcommon.identifiers import ACTIVATION_CODE_DAYS, ONE_TIME_CODE_LENGTH, new_numeric_code
from dmpcommon.people import BirthDate
from dmpcommon.vocabulary import Role

__all__ = [
    "LoginAttempt",
    "PatientService",
    "Viewing",
    "may_show",
    "represented",
    "role_on",
]

_BAD_ACTIVATION = (
    "identifiant, code provisoire ou date de naissance incorrect (un code déjà utilisé ne "
    "sert plus : connectez-vous avec un code reçu par e-mail ou SMS)"
)
_NO_HASH = "0" * 64  # compared when there is no stored hash: the same work, never equal


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A login's outcome: a session token, or the refusal to raise once the failed try is
    committed. The row lock is held until that commit, so parallel guesses wait their turn
    and each one counts (a refusal raised inside the transaction would roll it back first,
    releasing the lock before the try is counted)."""

    token: str | None = None
    refusal: ServiceError | None = None
    tries_left: int | None = None  # counted per what was asked: the same for anyone

    def token_or_raise(self) -> str:
        """The token, or the refusal raised."""
        if self.refusal is not None or self.token is None:
            raise self.refusal or Unauthenticated("code incorrect", code="bad_code")
        return self.token


def same_birth_date(recorded: str | None, typed: str) -> bool:
    """Whether a typed birth date is the recorded one, a day or month unknown on the card
    (00, or a "lunar" 32 or 13) typed as 0."""
    if recorded is None:
        return False
    try:
        return BirthDate.parse(recorded) == BirthDate.parse(typed.strip())
    except ValueError:
        return False


def role_on(dmp: Dmp, today: dt.date) -> Role:
    """The role in which a session opens this record: a minor's, consented to by a
    representative, is opened as that representative."""
    return Role.REPRESENTATIVE if managed_by_representative(dmp, today) else Role.PATIENT


def _patient_actor(dmp: Dmp, token_hash: str, today: dt.date) -> Actor:
    # A minor's record is opened by the legal representative who consented for them:
    # documents labelled INVISIBLE_REPRESENTANTS_LEGAUX stay hidden from that session, and
    # the trail names the representative.
    managed = managed_by_representative(dmp, today)
    name = f"{dmp.prenom} {dmp.nom}"
    if managed and dmp.representative_nom:
        name = f"{dmp.representative_prenom or ''} {dmp.representative_nom}".strip()
    return Actor(
        id=f"patient:{dmp.ins}",
        name=name,
        role=role_on(dmp, today),
        session_id=token_hash[:16],
        patient_ins=dmp.ins,
    )


def represented(db: Session, person_nir: str, today: dt.date) -> list[Dmp]:
    """The records of the children this person represents (as recorded at the children's
    creation), while they are minors."""
    rows = db.scalars(
        select(Dmp).where(Dmp.representative_nir == person_nir).order_by(Dmp.ins)
    ).all()
    return [dmp for dmp in rows if managed_by_representative(dmp, today)]


def may_show(dmp: Dmp, person_nir: str | None, today: dt.date) -> bool:
    """Whether this person may open this record: their own, or a child's they represent
    while the child is a minor (a session must also have proven its right: its reach)."""
    if person_nir is None or person_nir == dmp.ins:
        return True
    return dmp.representative_nir == person_nir and managed_by_representative(dmp, today)


def _reach(row: PatientSession) -> list[str]:
    return (row.reach or row.dmp_ins).split(",")


def person_of(dmp: Dmp, today: dt.date) -> str | None:
    """Whom a record's own sheet proves: the record's person. A child's sheet proves the
    right to that record only, not to the parent's own record nor to a sibling's: such a
    session reaches no other record (None); the parent's own door (number, birth date,
    code) reaches them all."""
    if managed_by_representative(dmp, today):
        return None
    return dmp.ins


@dataclass(frozen=True, slots=True)
class Viewing:
    """What a session shows: the record, and the other records its person may open."""

    actor: Actor
    dmp: Dmp
    others: tuple[Dmp, ...]


class PatientService:
    """Codes are 6 digits from the CSPRNG, stored as keyed hashes, compared in constant time.

    The doors (a code asked, a code typed, an activation) answer a known and an unknown
    person alike: the same throttles keyed by a hash of what was asked, the same queries,
    the same keyed hash computed, the same attempt row and audit entry written. Only a
    caller who typed the right code learns more (it expired, it was used)."""

    def __init__(
        self,
        *,
        key: bytes,
        notifier: Notifier,
        otp_ttl_s: int,
        otp_max_tries: int,
        resend_interval_s: int,
        max_per_hour: int,
        session_minutes: int,
        limits: AuthLimits | None = None,
        activation_days: int = ACTIVATION_CODE_DAYS,
    ) -> None:
        self.key = key
        self.notifier = notifier
        self.otp_ttl = dt.timedelta(seconds=otp_ttl_s)
        self.otp_max_tries = otp_max_tries
        self.resend_interval = dt.timedelta(seconds=resend_interval_s)
        self.max_per_hour = max_per_hour
        self.session_length = dt.timedelta(minutes=session_minutes)
        self.throttle = DoorThrottle(key=key, limits=limits or AuthLimits())
        self.activation_days = activation_days  # how long a printed sheet lasts

    def _come_of_age(self, db: Session, dmp: Dmp, now: dt.datetime) -> bool:
        return come_of_age(db, self.notifier, dmp, now, activation_days=self.activation_days)

    def open_session(
        self,
        db: Session,
        dmp: Dmp,
        now: dt.datetime,
        *,
        person_nir: str | None = None,
        reach: list[str] | None = None,
    ) -> str:
        """A session on `dmp`, by this person, proven for the records in `reach` (that one
        alone unless told)."""
        token = new_token()
        token_hash = hash_secret(self.key, token, purpose="patient")
        db.add(
            PatientSession(
                token_hash=token_hash,
                dmp_ins=dmp.ins,
                person_nir=person_nir,
                reach=",".join(reach or [dmp.ins]),
                created_at=now,
                expires_at=now + self.session_length,
            )
        )
        trace(
            db,
            _patient_actor(dmp, token_hash, now.date()),
            AuditAction.PATIENT_LOGIN,
            now=now,
            patient_ins=dmp.ins,
        )
        return token

    def activate(
        self,
        db: Session,
        identifier: str,
        code: str,
        birth_date: str,
        now: dt.datetime,
        *,
        source: str,
    ) -> LoginAttempt:
        """First log-in with the access sheet's identifier and provisional code (then spent),
        and the birth date of the record's person: a sheet picked up by someone else is not
        enough. The caller commits, then raises the attempt's refusal if there is one. Wrong
        tries lock the sheet for a while (AuthLimits.activation), never for good: a new code
        printed at the counter lifts the lock."""
        # The sheet prints them in groups ("ABCD EFGH 23"): spaces typed as printed are no error.
        asked = "".join(identifier.split()).upper()
        subject = self.throttle.subject("activation", asked)
        origin = self.throttle.source(source)
        self.throttle.lock(db, subject)
        self.throttle.admit(db, origin, now)
        access = db.scalar(
            select(PatientAccess).where(PatientAccess.identifier == asked).with_for_update()
        )
        # The same queries whether or not the sheet exists: when was a new code printed, and
        # whose record it opens.
        ins = access.dmp_ins if access else ""
        reissued = db.scalar(
            select(func.max(AuditEntry.at)).where(
                AuditEntry.patient_ins == ins,
                AuditEntry.action == AuditAction.ACTIVATION_REISSUE.value,
                AuditEntry.outcome == AuditOutcome.DONE.value,
            )
        )
        self.throttle.activation_lock(db, subject, now, since=reissued)
        dmp = db.get(Dmp, ins)
        if access is not None and dmp is not None and self._come_of_age(db, dmp, now):
            db.refresh(access)  # a sheet printed for the parent is void now
        wanted = hash_secret(self.key, "".join(code.split()), purpose="activation")
        stored = access.activation_hash if access is not None else None
        right = same_secret(stored or _NO_HASH, wanted) and stored is not None
        born = dmp is not None and same_birth_date(dmp.birth_date, birth_date)
        refusal: ServiceError | None = None
        if not (right and born):
            # Unknown sheet, spent code, wrong code or birth date: one answer (only the
            # sheet's holder could tell them apart, and they have the sheet).
            refusal = Unauthenticated(_BAD_ACTIVATION, code="bad_activation")
        elif access is not None and access.activation_expires_at <= now:
            refusal = Gone(
                "code provisoire expiré : demandez un nouveau code d'accès au comptoir",
                code="activation_expired",
            )
        self.throttle.record(
            db,
            Door.ACTIVATION,
            subject_hash=subject,
            source_hash=origin,
            now=now,
            failed=refusal is not None,
        )
        if refusal is not None or access is None or dmp is None:
            if access is not None:
                access.activation_tries += 1  # committed with the lock held, then refused
            trace(
                db,
                self.throttle.stranger(origin),
                AuditAction.PATIENT_ACTIVATE,
                now=now,
                outcome=AuditOutcome.REFUSED,
                patient_ins=access.dmp_ins if access else None,
                detail=refusal.code if refusal else "bad_activation",
            )
            return LoginAttempt(
                refusal=refusal or Unauthenticated(_BAD_ACTIVATION, code="bad_activation"),
                tries_left=self.throttle.activation_left(db, subject, now, since=reissued),
            )
        access.activation_hash = None
        access.activated_at = now
        token = self.open_session(db, dmp, now, person_nir=person_of(dmp, now.date()))
        return LoginAttempt(token=token)

    def _asked(self, ins_or_nir: str, birth_date: str) -> tuple[str, str]:
        """The NIR as the register keys it (as typed if it is not one), and the hash of
        the (NIR, birth date) pair the throttles count."""
        raw = "".join(ins_or_nir.split()).upper()
        try:
            number = check_nir(raw)
        except InvalidNirError:
            number = raw
        return number, self.throttle.subject("person", number, birth_date.strip())

    def _find(self, db: Session, number: str, birth_date: str, now: dt.datetime) -> list[Dmp]:
        """The records this person may open, theirs first: their own record, and the records
        of the children they represent (a parent logs in with their own number and birth
        date). The same queries for a malformed or unknown number."""
        own = db.get(Dmp, number)
        if own is not None:  # an adult child's record is theirs before any code is sent
            self._come_of_age(db, own, now)
        children = [
            dmp
            for dmp in represented(db, number, now.date())
            if same_birth_date(dmp.representative_birth_date, birth_date)
        ]
        mine = own is not None and same_birth_date(own.birth_date, birth_date)
        return ([own] if own is not None and mine else []) + children

    @staticmethod
    def _by_contact(records: list[Dmp]) -> dict[tuple[str, str], list[str]]:
        """The records this person may open, by the contact each was given (a parent's,
        given for their own record or their children's): where each code goes, and what it
        opens."""
        groups: dict[tuple[str, str], list[str]] = {}
        for dmp in records:
            if dmp.notify_channel and dmp.notify_address:
                groups.setdefault((dmp.notify_channel, dmp.notify_address), []).append(dmp.ins)
        return groups

    def request_code(
        self,
        db: Session,
        ins_or_nir: str,
        birth_date: str,
        now: dt.datetime,
        *,
        source: str,
    ) -> None:
        """Send a one-time code to the DMP's contact. Says nothing of whether the person
        exists: the throttles count what was asked, known or not."""
        number, subject = self._asked(ins_or_nir, birth_date)
        origin = self.throttle.source(source)
        self.throttle.lock(db, subject)
        self.throttle.admit(db, origin, now)
        hour_ago = now - dt.timedelta(hours=1)
        recent, last = self.throttle.count(db, subject, Door.CODE, hour_ago)
        if last is not None and now - last < self.resend_interval:
            raise TooManyRequests(
                "attendez avant de redemander un code",
                code="resend_too_soon",
                retry_after_s=retry_after(last + self.resend_interval, now),
            )
        if recent >= self.max_per_hour:
            oldest = self.throttle.oldest(db, subject, Door.CODE, hour_ago) or now
            raise TooManyRequests(
                "trop de codes demandés : réessayez dans une heure",
                code="too_many_codes",
                retry_after_s=retry_after(oldest + dt.timedelta(hours=1), now),
            )
        records = self._find(db, number, birth_date, now)
        pending = db.scalars(
            select(OneTimeCode).where(
                OneTimeCode.subject_hash == subject,
                OneTimeCode.used_at.is_(None),
                OneTimeCode.expires_at > now,
                OneTimeCode.tries < self.otp_max_tries,
            )
        ).all()
        self.throttle.record(
            db, Door.CODE, subject_hash=subject, source_hash=origin, now=now, failed=False
        )
        groups = self._by_contact(records)
        if not groups:
            return
        if pending:  # the new codes void those still waiting (only the latest are checked)
            for old in pending:
                old.expires_at = now
            trace(
                db,
                self.throttle.stranger(origin),
                AuditAction.CODE_REVOKE,
                now=now,
                patient_ins=records[0].ins,
                detail="replaced",
            )
        minutes = int(self.otp_ttl.total_seconds() // 60)
        # One code per contact: each opens only the records whose contact received it.
        for (channel, address), reached in groups.items():
            code = new_numeric_code(ONE_TIME_CODE_LENGTH)
            row = OneTimeCode(
                dmp_ins=reached[0],
                subject_hash=subject,
                reach=",".join(reached),
                code_hash=hash_secret(self.key, code, purpose="otp"),
                created_at=now,
                expires_at=now + self.otp_ttl,
            )
            db.add(row)
            db.flush()
            subject_line, body = messages.one_time_code(code, minutes)
            self.notifier.enqueue(
                db,
                dedup_key=f"otp:{row.id}",
                channel=channel,
                address=address,
                subject=subject_line,
                body=body,
                now=now,
            )

    def verify_code(
        self,
        db: Session,
        ins_or_nir: str,
        birth_date: str,
        code: str,
        now: dt.datetime,
        *,
        source: str,
    ) -> LoginAttempt:
        """Check the latest code; five tries per code asked, five minutes, once. The tries
        are counted per (NIR, birth date) asked, known or not, so the sixth answers 429 to
        both. The caller commits, then raises the attempt's refusal if there is one."""
        number, subject = self._asked(ins_or_nir, birth_date)
        origin = self.throttle.source(source)
        self.throttle.lock(db, subject)
        self.throttle.admit(db, origin, now)
        hour_ago = now - dt.timedelta(hours=1)
        _, asked_at = self.throttle.count(db, subject, Door.CODE, hour_ago)
        tries, _ = self.throttle.count(db, subject, Door.LOGIN, max(asked_at or hour_ago, hour_ago))
        if tries >= self.otp_max_tries:
            oldest = self.throttle.oldest(db, subject, Door.LOGIN, hour_ago) or now
            until = (
                asked_at + self.resend_interval
                if asked_at is not None
                else oldest + dt.timedelta(hours=1)
            )
            raise TooManyRequests(
                "trop d'essais : demandez un nouveau code",
                code="too_many_tries",
                retry_after_s=retry_after(max(until, now), now),
            )
        records = self._find(db, number, birth_date, now)
        # The latest codes sent for exactly what was asked (one per contact); the same
        # query for an unknown person, and a wrong number or birth date touches no one's.
        latest = db.scalars(
            select(OneTimeCode)
            .where(OneTimeCode.subject_hash == subject)
            .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc())
            .limit(8)
            .with_for_update()
        ).all()
        batch = [r for r in latest if r.created_at == latest[0].created_at] if latest else []
        wanted = hash_secret(self.key, code.strip(), purpose="otp")
        if batch:
            matches = [same_secret(r.code_hash, wanted) for r in batch]  # each, in full
        else:
            same_secret(_NO_HASH, wanted)  # the same work for an unknown person
            matches = []
        row = next((r for r, right in zip(batch, matches, strict=True) if right), None)
        refusal: ServiceError | None = None
        if row is None or row.tries >= self.otp_max_tries:
            refusal = Unauthenticated("code incorrect", code="bad_code")
        elif row.used_at is not None:  # only the code's holder hears it was used
            refusal = Gone("code déjà utilisé : demandez-en un nouveau", code="code_used")
        elif row.expires_at <= now:
            refusal = Gone("code expiré : demandez-en un nouveau", code="code_expired")
        for sent in batch:
            sent.tries += 1  # committed with the lock held, whatever the outcome
        findable = {dmp.ins: dmp for dmp in records}
        reach = [ins for ins in (row.reach or "").split(",") if ins in findable] if row else []
        if refusal is None and not reach:  # the records changed since the code was sent
            refusal = Unauthenticated("code incorrect", code="bad_code")
        self.throttle.record(
            db,
            Door.LOGIN,
            subject_hash=subject,
            source_hash=origin,
            now=now,
            failed=refusal is not None,
        )
        if refusal is not None or row is None:
            stranger = self.throttle.stranger(origin)
            failure = refusal or Unauthenticated("code incorrect", code="bad_code")
            trace(
                db,
                stranger,
                AuditAction.PATIENT_LOGIN,
                now=now,
                outcome=AuditOutcome.REFUSED,
                patient_ins=records[0].ins if records else None,
                detail=failure.code,
            )
            for sent in batch:
                if sent.used_at is None and sent.tries == self.otp_max_tries:
                    trace(  # this code is now void
                        db,
                        stranger,
                        AuditAction.CODE_REVOKE,
                        now=now,
                        patient_ins=sent.dmp_ins,
                        detail="too_many_tries",
                    )
            return LoginAttempt(refusal=failure, tries_left=max(0, self.otp_max_tries - tries - 1))
        row.used_at = now
        token = self.open_session(db, findable[reach[0]], now, person_nir=number, reach=reach)
        return LoginAttempt(token=token)

    def _session(self, db: Session, token: str, now: dt.datetime) -> tuple[PatientSession, Dmp]:
        """The open session behind a token and the record it shows, if it may still show it
        (a child who came of age is no longer their parent's to open)."""
        token_hash = hash_secret(self.key, token, purpose="patient")
        row = db.get(PatientSession, token_hash)
        if row is None or row.closed_at is not None or row.expires_at <= now:
            raise Unauthenticated("session expirée : reconnectez-vous")
        dmp = db.get(Dmp, row.dmp_ins)
        if dmp is not None and due(dmp, now.date()):
            dmp = None  # its adult person's now: the next pass or door hands it over
        if dmp is None or not may_show(dmp, row.person_nir, now.date()):
            raise Unauthenticated("session expirée : reconnectez-vous")
        return row, dmp

    def authenticate(self, db: Session, token: str, now: dt.datetime) -> Actor:
        """The patient (or representative) behind a session token, on the record shown."""
        row, dmp = self._session(db, token, now)
        return _patient_actor(dmp, row.token_hash, now.date())

    def viewing(self, db: Session, token: str, now: dt.datetime) -> Viewing:
        """The record shown and the others this session proved a right to and may still
        open."""
        row, dmp = self._session(db, token, now)
        today = now.date()
        others: list[Dmp] = []
        for ins in _reach(row):
            other = db.get(Dmp, ins) if ins != dmp.ins else None
            if other is not None and may_show(other, row.person_nir, today):
                others.append(other)
        return Viewing(_patient_actor(dmp, row.token_hash, today), dmp, tuple(others))

    def choose(self, db: Session, token: str, ins: str, now: dt.datetime) -> Actor:
        """Show another record this session proved a right to (the person's, a child's)."""
        row, _ = self._session(db, token, now)
        dmp = db.get(Dmp, ins) if ins in _reach(row) else None
        if dmp is None or not may_show(dmp, row.person_nir, now.date()):
            raise Forbidden("ce dossier ne vous est pas accessible", code="not_your_record")
        row.dmp_ins = dmp.ins
        return _patient_actor(dmp, row.token_hash, now.date())

    def logout(self, db: Session, token: str, now: dt.datetime) -> None:
        row = db.get(PatientSession, hash_secret(self.key, token, purpose="patient"))
        if row is not None and row.closed_at is None:
            row.closed_at = now
