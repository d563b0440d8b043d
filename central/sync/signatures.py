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

The verifier is the service's own (issue 18): it reads exactly the shape our clients write
(read_signed_request), a third of the general library's cost, which the tests keep as the
independent reference (tests/central/test_signature_fast_path.py). On PostgreSQL the client's
standing, the nonce spent and, for an operator's request, the operator session are read and
written in one statement, after the signature has verified.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Executable, bindparam, delete, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from central.db import UtcDateTime, replay_after_rollback
from central.errors import Forbidden, Unauthenticated
from central.sync.models import Kiosk, RequestNonce
from central.sync.service import ClientKind

__all__ = [
    "COVERED_COMPONENTS",
    "MAX_CLOCK_SKEW",
    "REPLAY_WINDOW",
    "SignatureRefused",
    "SignedBy",
    "SignedRequest",
    "read_signed_request",
    "OperatorRow",
    "verify_kiosk_request",
    "verify_operator_request",
]

REPLAY_WINDOW = dt.timedelta(minutes=5)
MAX_CLOCK_SKEW = dt.timedelta(seconds=30)
COVERED_COMPONENTS = ("@method", "@authority", "@path", "@query", "content-digest")

# What our clients sign, and nothing else (RFC 9421 and RFC 8941 in their canonical form):
# one signature, an inner list of bare component names, parameters among RFC 9421's. A
# request outside this shape is refused as a bad signature, even one a general verifier
# would accept (a component with parameters, @query-param, two signatures...): no client of
# ours sends one. tests/central/test_signature_fast_path.py holds this verifier to the
# general library (http-message-signatures) on what both accept and refuse.
_KEY = r"[a-z*][a-z0-9_\-.*]{0,63}"
_NAME = r"@?[a-z0-9][a-z0-9_\-.]{0,63}"
_STRING = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"'
_INTEGER = r"(?:0|[1-9][0-9]{0,14})"
_PARAM = rf";(?:created|expires)={_INTEGER}|;(?:keyid|alg|nonce|tag)={_STRING}"
_SIGNATURE_INPUT = re.compile(
    rf'(?P<label>{_KEY})=(?P<params>\((?P<names>"{_NAME}"(?: "{_NAME}")*)\)(?:{_PARAM})*)'
)
_PARAM_ITEM = re.compile(rf";(?P<name>[a-z]+)=(?P<value>{_INTEGER}|{_STRING})")
_SIGNATURE = re.compile(rf"(?P<label>{_KEY})=:(?P<value>[A-Za-z0-9+/]+={{0,2}}):")
_DIGEST = re.compile(r"(?P<alg>sha-256|sha-512)=:(?P<value>[A-Za-z0-9+/]+={0,2}):")
_HASHES: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}
# RFC 3986, as the general library reads a request's URL: what is not this is refused.
_CHARS = r"A-Za-z0-9._~\-!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    rf"(?P<host>(?:[{_CHARS}]|{_PCT})+)"
    r"(?::(?P<port>[0-9]*))?"
    rf"(?P<path>/(?:[{_CHARS}:@/]|{_PCT})*)?"
    rf"(?:\?(?P<query>(?:[{_CHARS}:@/?]|{_PCT})*))?"
)
_DERIVED = frozenset({"@method", "@authority", "@path", "@query"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class SignatureRefused(Exception):
    """A request's signature is refused; `time`: for its creation or expiry time alone."""

    def __init__(self, reason: str, *, time: bool = False) -> None:
        super().__init__(reason)
        self.time = time


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request's signature, read and checked as far as can be without the signer's key:
    its shape, its times, the covered components, the body's digest."""

    keyid: str
    nonce: str | None
    base: bytes
    signature: bytes

    def verify(self, public_key: Ed25519PublicKey) -> None:
        """Check the signature with the signer's key, or raise SignatureRefused."""
        try:
            public_key.verify(self.signature, self.base)
        except InvalidSignature as exc:
            raise SignatureRefused("the signature does not verify") from exc


def _fields(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Field values by lowercase name, lines of one name joined by ", " (RFC 9421 2.1)."""
    lines: dict[str, list[str]] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        lines.setdefault(name, []).append(raw_value.decode("latin-1").strip(" \t"))
    return {name: ", ".join(values) for name, values in lines.items()}


def _unquote(value: str) -> str:
    return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")


def _derived(method: str, url: str) -> dict[str, str]:
    match = _URL.fullmatch(url)
    if match is None:
        raise SignatureRefused("the request's URL is not an encoded absolute URL")
    scheme = match["scheme"].lower()
    host, port = match["host"].lower(), match["port"]
    if port and port.lstrip("0") == _DEFAULT_PORTS.get(scheme):
        port = None
    return {
        "@method": method,
        "@authority": f"{host}:{port}" if port else host,
        "@path": match["path"] or "/",
        "@query": "?" + (match["query"] or ""),
    }


def _times(params: dict[str, str], now: float) -> None:
    skew = MAX_CLOCK_SKEW.total_seconds()
    created = params.get("created")
    if created is None:
        raise SignatureRefused("the signature has no creation time", time=True)
    if int(created) > now + skew:
        raise SignatureRefused("the signature was created in the future", time=True)
    if "expires" in params and int(params["expires"]) < now - skew:
        raise SignatureRefused("the signature has expired", time=True)
    if int(created) + REPLAY_WINDOW.total_seconds() < now - skew:
        raise SignatureRefused("the signature is older than the replay window", time=True)


def _check_digest(value: str, body: bytes) -> None:
    match = _DIGEST.fullmatch(value)
    if match is None:
        raise SignatureRefused("the Content-Digest is not one SHA-256 or SHA-512 digest")
    try:
        digest = base64.b64decode(match["value"], validate=True)
    except binascii.Error as exc:
        raise SignatureRefused("the Content-Digest is not base64") from exc
    if not hmac.compare_digest(digest, _HASHES[match["alg"]](body).digest()):
        raise SignatureRefused("the Content-Digest does not match the body")


def read_signed_request(
    *,
    method: str,
    url: str,
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    now: float | None = None,
) -> SignedRequest:
    """Read a request's RFC 9421 signature as our clients write it, and check all of it that
    needs no key: its shape, its times (against the real clock, `now` in seconds since the
    epoch), the components it must cover, their values, the body's Content-Digest. Raises
    SignatureRefused."""
    fields = _fields(headers)
    signature_input, signature = fields.get("signature-input"), fields.get("signature")
    if signature_input is None or signature is None:
        raise SignatureRefused("the request carries no signature")
    given = _SIGNATURE_INPUT.fullmatch(signature_input)
    signed = _SIGNATURE.fullmatch(signature)
    if given is None or signed is None or given["label"] != signed["label"]:
        raise SignatureRefused("the signature is not one our clients write")
    params: dict[str, str] = {}
    for item in _PARAM_ITEM.finditer(given["params"][len(given["names"]) + 2 :]):
        if item["name"] in params:
            raise SignatureRefused(f"the signature's {item['name']} is given twice")
        params[item["name"]] = item["value"]
    _times(
        {k: v for k, v in params.items() if k in ("created", "expires")},
        time.time() if now is None else now,
    )
    if params.get("alg", '"ed25519"') != '"ed25519"':
        raise SignatureRefused("the signature's algorithm is not Ed25519")
    if "keyid" not in params:
        raise SignatureRefused("the signature names no key")
    names = [name[1:-1] for name in given["names"].split(" ")]
    if len(set(names)) != len(names) or not set(COVERED_COMPONENTS) <= set(names):
        raise SignatureRefused("the signature does not cover what it must, once each")
    derived = _derived(method, url)
    lines = []
    for name in names:
        if name.startswith("@"):
            if name not in _DERIVED:
                raise SignatureRefused(f"the signature covers {name}, which our clients never do")
            value = derived[name]
            if value and (not value.isprintable() or value != value.strip(" ")):
                raise SignatureRefused(f"{name} is not printable")
        else:
            field = fields.get(name)
            if field is None:
                raise SignatureRefused(f"the covered field {name} is missing")
            value = field
            if value and not value.replace("\t", " ").isprintable():
                raise SignatureRefused(f"the covered field {name} holds control characters")
        if "\r" in value or "\n" in value:
            raise SignatureRefused(f"{name} holds a line break")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {given["params"]}')
    base = "\n".join(lines)
    if not base.isascii():
        raise SignatureRefused("the signature base is not ASCII")
    try:
        signature_bytes = base64.b64decode(signed["value"], validate=True)
    except binascii.Error as exc:
        raise SignatureRefused("the signature is not base64") from exc
    _check_digest(fields["content-digest"], body)
    return SignedRequest(
        keyid=_unquote(params["keyid"]),
        nonce=_unquote(params["nonce"]) if "nonce" in params else None,
        base=base.encode("ascii"),
        signature=signature_bytes,
    )


@dataclass(frozen=True, slots=True)
class SignedBy:
    """The client whose key signed a request, and its standing, read in the same query."""

    kiosk_id: str
    status: str  # active | revoked
    flagged: str | None
    kind: str = ClientKind.KIOSK.value
    site: str = ""


_KEYS_KEPT = 4096
# A kiosk's key never changes (a new enrolment is a new kiosk id), and each request checks the
# key it was verified with against its kiosk's row, read in the request's own statement: a
# key kept here saves a round trip, never a check. The kiosk's standing is never kept.
_keys: dict[str, tuple[str, Ed25519PublicKey]] = {}


def _refused(exc: SignatureRefused) -> Unauthenticated:
    if exc.time:
        return Unauthenticated(
            f"request signature outside the time window: {exc}", code="request_signature_time"
        )
    return Unauthenticated(f"bad request signature: {exc}", code="bad_request_signature")


def _key_of(db: Session, kiosk_id: str) -> tuple[str, Ed25519PublicKey] | None:
    """The key of an enrolled client, from this process's memory or the database."""
    kept = _keys.get(kiosk_id)
    if kept is not None:
        return kept
    public_key = db.execute(select(Kiosk.public_key).where(Kiosk.id == kiosk_id)).scalar()
    if public_key is None:
        return None
    try:
        key = (public_key, Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)))
    except ValueError:
        return None
    if len(_keys) >= _KEYS_KEPT:
        _keys.clear()
    _keys[kiosk_id] = key
    return key


# PostgreSQL: the client's standing, its nonce spent and (for an operator's request) the
# operator session with its card's revocation, in one round trip. The nonce is spent only
# for an existing client, after its signature verified.
_SPEND_PG = """
WITH client AS (
    SELECT public_key, status, flagged, kind, site FROM kiosks WHERE id = %(client)s
), spent AS (
    INSERT INTO sync_request_nonces (nonce, kiosk_id, seen_at)
    SELECT %(nonce)s, %(client)s, %(now)s FROM client
    ON CONFLICT (nonce) DO NOTHING RETURNING 1
){operator_cte}
SELECT c.public_key, c.status, c.flagged, c.kind, c.site,
       EXISTS (SELECT 1 FROM spent) AS fresh{operator_columns}
FROM client c{operator_join}
"""
_OPERATOR_CTE = """, operator AS (
    SELECT s.id, s.id_nat, s.prenom, s.nom, s.role, s.profession, s.structure_name,
           s.expires_at, s.closed_at, s.kiosk_id, r.revoked_at
    FROM operator_sessions s LEFT JOIN revoked_cards r ON r.id_nat = s.id_nat
    WHERE s.token_hash = %(token_hash)s
)"""
_OPERATOR_COLUMNS = (
    "id",
    "id_nat",
    "prenom",
    "nom",
    "role",
    "profession",
    "structure_name",
    "expires_at",
    "closed_at",
    "kiosk_id",
    "revoked_at",
)
_SPEND_CLIENT = _SPEND_PG.format(operator_cte="", operator_columns="", operator_join="")
_SPEND_OPERATOR = _SPEND_PG.format(
    operator_cte=_OPERATOR_CTE,
    operator_columns="".join(f", o.{name}" for name in _OPERATOR_COLUMNS),
    operator_join=" LEFT JOIN operator o ON true",
)


@dataclass(frozen=True, slots=True)
class OperatorRow:
    """An operator session's columns and its card's revocation, as authentication reads
    them (central.professionals.service.ProfessionalService.actor_of_session)."""

    id: str
    id_nat: str
    prenom: str
    nom: str
    role: str
    profession: str | None
    structure_name: str
    expires_at: dt.datetime
    closed_at: dt.datetime | None
    kiosk_id: str
    revoked_at: dt.datetime | None


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
    signer, _ = _verify(db, method=method, url=url, headers=headers, body=body, now=now, kind=kind)
    return signer


def verify_operator_request(
    db: Session,
    *,
    method: str,
    url: str,
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    now: dt.datetime,
    token_hash: str | None,
    session_query: Callable[[str], Any],
) -> tuple[SignedBy, OperatorRow | None]:
    """As verify_kiosk_request for a kiosk, and the operator session of `token_hash` read in
    the same round trip on PostgreSQL (`session_query(token_hash)`: the same read, for the
    other databases). The session's rules are its caller's."""
    return _verify(
        db,
        method=method,
        url=url,
        headers=headers,
        body=body,
        now=now,
        kind=ClientKind.KIOSK,
        token_hash=token_hash,
        session_query=session_query,
    )


def _verify(
    db: Session,
    *,
    method: str,
    url: str,
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    now: dt.datetime,
    kind: ClientKind,
    token_hash: str | None = None,
    session_query: Callable[[str], Any] | None = None,
) -> tuple[SignedBy, OperatorRow | None]:
    try:
        signed = read_signed_request(method=method.upper(), url=url, headers=headers, body=body)
        key = _key_of(db, signed.keyid)
        if key is None:
            raise SignatureRefused("no enrolled client has this key id")
        signed.verify(key[1])
    except SignatureRefused as exc:
        raise _refused(exc) from exc
    if not signed.nonce:
        raise Unauthenticated(
            "the request signature carries no nonce", code="bad_request_signature"
        )
    _purge_now_and_then(db, now)
    nonce = signed.nonce[:64]
    operator: OperatorRow | None = None
    if db.get_bind().dialect.name == "postgresql":
        statement = _SPEND_OPERATOR if session_query is not None else _SPEND_CLIENT
        row = (
            db.connection()
            .exec_driver_sql(
                statement,
                {"client": signed.keyid, "nonce": nonce, "now": now, "token_hash": token_hash},
            )
            .first()
        )
        standing = None if row is None else row[:5]
        fresh = row is not None and bool(row[5])
        if row is not None and session_query is not None and row[6] is not None:
            operator = OperatorRow(*row[6:])
    else:
        standing = db.execute(
            select(Kiosk.public_key, Kiosk.status, Kiosk.flagged, Kiosk.kind, Kiosk.site).where(
                Kiosk.id == signed.keyid
            )
        ).first()
        fresh = standing is not None and _spend(db, signed.keyid, nonce, now)
        if standing is not None and session_query is not None and token_hash is not None:
            found = db.execute(session_query(token_hash)).first()
            operator = None if found is None else OperatorRow(*found)
    if standing is None or not hmac.compare_digest(standing[0], key[0]):
        _keys.pop(signed.keyid, None)
        raise Unauthenticated("bad request signature", code="bad_request_signature")
    if not fresh:
        raise Unauthenticated("replayed request", code="replayed_request")
    # Spent even if the request then fails: a refused request replayed later (once an
    # authorisation exists, say) must not succeed. ON CONFLICT: no savepoint round trips,
    # and the replay after a rollback cannot fail.
    replay_after_rollback(db, _spend_statement(signed.keyid, nonce, now))
    signer = SignedBy(signed.keyid, standing[1], standing[2], standing[3], standing[4])
    if signer.kind != kind.value:
        raise Forbidden(f"this door is not for a client of kind {signer.kind}", code="wrong_client")
    return signer, operator


# Built once: this runs on every signed request (PostgreSQL and SQLite both know ON CONFLICT).
_SPEND = text(
    "INSERT INTO sync_request_nonces (nonce, kiosk_id, seen_at) VALUES (:nonce, :client, :now)"
    " ON CONFLICT (nonce) DO NOTHING"
).bindparams(bindparam("now", type_=UtcDateTime()))


def _spend_statement(client: str, nonce: str, now: dt.datetime) -> Executable:
    return _SPEND.bindparams(nonce=nonce, client=client, now=now)


def _spend(db: Session, client: str, nonce: str, now: dt.datetime) -> bool:
    """Spend a nonce (not PostgreSQL: there, in the request's one statement); False if it
    was spent before."""
    spend = (
        sqlite_insert(RequestNonce)
        .values(nonce=nonce, kiosk_id=client, seen_at=now)
        .on_conflict_do_nothing(index_elements=["nonce"])
        .returning(RequestNonce.nonce)
    )
    return db.execute(spend).first() is not None


_PURGE_EVERY = dt.timedelta(minutes=1)
_purged_at: dt.datetime | None = None  # per process: old nonces go once a minute, not per request


def _purge_now_and_then(db: Session, now: dt.datetime) -> None:
    global _purged_at
    if _purged_at is None or not now - _PURGE_EVERY < _purged_at <= now:
        _purged_at = now
        db.execute(delete(RequestNonce).where(RequestNonce.seen_at < now - 2 * REPLAY_WINDOW))
