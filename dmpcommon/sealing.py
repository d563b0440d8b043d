"""HPKE (RFC 9180) sealing of action payloads to the central service's X25519 key.

Base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. The envelope's header is the
AAD, so a payload cannot be moved into another envelope; `info` names the purpose.
"""

from __future__ import annotations

import functools

from pyhpke import (
    AEADId,
    CipherSuite,
    KDFId,
    KEMId,
    KEMKeyInterface,
    KEMKeyPair,
)

__all__ = ["INFO", "SUITE", "SealingError", "open_sealed", "seal"]

INFO = b"DMP-KIOSK-ACTION-PAYLOAD-v1"
SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)


class SealingError(ValueError):
    """A payload that does not open: wrong key, altered bytes or altered header."""


@functools.lru_cache(maxsize=8)
def _recipient(suite: CipherSuite, public_key: bytes) -> KEMKeyInterface:
    """The parsed recipient key: a kiosk seals every action to the same one."""
    return suite.kem.deserialize_public_key(public_key)


def seal(
    public_key: bytes,
    plaintext: bytes,
    *,
    aad: bytes,
    info: bytes = INFO,
    suite: CipherSuite = SUITE,
    ephemeral_private_key: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Seal to the recipient's raw X25519 public key; returns (enc, ciphertext).

    `ephemeral_private_key` exists for known-answer tests only; never pass it otherwise.
    """
    recipient = _recipient(suite, public_key)
    eks: KEMKeyPair | None = None
    if ephemeral_private_key is not None:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        ephemeral_public = (
            X25519PrivateKey.from_private_bytes(ephemeral_private_key)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        eks = KEMKeyPair(
            suite.kem.deserialize_private_key(ephemeral_private_key),
            suite.kem.deserialize_public_key(ephemeral_public),
        )
    enc, sender = suite.create_sender_context(recipient, info=info, eks=eks)
    return enc, sender.seal(plaintext, aad=aad)


def open_sealed(
    private_key: bytes,
    enc: bytes,
    ciphertext: bytes,
    *,
    aad: bytes,
    info: bytes = INFO,
    suite: CipherSuite = SUITE,
) -> bytes:
    """Open a sealed payload with the recipient's raw X25519 private key."""
    try:
        recipient = suite.create_recipient_context(
            enc, suite.kem.deserialize_private_key(private_key), info=info
        )
        return recipient.open(ciphertext, aad=aad)
    except Exception as exc:  # pyhpke raises several types for the same meaning
        raise SealingError("the payload does not open") from exc
