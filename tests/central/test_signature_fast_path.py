"""The service's own RFC 9421 verifier, held to the general library (http-message-signatures).

central.sync.signatures reads exactly the signatures our clients write, for speed. The general
library, configured as the service used it before (Ed25519, 30 s of clock skew, a 5-minute
window, the covered components required, the body's digest checked, a nonce required), is the
independent reference here: on every request below both accept, or both refuse, and for the
same reason (the time, or anything else). Pure: no server, no database.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

from bench.handsign import signature_headers
from central.sync.signatures import (
    COVERED_COMPONENTS,
    MAX_CLOCK_SKEW,
    REPLAY_WINDOW,
    SignatureRefused,
    read_signed_request,
)
from kiosk.sync.transport import RequestSigner

KIOSK = "kiosk-ab12cd34ef56"
KEY = Ed25519PrivateKey.from_private_bytes(b"\x11" * 32)
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(b"\x22" * 32)
BASE = "http://127.0.0.1:8023"


@dataclasses.dataclass(frozen=True)
class Sent:
    """A request as the service receives it: method, URL, field lines, body."""

    method: str
    url: str
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def with_header(self, name: str, value: str | None) -> Sent:
        """The same request with a field replaced (None: removed)."""
        kept = [(k, v) for k, v in self.headers if k.decode().lower() != name.lower()]
        if value is not None:
            kept.append((name.lower().encode(), value.encode("latin-1")))
        return dataclasses.replace(self, headers=kept)

    def header(self, name: str) -> str:
        return next(v.decode() for k, v in self.headers if k.decode().lower() == name.lower())


def _sent(prepared: requests.PreparedRequest) -> Sent:
    body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    headers = [(k.lower().encode(), v.encode("latin-1")) for k, v in prepared.headers.items()]
    assert prepared.method is not None and prepared.url is not None
    return Sent(prepared.method, prepared.url, headers, body)


def by_kiosk(method: str, path: str, body: Any = None, *, key: Ed25519PrivateKey = KEY) -> Sent:
    """Signed by the kiosk's own signer (requests_http_signature: label pyhms, covers date)."""
    request = requests.Request(method, BASE + path, json=body, auth=RequestSigner(KIOSK, key))
    return _sent(request.prepare())


def by_library(
    method: str,
    path: str,
    body: bytes = b"",
    *,
    covered: tuple[str, ...] = COVERED_COMPONENTS,
    created: dt.datetime | None = None,
    expires: dt.datetime | None = None,
    nonce: str | None = "n0nce-0123456789",
    label: str | None = None,
    key: Ed25519PrivateKey = KEY,
    key_id: str = KIOSK,
    tag: str | None = None,
    digest: bool = True,
) -> Sent:
    """Signed by the general library's signer, as the health insurance's feed signs
    (`digest`: with the body's Content-Digest, covered)."""
    prepared = requests.Request(method, BASE + path, data=body or None).prepare()
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(private_keys={key_id: key}, public_keys={}),
    )
    signer.sign(
        prepared,
        key_id=key_id,
        created=created or dt.datetime.now(dt.UTC),
        expires=expires,
        nonce=nonce,
        label=label,
        tag=tag,
        covered_component_ids=covered,
        body=body if digest else None,
    )
    return _sent(prepared)


def by_hand(method: str, path: str, body: bytes = b"", *, key: Ed25519PrivateKey = KEY) -> Sent:
    """Signed as bench/central.py signs, headers written by hand (label sig1, no date)."""
    headers = signature_headers(
        method, "127.0.0.1:8023", path, body, key=key, keyid=KIOSK, nonce="abcdefghijklmnop"
    )
    return Sent(
        method,
        BASE + path,
        [(name.encode(), value.encode()) for name, value in headers.items()],
        body,
    )


# -- the two verifiers -------------------------------------------------------------------------


class _TimeRefused(InvalidSignature):
    pass


class _Reference(HTTPMessageVerifier):
    """The general library, as central.sync.signatures configured it before issue 18."""

    max_clock_skew = MAX_CLOCK_SKEW

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        try:
            super().validate_created_and_expires(sig_input, max_age=max_age)  # type: ignore[no-untyped-call]
        except InvalidSignature as exc:
            raise _TimeRefused(str(exc)) from exc


class _Headers:
    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._fields = [(k.decode("ascii"), v.decode("latin-1")) for k, v in raw]

    def items(self) -> Iterable[tuple[str, str]]:
        return self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._fields))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self._fields)


@dataclasses.dataclass(frozen=True)
class _Message:
    method: str
    url: str
    headers: _Headers


KEYS = {KIOSK: KEY.public_key()}


def reference(sent: Sent) -> str:
    """'accepted', 'time' or 'refused', by the general library."""
    verifier = _Reference(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys=KEYS, private_keys={}),
    )
    message = _Message(sent.method.upper(), sent.url, _Headers(sent.headers))
    try:
        (result,) = verifier.verify(
            message, max_age=REPLAY_WINDOW, require_components=COVERED_COMPONENTS, body=sent.body
        )
    except _TimeRefused:
        return "time"
    except (InvalidSignature, ValueError):
        return "refused"
    return "accepted" if result.nonce else "refused"


def ours(sent: Sent) -> str:
    """'accepted', 'time' or 'refused', by the service's verifier."""
    try:
        signed = read_signed_request(
            method=sent.method.upper(), url=sent.url, headers=sent.headers, body=sent.body
        )
        public_key = KEYS.get(signed.keyid)
        if public_key is None:
            return "refused"
        signed.verify(public_key)
    except SignatureRefused as exc:
        return "time" if exc.time else "refused"
    return "accepted" if signed.nonce else "refused"


def both(sent: Sent) -> str:
    """The verdict both verifiers give (the test fails if they differ)."""
    verdict = ours(sent)
    assert verdict == reference(sent), sent
    return verdict


# -- what our clients send: both accept --------------------------------------------------------

VALID: dict[str, Callable[[], Sent]] = {
    "kiosk status": lambda: by_kiosk("GET", "/v1/dmp/180017500127620/status"),
    "kiosk open": lambda: by_kiosk("POST", "/v1/dmp/180017500127620/open", {"mode": "normal"}),
    "kiosk query": lambda: by_kiosk("GET", "/fhir/DocumentReference?patient=Patient/1&x=%C3%A9"),
    "kiosk empty query": lambda: by_kiosk("GET", "/v1/dmp/1/status?"),
    "feed": lambda: by_library("POST", "/v1/care-history/1/lines?since=2", b'{"lines": []}'),
    "feed with a tag": lambda: by_library("GET", "/v1/x", tag="dmp"),
    "feed that expires later": lambda: by_library(
        "GET", "/v1/x", expires=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    ),
    "bench": lambda: by_hand("POST", "/v1/dmp/1/open", b'{"mode": "normal"}'),
    "bench with a query": lambda: by_hand("GET", "/v1/dmp/1/documents/2/content?mode=normal"),
}


@pytest.mark.parametrize("make", VALID.values(), ids=VALID.keys())
def test_both_accept_what_our_clients_sign(make: Callable[[], Sent]) -> None:
    assert both(make()) == "accepted"


# -- the same requests altered: both refuse, for the same reason -------------------------------


def _moved(sent: Sent, **url_parts: str) -> Sent:
    url = sent.url
    for old, new in url_parts.items():
        url = url.replace(old.replace("_", "/"), new) if old != "url" else new
    return dataclasses.replace(sent, url=url)


ALTERED: dict[str, Callable[[], Sent]] = {
    "method": lambda: dataclasses.replace(by_kiosk("GET", "/v1/dmp/1/status"), method="POST"),
    "authority": lambda: dataclasses.replace(
        by_kiosk("GET", "/v1/dmp/1/status"), url="http://127.0.0.2:8023/v1/dmp/1/status"
    ),
    "port": lambda: dataclasses.replace(
        by_kiosk("GET", "/v1/dmp/1/status"), url="http://127.0.0.1:8024/v1/dmp/1/status"
    ),
    "path": lambda: dataclasses.replace(
        by_kiosk("GET", "/v1/dmp/1/status"), url=BASE + "/v1/dmp/2/status"
    ),
    "query changed": lambda: dataclasses.replace(
        by_kiosk("GET", "/x?mode=normal"), url=BASE + "/x?mode=break_glass"
    ),
    "query added": lambda: dataclasses.replace(by_kiosk("GET", "/x"), url=BASE + "/x?a=1"),
    "query dropped": lambda: dataclasses.replace(by_kiosk("GET", "/x?a=1"), url=BASE + "/x"),
    "body": lambda: dataclasses.replace(
        by_kiosk("POST", "/x", {"mode": "normal"}), body=b'{"mode": "emergency"}'
    ),
    "digest and body": lambda: _with_digest_of(by_kiosk("POST", "/x", {"a": 1}), b'{"a": 2}'),
    "date (the kiosk covers it)": lambda: by_kiosk("GET", "/x").with_header(
        "date", "Thu, 01 Jan 2026 00:00:00 GMT"
    ),
    "date removed": lambda: by_kiosk("GET", "/x").with_header("date", None),
    "digest removed": lambda: by_kiosk("GET", "/x").with_header("content-digest", None),
    "nonce in the input": lambda: _input_replaced(by_kiosk("GET", "/x"), "nonce=", 'nonce="x'),
    "created in the input": lambda: _created_moved(by_kiosk("GET", "/x")),
    "key id": lambda: by_library("GET", "/x", key_id="kiosk-other"),
    "another key": lambda: by_kiosk("GET", "/x", key=OTHER_KEY),
    "signature flipped": lambda: _signature_flipped(by_kiosk("GET", "/x")),
    "signature removed": lambda: by_kiosk("GET", "/x").with_header("signature", None),
    "input removed": lambda: by_kiosk("GET", "/x").with_header("signature-input", None),
    "labels apart": lambda: _input_replaced(by_kiosk("GET", "/x"), "pyhms=", "other="),
    "no @query covered": lambda: by_library(
        "GET", "/x?a=1", covered=("@method", "@authority", "@path", "content-digest")
    ),
    "no digest covered": lambda: by_library(
        "POST", "/x", b"{}", covered=("@method", "@authority", "@path", "@query"), digest=False
    ),
    "no nonce": lambda: by_library("GET", "/x", nonce=None),
    "two signatures": lambda: _twice(by_library("GET", "/x")),
    "alg named otherwise": lambda: _input_replaced(
        by_library("GET", "/x"), 'alg="ed25519"', 'alg="hmac-sha256"'
    ),
    "unknown parameter": lambda: _input_replaced(by_library("GET", "/x"), ";keyid", ";x=1;keyid"),
    "component twice": lambda: _input_replaced(
        by_library("GET", "/x"), '"@path"', '"@path" "@path"'
    ),
    "signature not base64": lambda: by_kiosk("GET", "/x").with_header("signature", "pyhms=:!!:"),
}
TIME: dict[str, Callable[[], Sent]] = {
    "expired (older than the window)": lambda: by_library(
        "GET", "/x", created=dt.datetime.now(dt.UTC) - REPLAY_WINDOW - dt.timedelta(minutes=1)
    ),
    "created in the future": lambda: by_library(
        "GET", "/x", created=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    ),
    "expires in the past": lambda: by_library(
        "GET", "/x", expires=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    ),
    "no creation time": lambda: _input_replaced(
        by_library("GET", "/x"), f";created={int(time.time())}", ""
    ),
}


def _with_digest_of(sent: Sent, body: bytes) -> Sent:
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    return dataclasses.replace(sent.with_header("content-digest", digest), body=body)


def _input_replaced(sent: Sent, old: str, new: str) -> Sent:
    value = sent.header("signature-input")
    assert old in value, (old, value)
    changed = sent.with_header("signature-input", value.replace(old, new, 1))
    if old.endswith("=") and old[:-1].isidentifier() and new.endswith("="):  # a label
        changed = changed.with_header("signature", sent.header("signature"))
    return changed


def _created_moved(sent: Sent) -> Sent:
    """The creation time a second earlier: inside the window, but not what was signed."""
    value = sent.header("signature-input")
    created = int(value.split(";created=", 1)[1].split(";", 1)[0])
    return _input_replaced(sent, f"created={created}", f"created={created - 1}")


def _signature_flipped(sent: Sent) -> Sent:
    label, _, value = sent.header("signature").partition("=")
    raw = bytearray(base64.b64decode(value.strip(":")))
    raw[0] ^= 1
    return sent.with_header("signature", f"{label}=:{base64.b64encode(raw).decode()}:")


def _twice(sent: Sent) -> Sent:
    other = by_library("GET", "/x", label="second")
    return sent.with_header(
        "signature-input", f"{sent.header('signature-input')}, {other.header('signature-input')}"
    ).with_header("signature", f"{sent.header('signature')}, {other.header('signature')}")


@pytest.mark.parametrize("make", ALTERED.values(), ids=ALTERED.keys())
def test_both_refuse_an_altered_request(make: Callable[[], Sent]) -> None:
    assert both(make()) == "refused"


@pytest.mark.parametrize("make", TIME.values(), ids=TIME.keys())
def test_both_refuse_a_signature_outside_its_time(make: Callable[[], Sent]) -> None:
    assert both(make()) == "time"


def test_each_covered_component_of_each_client_is_held() -> None:
    """Every component each of our clients covers, changed alone, is refused by both: no
    component is covered in name only."""
    checked = 0
    for make in (
        lambda: by_kiosk("POST", "/v1/dmp/1/open?mode=normal", {"mode": "normal"}),
        lambda: by_library("POST", "/v1/care/1?since=2", b"{}"),
        lambda: by_hand("POST", "/v1/dmp/1/open?x=1", b"{}"),
    ):
        sent = make()
        assert both(sent) == "accepted"
        names = sent.header("signature-input").split("(", 1)[1].split(")", 1)[0].split(" ")
        for name in (n.strip('"') for n in names):
            if name == "@method":
                altered = dataclasses.replace(sent, method="PUT")
            elif name == "@authority":
                altered = dataclasses.replace(sent, url=sent.url.replace("127.0.0.1", "10.0.0.1"))
            elif name == "@path":
                altered = dataclasses.replace(sent, url=sent.url.replace("/1", "/2", 1))
            elif name == "@query":
                altered = dataclasses.replace(sent, url=sent.url.replace("?", "?z=1&", 1))
            else:
                altered = sent.with_header(name, sent.header(name) + "x")
            assert both(altered) == "refused", name
            checked += 1
    assert checked == 6 + 5 + 5  # the kiosk also covers its Date


def test_shapes_our_clients_never_write_are_refused_though_the_library_takes_them() -> None:
    """The one place the two part: a component with parameters, or one our clients never
    cover, is refused by the service's verifier. Refusing more is the safe side."""
    for covered in (
        (*COVERED_COMPONENTS, '"content-digest";sf'),
        (*COVERED_COMPONENTS, "@target-uri"),
        (*COVERED_COMPONENTS, "@scheme"),
    ):
        sent = by_library("GET", "/x", covered=covered)
        assert reference(sent) == "accepted"
        assert ours(sent) == "refused"
    # A parameter given twice: the library keeps the last and signs what it re-serialises.
    sent = by_library("GET", "/x")
    created = sent.header("signature-input").split(";created=", 1)[1].split(";", 1)[0]
    twice = _input_replaced(sent, ";keyid", f";created={created};keyid")
    assert reference(twice) == "accepted"
    assert ours(twice) == "refused"
