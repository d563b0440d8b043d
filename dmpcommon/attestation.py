"""The operator-session attestation the professional card signs (kiosk and central agree)."""

from __future__ import annotations

import hashlib

__all__ = ["ATTESTATION_CONTEXT", "attestation_bytes", "attestation_digest"]

ATTESTATION_CONTEXT = b"DMP-KIOSK-OPERATOR-SESSION-v1"


def attestation_bytes(*, kiosk_id: str, session_id: str, issued_at: str) -> bytes:
    """The exact bytes signed: a context, then kiosk id, session id and UTC time, one per line."""
    for field in (kiosk_id, session_id, issued_at):
        if "\n" in field or not field:
            raise ValueError("attestation fields are non-empty single lines")
    return b"\n".join(
        [ATTESTATION_CONTEXT, *(f.encode() for f in (kiosk_id, session_id, issued_at))]
    )


def attestation_digest(*, kiosk_id: str, session_id: str, issued_at: str) -> bytes:
    """SHA-256 of the attestation: what the card's PSO signs."""
    return hashlib.sha256(
        attestation_bytes(kiosk_id=kiosk_id, session_id=session_id, issued_at=issued_at)
    ).digest()
