"""Secrets: random tokens, keyed hashes for storage, constant-time comparison.

The codes and identifiers a person reads (access sheet, one-time codes) are drawn in
dmpcommon.identifiers, where the kiosk draws them too."""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = [
    "hash_secret",
    "new_enrollment_token",
    "new_token",
    "same_secret",
]


def new_token() -> str:
    """A bearer token (256 bits)."""
    return secrets.token_urlsafe(32)


def new_enrollment_token() -> str:
    """A kiosk enrolment token. The prefix keeps it from ever starting with "-", which a
    command line (`kiosk enroll --token ...`) would take for an option."""
    return "dmpe_" + secrets.token_urlsafe(32)


def hash_secret(key: bytes, secret: str, *, purpose: str) -> str:
    """Keyed hash for storage: a stolen database alone cannot brute-force 6-digit codes."""
    return hmac.new(key, f"{purpose}\x00{secret}".encode(), hashlib.sha256).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
