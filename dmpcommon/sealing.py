"""HPKE (RFC 9180) sealing of action payloads to the central service's X25519 key.

Base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, by cryptography's HPKE
(PyCA; its key schedule and AEAD run in Rust: about 60 µs a seal against about 85 µs in pure
Python, which counts at every step of the counter, see docs/PERFORMANCE.md).

The envelope's header is bound through the key schedule's `info`:
`info = INFO || 0x00 || header`. A payload moved into another envelope (another kiosk, seq,
type, session...) derives another key and does not open: the guarantee an AAD would give.
cryptography's HPKE has no AAD parameter, hence `info`.
"""

from __future__ import annotations

import functools

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

__all__ = ["INFO", "SUITE", "SealingError", "open_sealed", "seal"]

INFO = b"DMP-KIOSK-ACTION-PAYLOAD-v2"
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_ENC_LENGTH = 32  # an X25519 public key


class SealingError(ValueError):
    """A payload that does not open: wrong key, altered bytes or altered header."""


def _info(header: bytes) -> bytes:
    return INFO + b"\x00" + header


@functools.lru_cache(maxsize=8)
def _recipient(public_key: bytes) -> X25519PublicKey:
    """The parsed recipient key: a kiosk seals every action to the same one."""
    return X25519PublicKey.from_public_bytes(public_key)


def seal(public_key: bytes, plaintext: bytes, *, header: bytes) -> tuple[bytes, bytes]:
    """Seal to the recipient's raw X25519 public key, bound to `header`: (enc, ciphertext)."""
    sealed = SUITE.encrypt(plaintext, _recipient(public_key), info=_info(header))
    return sealed[:_ENC_LENGTH], sealed[_ENC_LENGTH:]


def open_sealed(private_key: bytes, enc: bytes, ciphertext: bytes, *, header: bytes) -> bytes:
    """Open a sealed payload with the recipient's raw X25519 private key."""
    if len(enc) != _ENC_LENGTH:
        raise SealingError("the payload does not open")
    try:
        return SUITE.decrypt(
            enc + ciphertext, X25519PrivateKey.from_private_bytes(private_key), info=_info(header)
        )
    except (InvalidTag, ValueError) as exc:
        raise SealingError("the payload does not open") from exc
