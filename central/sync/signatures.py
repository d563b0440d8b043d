"""RFC 9421 HTTP message signatures on the kiosks' sync requests.

Each sync request is signed with the kiosk's Ed25519 device key (keyid = kiosk id) over the
method, authority, path and the body's Content-Digest (RFC 9530). A request is refused when
the signature does not verify, is older than the replay window, or reuses a nonce seen inside
the window. Beyond the window, a replayed batch is still harmless: the ledger's sequence and
receipts make a resend an idempotent no-op.
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
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.db import keep_on_failure
from central.errors import Unauthenticated
from central.sync.models import Kiosk, RequestNonce

__all__ = ["COVERED_COMPONENTS", "REPLAY_WINDOW", "verify_kiosk_request"]

REPLAY_WINDOW = dt.timedelta(minutes=5)
COVERED_COMPONENTS = ("@method", "@authority", "@path", "content-digest")


class _TimeRefused(InvalidSignature):
    """The signature's creation time is outside the window (a kiosk clock off, or a replay)."""


class _Verifier(HTTPMessageVerifier):
    max_clock_skew = dt.timedelta(seconds=30)

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        try:
            super().validate_created_and_expires(sig_input, max_age=max_age)  # type: ignore[no-untyped-call]
        except InvalidSignature as exc:
            raise _TimeRefused(str(exc)) from exc


class _KioskKeys(HTTPSignatureKeyResolver):
    def __init__(self, db: Session) -> None:
        self.db = db

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        public_key = self.db.scalar(select(Kiosk.public_key).where(Kiosk.id == key_id))
        return (
            None
            if public_key is None
            else Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        )

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
) -> str:
    """Verify the request's signature and spend its nonce; returns the signing kiosk's id."""
    verifier = _Verifier(signature_algorithm=algorithms.ED25519, key_resolver=_KioskKeys(db))
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
    kiosk_id = str(result.parameters["keyid"])
    db.execute(delete(RequestNonce).where(RequestNonce.seen_at < now - 2 * REPLAY_WINDOW))
    spend = insert(RequestNonce).values(nonce=result.nonce[:64], kiosk_id=kiosk_id, seen_at=now)
    try:
        with db.begin_nested():
            # Spent even if the request then fails: a refused request replayed later (once
            # an authorisation exists, say) must not succeed.
            keep_on_failure(db, spend)
    except IntegrityError as exc:
        raise Unauthenticated("replayed request", code="replayed_request") from exc
    return kiosk_id
