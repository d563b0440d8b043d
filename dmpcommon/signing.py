"""Ed25519 signatures over the exact bytes of an envelope."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["SignatureError", "public_bytes", "sign", "verify"]


class SignatureError(ValueError):
    """A signature that does not verify."""


def sign(private_key: Ed25519PrivateKey, data: bytes) -> bytes:
    """Sign the bytes as they are (no re-encoding)."""
    return private_key.sign(data)


def verify(public_key: bytes, data: bytes, signature: bytes) -> None:
    """Raise SignatureError unless `signature` is the key's signature of `data`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("bad signature") from exc


def public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
