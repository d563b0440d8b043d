"""The action envelope: one canonical byte encoding, signed as is, chained by its hash.

Bytes: canonical JSON (UTF-8, keys sorted, no spaces), binary fields in base64:

    {"at":..., "ct":..., "enc":..., "id":..., "kiosk":..., "prev":..., "seq":...,
     "session":..., "type":..., "v":1}

`decode` accepts only bytes that `encode` would produce, so there is exactly one encoding of
an envelope and the signature and the hash chain cover what is really stored and sent.
The header (every field but `enc` and `ct`) is bound to the sealed payload (see sealing.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_HASH",
    "ActionEnvelope",
    "EnvelopeError",
    "envelope_hash",
]

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64
_KEYS = {"at", "ct", "enc", "id", "kiosk", "prev", "seq", "session", "type", "v"}
_UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TOKEN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00$")


class EnvelopeError(ValueError):
    """Bytes that are not a canonical envelope."""


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _plain(text: str) -> bool:
    """Text that canonical JSON writes as it is, between quotes (no escape needed)."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError(f"{what}: not text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError(f"{what}: not base64") from exc


@dataclass(frozen=True, slots=True)
class ActionEnvelope:
    """One action in the kiosk's queue."""

    action_id: str  # UUIDv7
    kiosk_id: str
    seq: int  # 1, 2, 3... no gaps
    prev_hash: str  # hex SHA-256 of the previous envelope's bytes
    created_at: str  # UTC, ISO 8601 with microseconds
    action_type: str
    session_id: str
    enc: bytes  # HPKE encapsulated key
    ciphertext: bytes  # HPKE-sealed payload
    version: int = FORMAT_VERSION

    def header(self) -> dict[str, Any]:
        return {
            "at": self.created_at,
            "id": self.action_id,
            "kiosk": self.kiosk_id,
            "prev": self.prev_hash,
            "seq": self.seq,
            "session": self.session_id,
            "type": self.action_type,
            "v": self.version,
        }

    def header_bytes(self) -> bytes:
        """The header's canonical bytes, which the sealed payload is bound to."""
        return self._encode(None)

    def encode(self) -> bytes:
        """The envelope's one encoding."""
        return self._encode((_b64(self.ciphertext), _b64(self.enc)))

    def _encode(self, sealed: tuple[str, str] | None) -> bytes:
        # Written out in canonical order when no field needs escaping, which is always so for
        # the fields decode accepts: enqueue builds two encodings per action, and json.dumps
        # with sorted keys cost as much as a third of the seal. Anything else takes json.dumps.
        texts = (
            self.created_at,
            self.action_id,
            self.kiosk_id,
            self.prev_hash,
            self.session_id,
            self.action_type,
        )
        if not (type(self.seq) is int and type(self.version) is int and _plain("".join(texts))):
            document = self.header()
            if sealed is not None:
                document["ct"], document["enc"] = sealed
            return _canonical(document)
        at, action_id, kiosk, prev, session, action_type = texts
        middle = "" if sealed is None else f'"ct":"{sealed[0]}","enc":"{sealed[1]}",'
        return (
            f'{{"at":"{at}",{middle}"id":"{action_id}","kiosk":"{kiosk}","prev":"{prev}",'
            f'"seq":{self.seq},"session":"{session}","type":"{action_type}","v":{self.version}}}'
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> ActionEnvelope:
        """Parse canonical bytes; anything else is an EnvelopeError."""
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError("not JSON") from exc
        if not isinstance(document, dict) or set(document) != _KEYS:
            raise EnvelopeError("wrong fields")
        if document["v"] != FORMAT_VERSION or type(document["v"]) is not int:
            raise EnvelopeError("unknown format version")
        seq = document["seq"]
        if type(seq) is not int or seq < 1:
            raise EnvelopeError("bad sequence number")
        checks = (
            ("id", _UUID7),
            ("prev", _HEX64),
            ("kiosk", _TOKEN),
            ("session", _TOKEN),
            ("type", _TOKEN),
            ("at", _TIME),
        )
        for key, pattern in checks:
            if not isinstance(document[key], str) or not pattern.match(document[key]):
                raise EnvelopeError(f"bad {key}")
        envelope = cls(
            action_id=document["id"],
            kiosk_id=document["kiosk"],
            seq=seq,
            prev_hash=document["prev"],
            created_at=document["at"],
            action_type=document["type"],
            session_id=document["session"],
            enc=_unb64(document["enc"], "enc"),
            ciphertext=_unb64(document["ct"], "ct"),
        )
        if envelope.encode() != data:
            raise EnvelopeError("not in canonical form")
        return envelope


def envelope_hash(data: bytes) -> str:
    """Hex SHA-256 of an envelope's bytes: the next envelope's `prev`."""
    return hashlib.sha256(data).hexdigest()
