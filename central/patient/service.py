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
from central.errors import Gone, ServiceError, TooManyRequests, Unauthenticated
from central.notify import messages
from central.notify.service import Notifier
from central.patient.models import OneTimeCode, PatientSession
from central.patient.throttle import AuthLimits, Door, DoorThrottle, retry_after
from central.security import hash_secret, new_token, same_secret
from dmpcommon import InvalidNirError, check_nir
from dmpcommon.identifiers import ONE_TIME_CODE_LENGTH, new_numeric_code
from dmpcommon.vocabulary import Role

__all__ = ["LoginAttempt", "PatientService"]

_BAD_ACTIVATION = (
    "identifiant ou code provisoire incorrect (un code déjà utilisé ne sert plus : "
    "connectez-vous avec un code reçu par e-mail ou SMS)"
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

    def token_or_raise(self) -> str:
        """The token, or the refusal raised."""
        if self.refusal is not None or self.token is None:
            raise self.refusal or Unauthenticated("code incorrect", code="bad_code")
        return self.token


def _patient_actor(dmp: Dmp, token_hash: str, today: dt.date) -> Actor:
    # A minor's record is opened by the legal representative who consented for them:
    # documents labelled INVISIBLE_REPRESENTANTS_LEGAUX stay hidden from that session.
    role = Role.REPRESENTATIVE if managed_by_representative(dmp, today) else Role.PATIENT
    return Actor(
        id=f"patient:{dmp.ins}",
        name=f"{dmp.prenom} {dmp.nom}",
        role=role,
        session_id=token_hash[:16],
        patient_ins=dmp.ins,
    )


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
    ) -> None:
        self.key = key
        self.notifier = notifier
        self.otp_ttl = dt.timedelta(seconds=otp_ttl_s)
        self.otp_max_tries = otp_max_tries
        self.resend_interval = dt.timedelta(seconds=resend_interval_s)
        self.max_per_hour = max_per_hour
        self.session_length = dt.timedelta(minutes=session_minutes)
        self.throttle = DoorThrottle(key=key, limits=limits or AuthLimits())

    def open_session(self, db: Session, dmp: Dmp, now: dt.datetime) -> str:
        token = new_token()
        token_hash = hash_secret(self.key, token, purpose="patient")
        db.add(
            PatientSession(
                token_hash=token_hash,
                dmp_ins=dmp.ins,
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
        self, db: Session, identifier: str, code: str, now: dt.datetime, *, source: str
    ) -> LoginAttempt:
        """First log-in with the access sheet's identifier and provisional code (then spent).
        The caller commits, then raises the attempt's refusal if there is one. Wrong codes
        lock the sheet for a while (AuthLimits.activation), never for good: a new code
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
        # The same query whether or not the sheet exists: when was a new code printed.
        reissued = db.scalar(
            select(func.max(AuditEntry.at)).where(
                AuditEntry.patient_ins == (access.dmp_ins if access else ""),
                AuditEntry.action == AuditAction.ACTIVATION_REISSUE.value,
                AuditEntry.outcome == AuditOutcome.DONE.value,
            )
        )
        self.throttle.activation_lock(db, subject, now, since=reissued)
        wanted = hash_secret(self.key, "".join(code.split()), purpose="activation")
        stored = access.activation_hash if access is not None else None
        right = same_secret(stored or _NO_HASH, wanted) and stored is not None
        refusal: ServiceError | None = None
        if not right:
            # Unknown sheet, spent code or wrong code: one answer (only the sheet's holder
            # could tell them apart, and they have the sheet).
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
        if refusal is not None or access is None:
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
                refusal=refusal or Unauthenticated(_BAD_ACTIVATION, code="bad_activation")
            )
        access.activation_hash = None
        access.activated_at = now
        dmp = db.get(Dmp, access.dmp_ins)
        if dmp is None:
            raise Unauthenticated(_BAD_ACTIVATION, code="bad_activation")
        return LoginAttempt(token=self.open_session(db, dmp, now))

    def _asked(self, ins_or_nir: str, birth_date: str) -> tuple[str, str]:
        """The NIR as the register keys it (as typed if it is not one), and the hash of
        the (NIR, birth date) pair the throttles count."""
        raw = "".join(ins_or_nir.split()).upper()
        try:
            number = check_nir(raw)
        except InvalidNirError:
            number = raw
        return number, self.throttle.subject("person", number, birth_date.strip())

    @staticmethod
    def _find_dmp(db: Session, number: str, birth_date: str) -> Dmp | None:
        # The same lookup for a malformed number: no shortcut that answers faster.
        dmp = db.get(Dmp, number)
        if dmp is None or dmp.birth_date != birth_date.strip():
            return None
        return dmp

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
        dmp = self._find_dmp(db, number, birth_date)
        code = new_numeric_code(ONE_TIME_CODE_LENGTH)
        code_hash = hash_secret(self.key, code, purpose="otp")
        pending = db.scalars(
            select(OneTimeCode).where(
                OneTimeCode.dmp_ins == (dmp.ins if dmp else number),
                OneTimeCode.used_at.is_(None),
                OneTimeCode.expires_at > now,
                OneTimeCode.tries < self.otp_max_tries,
            )
        ).all()
        self.throttle.record(
            db, Door.CODE, subject_hash=subject, source_hash=origin, now=now, failed=False
        )
        if dmp is None or not dmp.notify_channel or not dmp.notify_address:
            return
        if pending:  # the new code voids the one still waiting (only the latest is checked)
            trace(
                db,
                self.throttle.stranger(origin),
                AuditAction.CODE_REVOKE,
                now=now,
                patient_ins=dmp.ins,
                detail="replaced",
            )
        row = OneTimeCode(
            dmp_ins=dmp.ins, code_hash=code_hash, created_at=now, expires_at=now + self.otp_ttl
        )
        db.add(row)
        db.flush()
        subject_line, body = messages.one_time_code(code, int(self.otp_ttl.total_seconds() // 60))
        self.notifier.enqueue(
            db,
            dedup_key=f"otp:{row.id}",
            channel=dmp.notify_channel,
            address=dmp.notify_address,
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
        dmp = self._find_dmp(db, number, birth_date)
        row = db.scalar(
            select(OneTimeCode)
            .where(OneTimeCode.dmp_ins == (dmp.ins if dmp else number))
            .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc())
            .limit(1)
            .with_for_update()
        )
        wanted = hash_secret(self.key, code.strip(), purpose="otp")
        right = same_secret(row.code_hash if row else _NO_HASH, wanted) and row is not None
        refusal: ServiceError | None = None
        if row is None or not right or row.tries >= self.otp_max_tries:
            refusal = Unauthenticated("code incorrect", code="bad_code")
        elif row.used_at is not None:  # only the code's holder hears it was used
            refusal = Gone("code déjà utilisé : demandez-en un nouveau", code="code_used")
        elif row.expires_at <= now:
            refusal = Gone("code expiré : demandez-en un nouveau", code="code_expired")
        if row is not None:
            row.tries += 1  # committed with the lock held, whatever the outcome
        self.throttle.record(
            db,
            Door.LOGIN,
            subject_hash=subject,
            source_hash=origin,
            now=now,
            failed=refusal is not None,
        )
        if refusal is not None or row is None or dmp is None:
            stranger = self.throttle.stranger(origin)
            failure = refusal or Unauthenticated("code incorrect", code="bad_code")
            trace(
                db,
                stranger,
                AuditAction.PATIENT_LOGIN,
                now=now,
                outcome=AuditOutcome.REFUSED,
                patient_ins=dmp.ins if dmp else None,
                detail=failure.code,
            )
            if row is not None and row.used_at is None and row.tries == self.otp_max_tries:
                trace(  # this code is now void
                    db,
                    stranger,
                    AuditAction.CODE_REVOKE,
                    now=now,
                    patient_ins=row.dmp_ins,
                    detail="too_many_tries",
                )
            return LoginAttempt(refusal=failure)
        row.used_at = now
        return LoginAttempt(token=self.open_session(db, dmp, now))

    def authenticate(self, db: Session, token: str, now: dt.datetime) -> Actor:
        """The patient behind a session token."""
        token_hash = hash_secret(self.key, token, purpose="patient")
        row = db.get(PatientSession, token_hash)
        if row is None or row.closed_at is not None or row.expires_at <= now:
            raise Unauthenticated("session expirée : reconnectez-vous")
        dmp = db.get(Dmp, row.dmp_ins)
        if dmp is None:
            raise Unauthenticated("session expirée : reconnectez-vous")
        return _patient_actor(dmp, token_hash, now.date())

    def logout(self, db: Session, token: str, now: dt.datetime) -> None:
        row = db.get(PatientSession, hash_secret(self.key, token, purpose="patient"))
        if row is not None and row.closed_at is None:
            row.closed_at = now
