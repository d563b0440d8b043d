"""HPKE (RFC 9180) sealing of action payloads to the central service's X25519 key.

Base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, by pyhpke (over
cryptography's primitives). The envelope's header is the AEAD's associated data: a payload
moved into another envelope (another kiosk, seq, type, session...) does not open.

Sealing comes in two halves. `Recipient.prepare()` does the costly part, which depends on
nothing but the recipient's key: a fresh ephemeral X25519 key, the Diffie-Hellman and the key
schedule. `PreparedSeal.seal()` is then one AES-GCM call over the payload and its header. The
kiosk's queue prepares the next seal while its last commit is being flushed (kiosk/sync/
queue.py). A prepared seal is used once: its ephemeral key never seals two payloads.
cryptography's own HPKE cannot be split this way and takes no associated data.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from pyhpke import AEADId, CipherSuite, KDFId, KEMId
from pyhpke.exceptions import PyHPKEError

__all__ = [
    "INFO",
    "SUITE",
    "PreparedSeal",
    "Recipient",
    "SealingError",
    "open_sealed",
    "seal",
]

INFO = b"DMP-KIOSK-ACTION-PAYLOAD-v3"
SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
_ENC_LENGTH = 32  # an X25519 public key


class SealingError(ValueError):
    """A payload that does not open (wrong key, altered bytes or header), or a seal reused."""


class PreparedSeal:
    """One HPKE sender context, ready to seal exactly one payload."""

    __slots__ = ("_context", "_lock", "enc")

    def __init__(self, enc: bytes, context: Any) -> None:
        self.enc = enc
        self._context: Any = context
        self._lock = threading.Lock()

    def seal(self, plaintext: bytes, *, header: bytes) -> tuple[bytes, bytes]:
        """(enc, ciphertext) of plaintext, bound to header; the context is spent."""
        with self._lock:
            context, self._context = self._context, None
        if context is None:
            raise SealingError("a prepared seal is used once")
        return self.enc, bytes(context.seal(plaintext, aad=header))


class Recipient:
    """A recipient's public key, parsed once: a kiosk seals every action to the same one."""

    def __init__(self, public_key: bytes) -> None:
        try:
            self._key = SUITE.kem.deserialize_public_key(public_key)
        except (PyHPKEError, ValueError) as exc:
            raise SealingError("not an X25519 public key") from exc

    def prepare(self) -> PreparedSeal:
        """A fresh ephemeral key, its Diffie-Hellman with the recipient and the key schedule."""
        enc, context = SUITE.create_sender_context(self._key, info=INFO)
        return PreparedSeal(enc, context)


@functools.lru_cache(maxsize=8)
def _recipient(public_key: bytes) -> Recipient:
    return Recipient(public_key)


@functools.lru_cache(maxsize=4)
def _private(private_key: bytes) -> Any:
    """The service opens every payload with the same key: parse it once."""
    try:
        return SUITE.kem.deserialize_private_key(private_key)
    except (PyHPKEError, ValueError) as exc:
        raise SealingError("not an X25519 private key") from exc


def seal(public_key: bytes, plaintext: bytes, *, header: bytes) -> tuple[bytes, bytes]:
    """Seal to the recipient's raw X25519 public key, bound to `header`: (enc, ciphertext)."""
    return _recipient(public_key).prepare().seal(plaintext, header=header)


def open_sealed(private_key: bytes, enc: bytes, ciphertext: bytes, *, header: bytes) -> bytes:
    """Open a sealed payload with the recipient's raw X25519 private key."""
    if len(enc) != _ENC_LENGTH:
        raise SealingError("the payload does not open")
    try:
        context = SUITE.create_recipient_context(enc, _private(private_key), info=INFO)
        return bytes(context.open(ciphertext, aad=header))
    except (PyHPKEError, ValueError) as exc:
        raise SealingError("the payload does not open") from exc
