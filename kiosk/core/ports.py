"""What the kiosk's workflow needs from the outside, as protocols the adapters implement.

The core (kiosk/core/workflow.py) calls these; kiosk/cardreader and kiosk/sync implement
them, and the fast tests implement them with fakes. Every method may block (card I/O,
network, disk): the UI calls the workflow from its worker thread, never its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from dmpcommon.actions import ActionPayload, CardTraits, IdentitySearch
from dmpcommon.vocabulary import (
    AccessMode,
    Authorisation,
    BreakGlassReason,
    DmpStatus,
    QualificationStatus,
    Role,
)
from kiosk.core.domain import OperatorCard, RetrievedIdentity

__all__ = [
    "CardPort",
    "CentralPort",
    "Delivery",
    "NewAccess",
    "OnlineSession",
    "Qualification",
    "QueuePort",
    "RecordStatus",
    "RecordSummary",
    "StrictTraits",
    "SummaryDocument",
    "SummarySection",
]


class CardPort(Protocol):
    """The card readers, through the one card thread."""

    def read_professional(self, reader: str) -> OperatorCard:
        """Identity, PIN tries left and certificate, in one card job (no PIN needed)."""
        ...

    def sign_attestation(self, reader: str, pin: str, digest: bytes) -> bytes:
        """Verify the PIN, then sign the digest (one card job): the signature, DER."""
        ...

    def read_vitale(self, reader: str) -> tuple[RetrievedIdentity, ...]:
        """The holders on a Carte Vitale, in the card's order."""
        ...


@dataclass(frozen=True, slots=True)
class OnlineSession:
    """An operator session the central service opened."""

    token: str
    role: Role


@dataclass(frozen=True, slots=True)
class StrictTraits:
    """The register's traits of a qualified identity (what identity vigilance shows)."""

    nom_naissance: str
    prenoms: tuple[str, ...]
    sexe: str  # "F" | "M"
    birth_date: str  # YYYY-MM-DD
    birth_place: str  # the INSEE code of the birthplace (99xxx: born abroad)


@dataclass(frozen=True, slots=True)
class Qualification:
    """The INS the identity service gave for a holder (qualified), or why not."""

    status: QualificationStatus
    ins: str | None = None
    traits: StrictTraits | None = None


@dataclass(frozen=True, slots=True)
class RecordStatus:
    """The DMP's status and the operator's authorisation on it."""

    dmp: DmpStatus
    authorisation: Authorisation


class SummarySection(StrEnum):
    """The summary's sections, in the order a professional reads them."""

    MEDICATIONS = "medications"
    PATHOLOGIES_ALLERGIES = "pathologies_allergies"
    CARE_HISTORY = "care_history_24_months"
    REPORTS = "latest_reports"
    EXAM_RESULTS = "latest_exam_results"
    ADVANCE_DIRECTIVES = "advance_directives"
    EMERGENCY_CONTACTS = "emergency_contacts"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class SummaryDocument:
    """One document as the summary lists it (health data: shown, never stored or logged)."""

    title: str
    document_date: str
    author: str
    content: str


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """The record as opened for this operator, in this mode."""

    mode: AccessMode
    sections: tuple[tuple[SummarySection, tuple[SummaryDocument, ...]], ...]
    hidden: int = 0  # documents the reader may not see (masked)

    def documents(self, section: SummarySection) -> tuple[SummaryDocument, ...]:
        """The documents of one section."""
        return next((docs for name, docs in self.sections if name is section), ())


@dataclass(frozen=True, slots=True)
class NewAccess:
    """The access sheet's identifier and a new activation code, from the service."""

    identifier: str
    activation_code: str


class CentralPort(Protocol):
    """The central service's online API (raises CentralUnreachableError when offline,
    CentralRefusedError with the service's code when it says no)."""

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

    def resume_session(self, session_id: str) -> OnlineSession:
        """A token for a session opened offline (its queued login applied) or whose token
        was lost with the network: the kiosk's signature proves the kiosk, the card proved
        the operator at login (CentralRefusedError if the session is over)."""
        ...

    def qualify(self, token: str, traits: CardTraits) -> Qualification:
        """Qualify the card's traits into an INS."""
        ...

    def search_identity(self, token: str, search: IdentitySearch) -> Qualification:
        """Find a patient without a Vitale card by the traits of a checked identity
        document (qualified, or not_found / ambiguous)."""
        ...

    def status(self, token: str, ins: str) -> RecordStatus:
        """The DMP's status and the operator's authorisation."""
        ...

    def open_record(
        self,
        token: str,
        ins: str,
        *,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
    ) -> RecordSummary:
        """The record's summary, traced by the service."""
        ...

    def reissue_activation(self, token: str, ins: str) -> NewAccess:
        """A new activation code for the patient (the old one void), the patient present."""
        ...

    def set_closed(self, token: str, ins: str, *, closed: bool) -> None:
        """Close or reopen the DMP at the patient's request, the patient present."""
        ...


class Delivery(StrEnum):
    """Where a queued action stands with the central service."""

    PENDING = "pending"  # stored here, not answered yet
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class QueuePort(Protocol):
    """The signed, sealed local queue."""

    def enqueue(
        self, payload: ActionPayload, *, session_id: str, subject: str | None = None
    ) -> object:
        """Store the action durably; returns once it survives a power cut (a handle for
        delivery()). `subject`: the patient's initials, kept in clear only until the
        service accepts the action, so that a refusal can say for whom."""
        ...

    def delivery(self, entry: object) -> Delivery:
        """Whether the central service has answered this action yet, and how."""
        ...

    def refusal(self, entry: object) -> str | None:
        """The service's reason code for a rejected action (None otherwise)."""
        ...
