"""The patient creates their own DMP in the portal (DESIGN.md, "Who may change what").

They prove who they are with what only the card holder has together: the NIR, the birth date
and the serial number of their own Vitale card, as the identity register holds them. They read
the information text and consent on screen; the contact they give is confirmed by a code sent
there, and only then is the DMP created and the patient logged in.

A proof that fails is counted per NIR (a keyed hash): five proofs or codes an hour, one code a
minute, five tries a code, ten minutes to type it. A minor's DMP is created at the counter,
with the legal representative.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, AuditOutcome, trace, trace_kept
from central.db import keep_on_failure
from central.dmp.contacts import ContactCodes
from central.dmp.creation import DmpCreation
from central.dmp.models import Dmp
from central.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    ServiceError,
    TooManyRequests,
    WrongCode,
)
from central.identity.service import IdentityRegister, Person
from central.notify import messages
from central.notify.service import Notifier
from central.patient.models import AuthAttempt, OnlineCreation
from central.patient.service import LoginAttempt, PatientService
from central.patient.throttle import Door, retry_after
from central.security import hash_secret, same_secret
from dmpcommon import InvalidNirError, check_nir
from dmpcommon.actions import DmpCreated, EmergencyChoices, NotificationContact
from dmpcommon.identifiers import ONE_TIME_CODE_LENGTH, new_numeric_code
from dmpcommon.information import INFORMATION_VERSION
from dmpcommon.people import BirthDate
from dmpcommon.vocabulary import Role

__all__ = ["OnlineCreations", "Proof"]


@dataclass(frozen=True, slots=True)
class Proof:
    """What the patient types to prove who they are."""

    nir: str
    birth_date: str
    vitale_serial: str


def _patient(person: Person) -> Actor:
    return Actor(
        id=f"patient:{person.ins}",
        name=f"{person.prenoms[0]} {person.nom_naissance}",
        role=Role.PATIENT,
        session_id="online-creation",
        patient_ins=person.ins,
    )


class OnlineCreations:
    """Self-creation in the portal: ask (proof, consent, contact), then confirm (the code)."""

    def __init__(
        self,
        *,
        register: IdentityRegister,
        creation: DmpCreation,
        patients: PatientService,
        notifier: Notifier,
        key: bytes,
        codes: ContactCodes | None = None,
    ) -> None:
        self.register = register
        self.creation = creation
        self.patients = patients
        self.notifier = notifier
        self.key = key
        self.codes = codes or ContactCodes()

    def _nir_hash(self, proof: Proof) -> str:
        try:
            nir = check_nir(proof.nir.replace(" ", ""))
        except InvalidNirError as exc:
            raise BadRequest("NIR invalide", code="nir_invalid") from exc
        return hash_secret(self.key, nir, purpose="online_creation")

    @staticmethod
    def _lock(db: Session, nir_hash: str) -> None:
        """One request per NIR at a time, so that the tries are counted under a lock (two at
        once would each count the same rows). SQLite serialises writers by itself."""
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(nir_hash[:15], 16)})

    def _prove(self, proof: Proof) -> Person | None:
        return self.register.prove(
            nir=check_nir(proof.nir.replace(" ", "")),
            birth_date=proof.birth_date,
            vitale_serial=proof.vitale_serial,
        )

    def _throttle(
        self, db: Session, nir_hash: str, now: dt.datetime, *, resend: bool = True
    ) -> None:
        mine = OnlineCreation.nir_hash == nir_hash
        last = db.scalar(select(func.max(OnlineCreation.created_at)).where(mine))
        if resend and last is not None and now - last < self.codes.resend_interval:
            raise TooManyRequests(
                "wait before trying again",
                code="resend_too_soon",
                retry_after_s=retry_after(last + self.codes.resend_interval, now),
            )
        hour_ago = now - dt.timedelta(hours=1)
        recent, oldest = db.execute(
            select(func.count(), func.min(OnlineCreation.created_at)).where(
                mine, OnlineCreation.created_at > hour_ago
            )
        ).one()
        if (recent or 0) >= self.codes.max_per_hour:
            raise TooManyRequests(
                "too many tries this hour",
                code="too_many_codes",
                retry_after_s=retry_after((oldest or now) + dt.timedelta(hours=1), now),
            )

    def _counted(
        self,
        db: Session,
        door: Door,
        nir_hash: str,
        origin: str,
        refusal: ServiceError | None,
        now: dt.datetime,
    ) -> None:
        """Count the try at the door (per source, overall) and trace a refused one: the
        detail is the refusal's code, never the NIR, birth date, serial or code."""
        throttle = self.patients.throttle
        failed = refusal is not None
        throttle.record(db, door, subject_hash=nir_hash, source_hash=origin, now=now, failed=failed)
        if refusal is not None:
            trace(
                db,
                throttle.stranger(origin),
                AuditAction.ONLINE_CREATION,
                now=now,
                outcome=AuditOutcome.REFUSED,
                detail=f"{door.value}:{refusal.code}",
            )

    def ask(
        self,
        db: Session,
        proof: Proof,
        *,
        information_version: str,
        contact: NotificationContact,
        emergency: EmergencyChoices,
        now: dt.datetime,
        source: str,
    ) -> ServiceError | None:
        """Check the proof and send a code to the contact. A failed proof is counted and
        returned as the refusal to raise once committed."""
        if information_version != INFORMATION_VERSION:
            raise Conflict("the information text changed: read it again", code="information_old")
        nir_hash = self._nir_hash(proof)
        origin = self.patients.throttle.source(source)
        self._lock(db, nir_hash)
        self.patients.throttle.admit(db, origin, now)
        self._throttle(db, nir_hash, now)
        refusal = self._asked(db, proof, nir_hash, contact, emergency, information_version, now)
        self._counted(db, Door.CREATION, nir_hash, origin, refusal, now)
        return refusal

    def _asked(
        self,
        db: Session,
        proof: Proof,
        nir_hash: str,
        contact: NotificationContact,
        emergency: EmergencyChoices,
        information_version: str,
        now: dt.datetime,
    ) -> ServiceError | None:
        person = self._prove(proof)
        row = OnlineCreation(
            nir_hash=nir_hash,
            proven=person is not None,
            created_at=now,
            expires_at=now + self.codes.ttl,
            etreat=emergency.etreat,
            btg=emergency.btg,
            masked=emergency.masked,
        )
        db.add(row)
        if person is None:
            return Forbidden("identity not proven", code="identity_not_proven")
        if BirthDate.parse(person.birth_date).minor_on(now.date()):
            row.proven = False
            return Forbidden("a minor's DMP is created at the counter", code="minor_at_counter")
        if db.get(Dmp, person.ins) is not None:
            row.proven = False
            return Conflict("this patient already has a DMP", code="dmp_exists")
        code = new_numeric_code(ONE_TIME_CODE_LENGTH)
        row.channel, row.address = contact.channel.value, contact.address
        row.code_hash = hash_secret(self.key, code, purpose="online_creation_code")
        row.information_version = information_version
        db.flush()
        subject, body = messages.creation_code(code, int(self.codes.ttl.total_seconds() // 60))
        self.notifier.enqueue(
            db,
            dedup_key=f"creation_code:{row.id}",
            channel=row.channel,
            address=row.address,
            subject=subject,
            body=body,
            now=now,
        )
        return None

    def confirm(
        self, db: Session, proof: Proof, code: str, now: dt.datetime, *, source: str
    ) -> LoginAttempt:
        """The code typed back: the DMP is created with the consent given on screen, and the
        patient logged in. The proof comes first: without it, every answer is the same
        (nothing said of who exists or is signing up) and the try counts like a failed proof.
        A wrong code is counted too (the caller commits, then raises)."""
        nir_hash = self._nir_hash(proof)
        origin = self.patients.throttle.source(source)
        self._lock(db, nir_hash)
        self.patients.throttle.admit(db, origin, now)
        try:
            attempt = self._confirmed(db, proof, nir_hash, code, now)
        except ServiceError as exc:
            if not isinstance(exc, TooManyRequests):  # a throttled try did nothing
                self._counted_kept(db, nir_hash, origin, exc, now)
            raise
        self._counted(db, Door.CREATION_CONFIRM, nir_hash, origin, attempt.refusal, now)
        return attempt

    def _counted_kept(
        self, db: Session, nir_hash: str, origin: str, refusal: ServiceError, now: dt.datetime
    ) -> None:
        """A refusal raised (the request rolls back): its count and trace stay anyway."""
        throttle = self.patients.throttle
        keep_on_failure(
            db,
            insert(AuthAttempt).values(
                door=Door.CREATION_CONFIRM.value,
                subject_hash=nir_hash,
                source_hash=origin,
                at=now,
                failed=True,
            ),
        )
        trace_kept(
            db,
            throttle.stranger(origin),
            AuditAction.ONLINE_CREATION,
            now=now,
            outcome=AuditOutcome.REFUSED,
            detail=f"{Door.CREATION_CONFIRM.value}:{refusal.code}",
        )

    def _confirmed(
        self, db: Session, proof: Proof, nir_hash: str, code: str, now: dt.datetime
    ) -> LoginAttempt:
        person = self._prove(proof)
        if person is None:
            self._throttle(db, nir_hash, now, resend=False)
            db.add(
                OnlineCreation(
                    nir_hash=nir_hash, proven=False, created_at=now, expires_at=now, tries=0
                )
            )
            return LoginAttempt(
                refusal=Forbidden("identity not proven", code="identity_not_proven")
            )
        row = db.scalar(
            select(OnlineCreation)
            .where(OnlineCreation.nir_hash == nir_hash, OnlineCreation.proven.is_(True))
            .order_by(OnlineCreation.created_at.desc(), OnlineCreation.id.desc())
            .limit(1)
            .with_for_update()
        )
        if row is None or row.done_at is not None or row.code_hash is None:
            raise NotFound("no creation waiting", code="no_creation_waiting")
        if row.expires_at <= now:
            raise Gone("the code expired", code="code_expired")
        if row.tries >= self.codes.max_tries:
            raise TooManyRequests("too many tries", code="too_many_tries")
        row.tries += 1
        wanted = hash_secret(self.key, code.strip(), purpose="online_creation_code")
        if not same_secret(row.code_hash, wanted):
            left = self.codes.max_tries - row.tries
            return LoginAttempt(refusal=WrongCode("wrong code", tries_left=left), tries_left=left)
        if row.channel is None or row.address is None:
            raise NotFound("no creation waiting", code="no_creation_waiting")
        row.done_at = now
        actor = _patient(person)
        trace(
            db,
            actor,
            AuditAction.CONSENT,
            now=now,
            outcome=AuditOutcome.RECORDED,
            patient_ins=person.ins,
            detail=f"consent=self;info={row.information_version};online",
        )
        request = DmpCreated(
            ins=person.ins,
            consent=True,
            information_version=row.information_version or INFORMATION_VERSION,
            emergency=EmergencyChoices(etreat=row.etreat, btg=row.btg, masked=row.masked),
            contact=NotificationContact.model_validate(
                {"channel": row.channel, "address": row.address}
            ),
        )
        dmp, access, _ = self.creation.create(db, actor, person.ins, request, now)
        # Logged in at once: no access sheet, so no activation code to keep.
        access.activation_hash = None
        access.activated_at = now
        return LoginAttempt(token=self.patients.open_session(db, dmp, now, person_nir=dmp.ins))
