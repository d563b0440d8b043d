"""RFC 9421 HTTP message signatures on the kiosks' sync requests.

Each sync request is signed with the kiosk's Ed25519 device key (keyid = kiosk id) over the
method, authority, path, query and the body's Content-Digest (RFC 9530). The query is
covered because it says what is asked: the patient a FHIR search names, a document's
opening mode and reason, the feed's cursor; a signature for one query is no signature for
another. A request is refused when
the signature does not verify, is older than the replay window, or reuses a nonce seen inside
the window. Beyond the window, a replayed batch is still harmless: the ledger's sequence and
receipts make a resend an idempotent no-op.

The health insurance's feed signs its requests the same way with its own enrolled key; a
signature proves a client of one kind (central.sync.service.ClientKind), and each door names
the kind it lets through: a kiosk's key opens no feed door, the feed's no kiosk door.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from central.db import replay_after_rollback
from central.errors import Forbidden, Unauthenticated
from central.sync.models import Kiosk, RequestNonce
from central.sync.service import ClientKind

__all__ = ["COVERED_COMPONENTS", "REPLAY_WINDOW", "SignedBy", "verify_kiosk_request"]

REPLAY_WINDOW = dt.timedelta(minutes=5)
COVERED_COMPONENTS = ("@method", "@authority", "@path", "@query", "content-digest")


class _TimeRefused(InvalidSignature):
    """The signature's creation time is outside the window (a kiosk clock off, or a replay)."""


class _Verifier(HTTPMessageVerifier):
    max_clock_skew = dt.timedelta(seconds=30)

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        try:
            super().validate_created_and_expires(sig_input, max_age=max_age)  # type: ignore[no-untyped-call]
        except InvalidSignature as exc:
            raise _TimeRefused(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class SignedBy:
    """The client whose key signed a request, and its standing, read in the same query."""

    kiosk_id: str
    status: str  # active | revoked
    flagged: str | None
    kind: str = ClientKind.KIOSK.value
    site: str = ""


class _KioskKeys(HTTPSignatureKeyResolver):
    def __init__(self, db: Session) -> None:
        self.db = db
        self.kiosk: SignedBy | None = None

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        row = self.db.execute(
            select(Kiosk.public_key, Kiosk.status, Kiosk.flagged, Kiosk.kind, Kiosk.site).where(
                Kiosk.id == key_id
            )
        ).first()
        if row is None:
            return None
        self.kiosk = SignedBy(key_id, row.status, row.flagged, row.kind, row.site)
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(row.public_key))

    def resolve_private_key(self, key_id: str) -> Any:
        raise NotImplementedError("the service never signs as a kiosk")


class _Headers:
    """A read-only view of the request's field lines, as the verifier reads them."""

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._fields = [(k.decode("ascii"), v.decode("latin-1")) for k, v in raw]

    def items(self) -> Iterable[tuple[str, str]]:
        return self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._fields))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self._fields)

    def __setitem__(self, name: str, value: str) -> None:
        raise TypeError("read-only")

    def __delitem__(self, name: str) -> None:
        raise TypeError("read-only")


@dataclass(frozen=True, slots=True)
class _Message:
    method: str
    url: str
    headers: _Headers


def verify_kiosk_request(
    db: Session,
    *,
    method: str,
    url: str,
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    now: dt.datetime,
    kind: ClientKind = ClientKind.KIOSK,
) -> SignedBy:
    """Verify the request's signature and spend its nonce; returns the signing client, which
    must be of `kind` (a kiosk unless told: Forbidden otherwise)."""
    keys = _KioskKeys(db)
    verifier = _Verifier(signature_algorithm=algorithms.ED25519, key_resolver=keys)
    message = _Message(method.upper(), url, _Headers(headers))
    try:
        (result,) = verifier.verify(
            message, max_age=REPLAY_WINDOW, require_components=COVERED_COMPONENTS, body=body
        )
    except _TimeRefused as exc:
        raise Unauthenticated(
            f"request signature outside the time window: {exc}", code="request_signature_time"
        ) from exc
    except (InvalidSignature, ValueError) as exc:
        raise Unauthenticated(
            f"bad request signature: {exc}", code="bad_request_signature"
        ) from exc
    if not result.nonce:
        raise Unauthenticated(
            "the request signature carries no nonce", code="bad_request_signature"
        )
    signer = keys.kiosk
    if signer is None or signer.kiosk_id != str(result.parameters["keyid"]):
        raise Unauthenticated("bad request signature", code="bad_request_signature")
    _purge_now_and_then(db, now)
    # Spent even if the request then fails: a refused request replayed later (once an
    # authorisation exists, say) must not succeed. ON CONFLICT: no savepoint round trips,
    # and the replay after a rollback cannot fail.
    spend = _insert_for(db)(RequestNonce).values(
        nonce=result.nonce[:64], kiosk_id=signer.kiosk_id, seen_at=now
    )
    spend = spend.on_conflict_do_nothing(index_elements=["nonce"])
    if db.execute(spend.returning(RequestNonce.nonce)).first() is None:
        raise Unauthenticated("replayed request", code="replayed_request")
    replay_after_rollback(db, spend)
    if signer.kind != kind.value:
        raise Forbidden(f"this door is not for a client of kind {signer.kind}", code="wrong_client")
    return signer


_PURGE_EVERY = dt.timedelta(minutes=1)
_purged_at: dt.datetime | None = None  # per process: old nonces go once a minute, not per request


def _purge_now_and_then(db: Session, now: dt.datetime) -> None:
    global _purged_at
    if _purged_at is None or not now - _PURGE_EVERY < _purged_at <= now:
        _purged_at = now
        db.execute(delete(RequestNonce).where(RequestNonce.seen_at < now - 2 * REPLAY_WINDOW))


def _insert_for(db: Session) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    return pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
