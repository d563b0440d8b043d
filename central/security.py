"""Secrets: random tokens and codes, keyed hashes for storage, constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = [
    "hash_secret",
    "new_code",
    "new_enrollment_token",
    "new_identifier",
    "new_token",
    "same_secret",
]

_IDENTIFIER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud at a counter


def new_token() -> str:
    """A bearer token (256 bits)."""
    return secrets.token_urlsafe(32)


def new_enrollment_token() -> str:
    """A kiosk enrolment token. The prefix keeps it from ever starting with "-", which a
    command line (`kiosk enroll --token ...`) would take for an option."""
    return "dmpe_" + secrets.token_urlsafe(32)


def new_code(digits: int = 6) -> str:
    """A numeric one-time code from the CSPRNG."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def new_identifier(length: int = 10) -> str:
    """An identifier a person can copy from paper."""
    return "".join(secrets.choice(_IDENTIFIER_ALPHABET) for _ in range(length))


def hash_secret(key: bytes, secret: str, *, purpose: str) -> str:
    """Keyed hash for storage: a stolen database alone cannot brute-force 6-digit codes."""
    return hmac.new(key, f"{purpose}\x00{secret}".encode(), hashlib.sha256).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
