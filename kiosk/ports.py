"""What the kiosk's workflow needs from the outside, as protocols the adapters implement.

The core (kiosk/session.py) calls these; kiosk/cardreader and kiosk/sync implement them, and
tests may implement them with scripted fakes for pure logic. Every method may block (card
I/O, network, disk): the UI calls the session from its worker thread, never its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.domain import ProfessionalIdentity, RetrievedIdentity

__all__ = [
    "CardPort",
    "CentralPort",
    "OnlineSession",
    "Qualification",
    "QueuePort",
    "RecordStatus",
]


class CardPort(Protocol):
    """The card readers, through the one card thread."""

    def read_professional(self, reader: str) -> ProfessionalIdentity:
        """The professional card's identity (no PIN needed)."""
        ...

    def pin_tries_left(self, reader: str) -> int | None:
        """Tries left before the PIN blocks (None once verified)."""
        ...

    def sign_attestation(self, reader: str, pin: str, digest: bytes) -> tuple[bytes, bytes]:
        """Verify the PIN, then sign the digest: (certificate DER, signature DER)."""
        ...

    def read_vitale(self, reader: str) -> tuple[RetrievedIdentity, ...]:
        """The holders on a Carte Vitale, in the card's order."""
        ...


@dataclass(frozen=True, slots=True)
class OnlineSession:
    """An operator session the central service opened."""

    token: str
    role: str


@dataclass(frozen=True, slots=True)
class Qualification:
    """The INS the identity service gave for a holder: qualified, not_found or ambiguous."""

    status: str
    ins: str | None = None


@dataclass(frozen=True, slots=True)
class RecordStatus:
    """The DMP's status and the operator's authorisation on it."""

    dmp: str  # VALIDE | NON_EXISTE | FERME
    authorisation: str  # AUTORISE | NON_AUTORISE | BLOQUE


class CentralPort(Protocol):
    """The central service's online API (raises CentralUnreachableError when offline)."""

    def open_session(
        self,
        *,
        kiosk_id: str,
        session_id: str,
        issued_at: str,
        certificate: bytes,
        signature: bytes,
    ) -> OnlineSession:
        """Open an operator session from the card's attestation."""
        ...

    def qualify(
        self, token: str, *, nom: str, prenom: str, birth_date: str, nir: str
    ) -> Qualification:
        """Qualify the card's traits into an INS."""
        ...

    def status(self, token: str, ins: str) -> RecordStatus:
        """The DMP's status and the operator's authorisation."""
        ...

    def open_record(
        self, token: str, ins: str, *, mode: str, reason_code: str | None, reason_text: str | None
    ) -> dict[str, Any]:
        """The record's summary (health data: shown, never stored or logged)."""
        ...


class QueuePort(Protocol):
    """The signed, sealed local queue."""

    def enqueue(self, action_type: str, payload: dict[str, Any], *, session_id: str) -> Any:
        """Store the action durably; returns once it survives a power cut."""
        ...
