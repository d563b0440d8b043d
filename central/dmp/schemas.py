"""Wire shapes of the DMP endpoints (strict: no coercion, no unknown fields)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from dmpcommon.actions import CardTraits, DmpCreated, EmergencyChoices, Nir, NotificationContact
from dmpcommon.vocabulary import (
    REASON_TEXT_MAX,
    REASON_TEXT_MIN,
    AccessMode,
    Authorisation,
    BreakGlassReason,
    CareNature,
    CodeSystem,
    DmpStatus,
    Role,
)

__all__ = [
    "ActivationResponse",
    "Category",
    "CareLineOut",
    "CareNature",
    "CodeSystem",
    "CreateDmpRequest",
    "CreateDmpResponse",
    "DocumentIn",
    "DocumentOut",
    "FileIn",
    "EmergencyChoices",
    "NotificationContact",
    "OpenRequest",
    "ProfessionalChange",
    "ProfessionalStatusRequest",
    "Representative",
    "StatusResponse",
    "SummaryResponse",
]

_STRICT = ConfigDict(extra="forbid", strict=True)
ID_NAT = r"^[0-9A-Z]{6,32}$"  # a card's national identifier, as paths carry it
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
NIR = r"^[0-9]{5}([0-9]{2}|2[AB])[0-9]{8}$"
Representative = CardTraits  # the adult holder of the card who consents for a minor


class Category(StrEnum):
    """Document categories of the DMP."""

    CARE_HISTORY = "care_history"
    PATHOLOGIES_ALLERGIES = "pathologies_allergies"
    MEDICATIONS = "medications"
    REPORTS = "reports"
    EXAM_RESULTS = "exam_results"
    ADVANCE_DIRECTIVES = "advance_directives"
    EMERGENCY_CONTACTS = "emergency_contacts"
    OTHER = "other"


class CreateDmpRequest(DmpCreated):
    """POST /v1/dmp: the kiosk's creation online, for a qualified INS (the queued action's
    payload, dmpcommon.actions.DmpCreated, with the INS required)."""

    model_config = ConfigDict(defer_build=False)  # a request body: built with the app
    ins: Nir
    identity: None = None


class ActivationResponse(BaseModel):
    """Returned once: what the kiosk prints on the patient's access sheet."""

    access_identifier: str
    activation_code: str
    activation_expires_at: dt.datetime


class CreateDmpResponse(ActivationResponse):
    """The new DMP, and its access sheet."""

    ins: str
    dmp: str


class StatusResponse(BaseModel):
    """DMP status and the operator's authorisation on it."""

    dmp: DmpStatus
    authorisation: Authorisation
    role: Role


class ProfessionalChange(StrEnum):
    """What happens to a professional's standing on the record."""

    AUTHORISE = "authorise"
    REVOKE = "revoke"
    BLOCK = "block"
    UNBLOCK = "unblock"


class ProfessionalStatusRequest(BaseModel):
    """Authorise, revoke or block a professional."""

    model_config = _STRICT
    action: ProfessionalChange = Field(strict=False)  # a JSON string naming the change
    # A professional authorising itself declares that the patient, present, agrees.
    patient_agreement: bool = False


class FileIn(BaseModel):
    """A document's file: its declared type and its bytes in base64 (checked by
    central.dmp.files for what it claims to be)."""

    model_config = _STRICT
    mime_type: str = Field(min_length=3, max_length=100)
    data_base64: str = Field(min_length=4)
    filename: str | None = Field(default=None, min_length=1, max_length=200)


class DocumentIn(BaseModel):
    """A document added by a professional (or by the patient through the portal): a text
    (`content`), or a file."""

    model_config = _STRICT
    category: Category = Field(strict=False)  # a JSON string naming the category
    title: str = Field(min_length=1, max_length=200)
    content: str | None = Field(default=None, min_length=1, max_length=100_000)
    file: FileIn | None = None
    loinc: str | None = Field(default=None, pattern=r"^[0-9]{1,7}-[0-9]$")
    document_date: str = Field(pattern=DATE)
    masked_to_professionals: bool = False
    invisible_to_representatives: bool = False
    replaces: str | None = Field(default=None, min_length=36, max_length=36)


class DocumentOut(BaseModel):
    """A document as the reader may see it: a text's content inline; any other file fetched
    from the document's content address."""

    id: str
    category: str
    loinc: str | None
    title: str
    content: str | None
    mime_type: str
    size: int
    sha256: str
    format_code: str
    filename: str | None
    created_at: dt.datetime
    author: str
    author_role: str
    document_date: str
    masked_to_professionals: bool
    invisible_to_representatives: bool
    replaces: str | None


class CareLineOut(BaseModel):
    """A line of the care history (reimbursed care), as the reader may see it."""

    line_id: str
    care_date: str
    nature: CareNature
    code_system: CodeSystem
    code: str
    label: str
    quantity: int
    executant: str


class OpenRequest(BaseModel):
    """Opening the record: normal, regulator, or break-glass with a reason."""

    model_config = _STRICT
    mode: AccessMode = Field(default=AccessMode.NORMAL, strict=False)
    reason_code: BreakGlassReason | None = Field(default=None, strict=False)
    reason_text: str | None = Field(
        default=None, min_length=REASON_TEXT_MIN, max_length=REASON_TEXT_MAX
    )


class SummaryResponse(BaseModel):
    """What an authorised professional sees on opening the record."""

    ins: str
    mode: AccessMode
    medications: list[DocumentOut]
    pathologies_allergies: list[DocumentOut]
    care_history_24_months: list[DocumentOut]
    latest_reports: list[DocumentOut]
    latest_exam_results: list[DocumentOut]
    advance_directives: list[DocumentOut]
    emergency_contacts: list[DocumentOut]
    other: list[DocumentOut]
    # No count of what the reader may not see: a masked document's number is not theirs to know.
    # The reimbursed care of the last 24 months, from the health insurance (newest first).
    care_lines: list[CareLineOut] = []
