"""Operator sessions: the card's attestation verified against the professional CA."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import NameOID
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, AuditOutcome, trace, trace_kept
from central.errors import BadRequest, Forbidden, ServiceError, Unauthenticated
from central.professionals.models import OperatorSession, RevokedCard
from central.professionals.roles import Role, role_for
from central.security import hash_secret, new_token
from dmpcommon.attestation import attestation_digest

__all__ = ["CardIdentity", "ProfessionalService", "StructureRegister"]


@dataclass(frozen=True, slots=True)
class CardIdentity:
    """What the certificate says of its holder."""

    id_nat: str
    nom: str
    prenom: str
    card_type: str
    profession: str | None
    structure_id: str
    structure_name: str


class StructureRegister:
    """Structures (FINESS / SIRET) and their sector, from a JSON file."""

    def __init__(self, sectors: dict[str, str]) -> None:
        self.sectors = sectors

    @classmethod
    def load(cls, path: Path) -> StructureRegister:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls({s["id"]: s["sector"] for s in data["structures"]})


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    if len(values) != 1:
        raise Unauthenticated("certificate subject incomplete", code="bad_certificate")
    value = values[0].value
    return value if isinstance(value, str) else value.decode()


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"{what} is not base64") from exc


class ProfessionalService:
    """Verifies attestations, opens and resolves operator sessions."""

    def __init__(
        self,
        *,
        ca_certificates: list[x509.Certificate],
        structures: StructureRegister,
        key: bytes,
        session_minutes: int,
        skew_s: int,
    ) -> None:
        self.ca_certificates = ca_certificates
        self.structures = structures
        self.key = key
        self.session_minutes = session_minutes
        self.skew_s = skew_s

    def verify_certificate(
        self, der: bytes, now: dt.datetime
    ) -> tuple[x509.Certificate, CardIdentity]:
        """Check the chain and validity; read the holder's identity from the subject."""
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise Unauthenticated("unreadable certificate", code="bad_certificate") from exc
        for ca in self.ca_certificates:
            try:
                certificate.verify_directly_issued_by(ca)
                break
            except (ValueError, TypeError, InvalidSignature):
                continue
        else:
            raise Unauthenticated("certificate not issued by a trusted CA", code="bad_certificate")
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise Unauthenticated("certificate expired or not yet valid", code="bad_certificate")
        subject = certificate.subject
        card_type = _attribute(subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
        if card_type not in ("CPS", "CPE"):
            raise Unauthenticated("not a professional card certificate", code="bad_certificate")
        title = _attribute(subject, NameOID.TITLE)
        identity = CardIdentity(
            id_nat=_attribute(subject, NameOID.SERIAL_NUMBER),
            nom=_attribute(subject, NameOID.SURNAME),
            prenom=_attribute(subject, NameOID.GIVEN_NAME),
            card_type=card_type,
            profession=title if card_type == "CPS" else None,
            structure_id=_attribute(subject, NameOID.ORGANIZATION_IDENTIFIER),
            structure_name=_attribute(subject, NameOID.ORGANIZATION_NAME),
        )
        return certificate, identity

    def open_session(
        self,
        db: Session,
        *,
        kiosk_id: str,
        session_id: str,
        issued_at: str,
        certificate_b64: str,
        signature_b64: str,
        now: dt.datetime,
        queued: bool = False,
    ) -> tuple[str, OperatorSession]:
        """Verify the attestation, open the session and trace the login; returns the bearer
        token once. `queued`: the login reached us through the kiosk's queue, not live."""
        certificate, identity = self.verify_certificate(_b64(certificate_b64, "certificate"), now)
        revoked = db.get(RevokedCard, identity.id_nat)
        # A queued login reaching us after the revocation is refused whatever its date: a
        # thief with the card, its PIN and a kiosk would date it before the revocation.
        if revoked is not None and (queued or revoked.revoked_at <= now):
            raise Unauthenticated("this card is revoked", code="card_revoked")
        try:
            issued = dt.datetime.fromisoformat(issued_at)
        except ValueError as exc:
            raise BadRequest("issued_at is not an ISO 8601 time") from exc
        if issued.tzinfo is None:
            raise BadRequest("issued_at needs a time zone")
        if abs((now - issued).total_seconds()) > self.skew_s:
            raise Unauthenticated("attestation too old or clock skew", code="stale_attestation")
        public_key = certificate.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise Unauthenticated("unsupported card key", code="bad_certificate")
        digest = attestation_digest(kiosk_id=kiosk_id, session_id=session_id, issued_at=issued_at)
        try:
            public_key.verify(
                _b64(signature_b64, "signature"), digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))
            )
        except InvalidSignature as exc:
            raise Unauthenticated("bad attestation signature", code="bad_signature") from exc
        existing = db.get(OperatorSession, session_id)
        if existing is not None:
            if queued and existing.kiosk_id == kiosk_id and existing.id_nat == identity.id_nat:
                # The queue's copy of a login served live: the same login, nothing to add.
                return "", existing
            raise Unauthenticated("session id already used", code="replayed_attestation")
        role = role_for(
            card_type=identity.card_type,
            profession=identity.profession,
            sector=self.structures.sectors.get(identity.structure_id),
        )
        token = new_token()
        row = OperatorSession(
            id=session_id,
            token_hash=hash_secret(self.key, token, purpose="operator"),
            kiosk_id=kiosk_id,
            id_nat=identity.id_nat,
            nom=identity.nom,
            prenom=identity.prenom,
            card_type=identity.card_type,
            profession=identity.profession,
            structure_id=identity.structure_id,
            structure_name=identity.structure_name,
            role=role.value,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=self.session_minutes),
        )
        db.add(row)
        db.flush()
        trace(
            db,
            actor_of(row),
            AuditAction.OPERATOR_LOGIN,
            now=now,
            detail=f"kiosk={kiosk_id}" + (";queued" if queued else ""),
        )
        return token, row

    def resume_session(
        self, db: Session, *, session_id: str, kiosk_id: str, now: dt.datetime
    ) -> tuple[str, OperatorSession]:
        """A new bearer token for a session this kiosk opened (live, or its queued login
        applied) and still open: the kiosk lost its token, or logged in offline. The kiosk's
        request signature is the proof; the card proved the operator at login. The old token
        stops serving; the session ends when it was going to."""
        # Locked: two resumes at once are served one after the other (the last token serves).
        row = db.get(OperatorSession, session_id, with_for_update=True)
        if row is None:
            # Nobody to name in the audit (it names an actor), as a refused login.
            raise Unauthenticated("no operator session of this id", code="no_operator_session")
        refusal = _resume_refusal(db, row, kiosk_id, now)
        if refusal is not None:
            _refuse_resume(db, row, kiosk_id, now, refusal)
        token = new_token()
        row.token_hash = hash_secret(self.key, token, purpose="operator")
        db.flush()
        trace(
            db,
            actor_of(row),
            AuditAction.OPERATOR_LOGIN,
            now=now,
            detail=f"kiosk={kiosk_id};resumed",
        )
        return token, row

    def token_hash(self, token: str) -> str:
        """How a bearer token is kept: hashed with the service's key."""
        return hash_secret(self.key, token, purpose="operator")

    @staticmethod
    def session_query(token_hash: str) -> Select[*tuple[Any, ...]]:
        """The operator session of a token's hash, with its card's revocation: the columns
        actor_of_session reads (by columns, not the ORM entity: this runs on every operator
        request)."""
        return (
            select(
                OperatorSession.id,
                OperatorSession.id_nat,
                OperatorSession.prenom,
                OperatorSession.nom,
                OperatorSession.role,
                OperatorSession.profession,
                OperatorSession.structure_name,
                OperatorSession.expires_at,
                OperatorSession.closed_at,
                OperatorSession.kiosk_id,
                RevokedCard.revoked_at,
            )
            .outerjoin(RevokedCard, RevokedCard.id_nat == OperatorSession.id_nat)
            .where(OperatorSession.token_hash == token_hash)
        )

    def authenticate(
        self, db: Session, token: str, now: dt.datetime, *, kiosk_id: str | None = None
    ) -> Actor:
        """The actor of a bearer token, or Unauthenticated; `kiosk_id`: the kiosk that signed
        the request, which must be the one the session was opened at."""
        row = db.execute(self.session_query(self.token_hash(token))).first()
        return self.actor_of_session(row, now, kiosk_id=kiosk_id)

    @staticmethod
    def actor_of_session(
        row: _SessionRow | None, now: dt.datetime, *, kiosk_id: str | None = None
    ) -> Actor:
        """The actor of an operator session read by session_query (None: no session of that
        token), or Unauthenticated: closed, expired, its card revoked, another kiosk's."""
        if row is None or row.closed_at is not None or row.expires_at <= now:
            raise Unauthenticated("no open operator session")
        if row.revoked_at is not None and row.revoked_at <= now:
            raise Unauthenticated("this card is revoked", code="card_revoked")
        if kiosk_id is not None and row.kiosk_id != kiosk_id:
            raise Unauthenticated("session opened at another kiosk", code="wrong_kiosk")
        return actor_of(row)

    def close_session(self, db: Session, actor: Actor, now: dt.datetime) -> None:
        """Log the operator out, and trace it."""
        row = db.get(OperatorSession, actor.session_id)
        if row is not None and row.closed_at is None:
            row.closed_at = now
            trace(db, actor, AuditAction.OPERATOR_LOGOUT, now=now)


def _resume_refusal(
    db: Session, row: OperatorSession, kiosk_id: str, now: dt.datetime
) -> ServiceError | None:
    """Why this kiosk may not have a new token for this session, if it may not."""
    if row.kiosk_id != kiosk_id:
        return Forbidden("session opened at another kiosk", code="wrong_kiosk")
    if row.closed_at is not None or row.expires_at <= now:
        return Unauthenticated("operator session over", code="operator_session_over")
    revoked = db.get(RevokedCard, row.id_nat)
    if revoked is not None and revoked.revoked_at <= now:
        return Unauthenticated("this card is revoked", code="card_revoked")
    return None


def _refuse_resume(
    db: Session, row: OperatorSession, kiosk_id: str, now: dt.datetime, error: ServiceError
) -> NoReturn:
    """Trace a refused resume under the session's operator (kept through the rollback): a
    kiosk asking for someone's session is worth knowing, whichever kiosk it is."""
    trace_kept(
        db,
        actor_of(row),
        AuditAction.OPERATOR_LOGIN,
        now=now,
        outcome=AuditOutcome.REFUSED,
        detail=f"{error.code};kiosk={kiosk_id};resume",
    )
    raise error


class _SessionColumns(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def id_nat(self) -> str: ...
    @property
    def prenom(self) -> str: ...
    @property
    def nom(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def profession(self) -> str | None: ...
    @property
    def structure_name(self) -> str: ...


class _SessionRow(_SessionColumns, Protocol):
    @property
    def expires_at(self) -> dt.datetime: ...
    @property
    def closed_at(self) -> dt.datetime | None: ...
    @property
    def kiosk_id(self) -> str: ...
    @property
    def revoked_at(self) -> dt.datetime | None: ...


def actor_of(row: _SessionColumns) -> Actor:
    """The Actor of an operator session (the entity, or a row of its columns)."""
    return Actor(
        id=row.id_nat,
        name=f"{row.prenom} {row.nom}",
        role=Role(row.role),
        session_id=row.id,
        profession=row.profession,
        structure_name=row.structure_name,
    )
