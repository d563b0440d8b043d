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
    CareNature,
    DmpStatus,
    QualificationStatus,
    Role,
)
from kiosk.core.domain import OperatorCard, RetrievedIdentity

__all__ = [
    "CardPort",
    "CareLine",
    "CareNature",
    "CentralPort",
    "CdaDocument",
    "CdaSection",
    "Delivery",
    "DocumentContent",
    "DocumentKind",
    "DocumentReader",
    "FetchedFile",
    "NewAccess",
    "OnlineSession",
    "PageImage",
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


class DocumentKind(StrEnum):
    """What a document's file is, as the viewer shows it."""

    PDF = "pdf"
    CDA = "cda"  # CDA R2: a structured body, or a non-XML body (often a PDF)
    TEXT = "text"
    IMAGE = "image"
    OTHER = "other"  # a type this kiosk does not know: listed, not opened

    @classmethod
    def of(cls, mime_type: str) -> DocumentKind:
        """The kind a MIME type names (parameters such as charset ignored)."""
        base = mime_type.split(";", 1)[0].strip().lower()
        return _KINDS.get(base, cls.OTHER)


_KINDS = {
    "application/pdf": DocumentKind.PDF,
    "text/xml": DocumentKind.CDA,
    "application/xml": DocumentKind.CDA,
    "application/hl7-v3+xml": DocumentKind.CDA,
    "text/plain": DocumentKind.TEXT,
    "image/jpeg": DocumentKind.IMAGE,
    "image/png": DocumentKind.IMAGE,
}


@dataclass(frozen=True, slots=True)
class SummaryDocument:
    """One document as the summary lists it (health data: shown, never stored or logged)."""

    title: str
    document_date: str
    author: str
    content: str | None  # a text's content; None for a file, fetched when opened
    id: str = ""
    category: str = ""
    loinc: str | None = None
    author_role: str = ""
    mime_type: str = "text/plain"
    size: int = 0
    sha256: str = ""  # hex: the fetched file is checked against it
    format_code: str = ""
    filename: str | None = None
    created_at: str = ""  # ISO time of the deposit

    @property
    def kind(self) -> DocumentKind:
        return DocumentKind.of(self.mime_type)

    @property
    def openable(self) -> bool:
        """Whether the viewer can show it: a file of a kind it knows, with an id to fetch."""
        return bool(self.id and self.sha256) and self.kind is not DocumentKind.OTHER


@dataclass(frozen=True, slots=True)
class CareLine:
    """A line of the care history of the last 24 months, from the health insurance."""

    care_date: str  # YYYY-MM-DD
    nature: CareNature
    code_system: str  # CIP13, NGAP, CCAM, NABM
    code: str
    label: str
    quantity: int
    executant: str


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """The record as opened for this operator, in this mode."""

    mode: AccessMode
    sections: tuple[tuple[SummarySection, tuple[SummaryDocument, ...]], ...]
    care_lines: tuple[CareLine, ...] = ()

    def documents(self, section: SummarySection) -> tuple[SummaryDocument, ...]:
        """The documents of one section."""
        return next((docs for name, docs in self.sections if name is section), ())

    def history(self) -> tuple[CareLine, ...]:
        """The care history, newest first (the service's order among lines of one day)."""
        return tuple(sorted(self.care_lines, key=lambda line: line.care_date, reverse=True))


@dataclass(frozen=True, slots=True)
class FetchedFile:
    """A document's file as the service sent it."""

    mime_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class PageImage:
    """One page of a PDF, rendered: RGB pixels, 3 bytes each, `stride` bytes a row."""

    width: int
    height: int
    stride: int
    pixels: bytes


@dataclass(frozen=True, slots=True)
class CdaSection:
    """A section of a CDA's structured body: its title and its narrative, as paragraphs of
    plain text (never markup)."""

    title: str
    paragraphs: tuple[str, ...]
    level: int = 1  # 2 for a section inside a section


@dataclass(frozen=True, slots=True)
class CdaDocument:
    """A CDA R2 as read for the screen: its title, and its structured sections or the text
    of its non-XML body."""

    title: str
    sections: tuple[CdaSection, ...] = ()
    text: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentContent:
    """What the viewer draws: pages (a PDF, or a CDA's PDF body), a CDA's sections, a text,
    or an image's bytes (a JPEG or PNG the screen decodes)."""

    kind: DocumentKind
    pages: tuple[PageImage, ...] = ()
    page_count: int = 0  # the PDF's pages (more than `pages` when cut at a limit)
    cda: CdaDocument | None = None
    text: str | None = None
    image: bytes | None = None


class DocumentReader(Protocol):
    """Turns a document's file into what the viewer draws (on the workflow's thread)."""

    def read(self, kind: DocumentKind, data: bytes) -> DocumentContent:
        """The content to show; DocumentUnreadableError if it cannot be."""
        ...


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

    def document_file(
        self,
        token: str,
        ins: str,
        document_id: str,
        *,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
    ) -> FetchedFile:
        """One document's file, in the mode the record was opened (traced by the service;
        CentralRefusedError "no_document" for one this reader may not see)."""
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
