"""The patient's own access: activation, one-time codes, sessions, their record and log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, trace
from central.dmp.common import managed_by_representative
from central.dmp.models import Dmp, PatientAccess
from central.errors import Gone, ServiceError, TooManyRequests, Unauthenticated
from central.notify import messages
from central.notify.service import Notifier
from central.patient.models import OneTimeCode, PatientSession
from central.security import hash_secret, new_token, same_secret
from dmpcommon import InvalidNirError, check_nir
from dmpcommon.identifiers import ONE_TIME_CODE_LENGTH, new_numeric_code
from dmpcommon.vocabulary import Role

__all__ = ["LoginAttempt", "PatientService"]

_MAX_ACTIVATION_TRIES = 5


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
    """Codes are 6 digits from the CSPRNG, stored as keyed hashes, compared in constant time."""

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
    ) -> None:
        self.key = key
        self.notifier = notifier
        self.otp_ttl = dt.timedelta(seconds=otp_ttl_s)
        self.otp_max_tries = otp_max_tries
        self.resend_interval = dt.timedelta(seconds=resend_interval_s)
        self.max_per_hour = max_per_hour
        self.session_length = dt.timedelta(minutes=session_minutes)

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

    def activate(self, db: Session, identifier: str, code: str, now: dt.datetime) -> LoginAttempt:
        """First log-in with the access sheet's identifier and provisional code (then spent).
        The caller commits, then raises the attempt's refusal if there is one."""
        access = db.scalar(
            select(PatientAccess)
            .where(PatientAccess.identifier == identifier.strip().upper())
            .with_for_update()
        )
        if access is None:
            raise Unauthenticated("identifiant ou code incorrect", code="bad_activation")
        if access.activation_hash is None:
            raise Gone("code d'activation déjà utilisé", code="activation_spent")
        if access.activation_expires_at <= now:
            raise Gone("code d'activation expiré", code="activation_expired")
        if access.activation_tries >= _MAX_ACTIVATION_TRIES:
            raise TooManyRequests(
                "trop d'essais : demandez un nouveau code au comptoir", code="too_many_tries"
            )
        if not same_secret(
            access.activation_hash, hash_secret(self.key, code.strip(), purpose="activation")
        ):
            access.activation_tries += 1  # committed with the lock held, then refused
            return LoginAttempt(
                refusal=Unauthenticated("identifiant ou code incorrect", code="bad_activation")
            )
        access.activation_hash = None
        access.activated_at = now
        dmp = db.get(Dmp, access.dmp_ins)
        if dmp is None:
            raise Unauthenticated("identifiant ou code incorrect", code="bad_activation")
        return LoginAttempt(token=self.open_session(db, dmp, now))

    def _find_dmp(self, db: Session, ins_or_nir: str, birth_date: str) -> Dmp | None:
        try:
            number = check_nir(ins_or_nir)
        except InvalidNirError:
            return None
        dmp = db.get(Dmp, number)
        if dmp is None or dmp.birth_date != birth_date:
            return None
        return dmp

    def request_code(self, db: Session, ins_or_nir: str, birth_date: str, now: dt.datetime) -> None:
        """Send a one-time code to the DMP's contact. Says nothing of whether the person exists."""
        dmp = self._find_dmp(db, ins_or_nir, birth_date)
        if dmp is None or not dmp.notify_channel or not dmp.notify_address:
            return
        last = db.scalar(
            select(func.max(OneTimeCode.created_at)).where(OneTimeCode.dmp_ins == dmp.ins)
        )
        if last is not None and now - last < self.resend_interval:
            raise TooManyRequests("attendez avant de redemander un code", code="resend_too_soon")
        recent = db.scalar(
            select(func.count())
            .select_from(OneTimeCode)
            .where(
                OneTimeCode.dmp_ins == dmp.ins, OneTimeCode.created_at > now - dt.timedelta(hours=1)
            )
        )
        if (recent or 0) >= self.max_per_hour:
            raise TooManyRequests(
                "trop de codes demandés : réessayez dans une heure", code="too_many_codes"
            )
        code = new_numeric_code(ONE_TIME_CODE_LENGTH)
        row = OneTimeCode(
            dmp_ins=dmp.ins,
            code_hash=hash_secret(self.key, code, purpose="otp"),
            created_at=now,
            expires_at=now + self.otp_ttl,
        )
        db.add(row)
        db.flush()
        subject, body = messages.one_time_code(code, int(self.otp_ttl.total_seconds() // 60))
        self.notifier.enqueue(
            db,
            dedup_key=f"otp:{row.id}",
            channel=dmp.notify_channel,
            address=dmp.notify_address,
            subject=subject,
            body=body,
            now=now,
        )

    def verify_code(
        self, db: Session, ins_or_nir: str, birth_date: str, code: str, now: dt.datetime
    ) -> LoginAttempt:
        """Check the latest code; five tries, five minutes, once. The caller commits, then
        raises the attempt's refusal if there is one."""
        dmp = self._find_dmp(db, ins_or_nir, birth_date)
        if dmp is None:
            raise Unauthenticated("code incorrect", code="bad_code")
        row = db.scalar(
            select(OneTimeCode)
            .where(OneTimeCode.dmp_ins == dmp.ins)
            .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc())
            .limit(1)
            .with_for_update()
        )
        if row is None:
            raise Unauthenticated("code incorrect", code="bad_code")
        if row.used_at is not None:
            raise Gone("code déjà utilisé : demandez-en un nouveau", code="code_used")
        if row.expires_at <= now:
            raise Gone("code expiré : demandez-en un nouveau", code="code_expired")
        if row.tries >= self.otp_max_tries:
            raise TooManyRequests("trop d'essais : demandez un nouveau code", code="too_many_tries")
        row.tries += 1  # committed with the lock held, whatever the outcome
        if not same_secret(row.code_hash, hash_secret(self.key, code.strip(), purpose="otp")):
            return LoginAttempt(refusal=Unauthenticated("code incorrect", code="bad_code"))
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
