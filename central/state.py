"""The service's wiring: settings, keys, database, registers and domain services, built once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from cryptography import x509
from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from central.actors import Actor
from central.audit.service import AuditSealer
from central.config import ServiceKeys, Settings
from central.db import make_engine, make_sessionmaker, take_kept, utcnow
from central.dmp.services import DmpServices
from central.errors import Unauthenticated
from central.identity.service import IdentityRegister
from central.notify.service import Notifier, OutboxWorker, Sender, SmsGatewaySender, SmtpSender
from central.patient import majority
from central.patient.online_creation import OnlineCreations
from central.patient.service import PatientService
from central.patient.throttle import AuthLimits
from central.production import check_production
from central.professionals.service import ProfessionalService, StructureRegister
from central.sync.service import ClientKind, refuse_unusable
from central.sync.signatures import SignedBy, verify_kiosk_request, verify_operator_request
from central.sync.timing import ClockBounds

__all__ = ["AppState", "bearer", "build_state"]


@dataclass
class AppState:
    """Everything a request handler needs, loaded once at start-up."""

    settings: Settings
    keys: ServiceKeys
    engine: Engine
    sessions: sessionmaker[Session]
    register: IdentityRegister
    professionals: ProfessionalService
    dmp: DmpServices
    patients: PatientService
    online_creations: OnlineCreations
    notifier: Notifier
    worker: OutboxWorker
    sealer: AuditSealer
    clock: Callable[[], dt.datetime] = field(default=utcnow)

    def now(self) -> dt.datetime:
        """The service's time (the tests move it)."""
        return self.clock()

    @property
    def bounds(self) -> ClockBounds:
        """How far the kiosks' clocks are believed."""
        return ClockBounds(
            offline_window=dt.timedelta(days=self.settings.offline_window_days),
            skew=dt.timedelta(seconds=self.settings.clock_skew_s),
        )

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction per request: commit on success, roll back on error. What was
        written with keep_on_failure (refusal traces, failed tries) is written again after
        the rollback and committed."""
        db = self.sessions()
        try:
            yield db
            db.commit()
            take_kept(db)
        except BaseException:
            db.rollback()
            kept = take_kept(db)
            if kept:
                for statement in kept:
                    db.execute(statement)
                db.commit()
            raise
        finally:
            db.close()

    @contextmanager
    def operator(self, request: Request) -> Iterator[tuple[Session, Actor]]:
        """A transaction with the operator behind the request's bearer token, at the
        enrolled kiosk that signed the request and where the session was opened."""
        with self.unit_of_work() as db:
            token = _bearer_or_none(request)
            now = self.now()
            # The kiosk's standing, the nonce spent and the operator session: one round trip
            # (on PostgreSQL); the checks in the order they had as separate steps.
            signer, session = verify_operator_request(
                db,
                method=request.method,
                url=str(request.url),
                headers=request.headers.raw,
                body=_raw_body(request),
                now=now,
                token_hash=None if token is None else self.professionals.token_hash(token),
                session_query=self.professionals.session_query,
            )
            refuse_unusable(signer.status, signer.flagged)
            if token is None:
                raise Unauthenticated("missing bearer token")
            yield db, self.professionals.actor_of_session(session, now, kiosk_id=signer.kiosk_id)

    def signing_kiosk(self, db: Session, request: Request) -> str:
        """The enrolled, active, unflagged kiosk whose device key signed this request (RFC
        9421, as the sync's): every operator request comes from one, never from another kind
        of client (the health insurance's feed is refused here)."""
        return self._signer(db, request, ClientKind.KIOSK).kiosk_id

    def signing_feed(self, db: Session, request: Request) -> SignedBy:
        """The enrolled, active health insurance's feed whose key signed this request: the
        care history's doors let no other client through, a kiosk included."""
        return self._signer(db, request, ClientKind.INSURANCE)

    def _signer(self, db: Session, request: Request, kind: ClientKind) -> SignedBy:
        signer = verify_kiosk_request(
            db,
            method=request.method,
            url=str(request.url),
            headers=request.headers.raw,
            body=_raw_body(request),
            now=self.now(),
            kind=kind,
        )
        refuse_unusable(signer.status, signer.flagged)
        return signer

    @contextmanager
    def patient(self, request: Request) -> Iterator[tuple[Session, Actor]]:
        """A transaction with the patient behind the request's bearer token."""
        with self.unit_of_work() as db:
            yield db, self.patients.authenticate(db, bearer(request), self.now())


def bearer(request: Request) -> str:
    """The bearer token of a request."""
    token = _bearer_or_none(request)
    if token is None:
        raise Unauthenticated("missing bearer token")
    return token


def _bearer_or_none(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _raw_body(request: Request) -> bytes:
    """The exact bytes received, kept by central.deps.read_body for the signature."""
    body = getattr(request.state, "raw_body", None)
    if not isinstance(body, bytes):
        raise RuntimeError("a signed route without central.deps.read_body")
    return body


def build_state(settings: Settings) -> AppState:
    """Wire the service from its settings; key files are read here, once."""
    keys = settings.keys()
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    ca_pem = settings.professional_ca.read_bytes()
    if settings.production:
        check_production(
            ca_path=settings.professional_ca,
            ca_certificates=x509.load_pem_x509_certificates(ca_pem),
            portal_url=settings.portal_url,
        )
    register = IdentityRegister.load(settings.identities, production=settings.production)
    professionals = ProfessionalService(
        ca_certificates=x509.load_pem_x509_certificates(ca_pem),
        structures=StructureRegister.load(settings.structures),
        key=keys.secret,
        session_minutes=settings.session_minutes,
        skew_s=settings.attestation_skew_s,
    )
    senders: dict[str, Sender] = {}
    if settings.smtp_url:
        senders["email"] = SmtpSender(settings.smtp_url, settings.mail_from)
    if settings.sms_url:
        senders["sms"] = SmsGatewaySender(settings.sms_url)
    worker = OutboxWorker(sessions, senders)
    notifier = Notifier(kick=worker.kick)
    worker.chores = lambda db, now: majority.sweep(
        db, notifier, now, activation_days=settings.activation_days
    )
    dmp = DmpServices.build(
        register=register,
        notifier=notifier,
        key=keys.secret,
        portal_url=settings.portal_url,
        activation_days=settings.activation_days,
        document_max_bytes=settings.document_max_bytes,
    )
    patients = PatientService(
        key=keys.secret,
        notifier=notifier,
        otp_ttl_s=settings.otp_ttl_s,
        otp_max_tries=settings.otp_max_tries,
        resend_interval_s=settings.otp_resend_interval_s,
        max_per_hour=settings.otp_max_per_hour,
        session_minutes=settings.patient_session_minutes,
        limits=AuthLimits.from_settings(settings),
        activation_days=settings.activation_days,
    )
    return AppState(
        settings=settings,
        keys=keys,
        engine=engine,
        sessions=sessions,
        register=register,
        professionals=professionals,
        dmp=dmp,
        patients=patients,
        online_creations=OnlineCreations(
            register=register,
            creation=dmp.creation,
            patients=patients,
            notifier=notifier,
            key=keys.secret,
        ),
        notifier=notifier,
        worker=worker,
        sealer=AuditSealer(
            sessions,
            key=settings.audit_key(),
            anchor=settings.audit_key_path().with_name("audit.head"),
        ),
    )
