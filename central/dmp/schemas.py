"""Wire shapes of the DMP endpoints (strict: no coercion, no unknown fields)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Category",
    "CreateDmpRequest",
    "CreateDmpResponse",
    "DocumentIn",
    "DocumentOut",
    "EmergencyChoices",
    "NotificationContact",
    "OpenRequest",
    "ProfessionalStatusRequest",
    "Representative",
    "StatusResponse",
    "SummaryResponse",
]

_STRICT = ConfigDict(extra="forbid", strict=True)
ID_NAT = r"^[0-9A-Z]{6,32}$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
NIR = r"^[0-9]{5}([0-9]{2}|2[AB])[0-9]{8}$"


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


class Representative(BaseModel):
    """The legal representative who consents for a minor (an adult holder of the card)."""

    model_config = _STRICT
    nom: str = Field(min_length=1, max_length=120)
    prenom: str = Field(min_length=1, max_length=120)
    birth_date: str = Field(pattern=DATE)
    nir: str = Field(pattern=NIR)


class EmergencyChoices(BaseModel):
    """Each on by default; the patient may untick."""

    model_config = _STRICT
    etreat: bool = True
    btg: bool = True
    masked: bool = True


class NotificationContact(BaseModel):
    """E-mail or French mobile number."""

    model_config = _STRICT
    channel: Literal["email", "sms"]
    address: str = Field(min_length=3, max_length=254)

    @model_validator(mode="after")
    def _check_address(self) -> NotificationContact:
        from dmpcommon.contact import ContactError, normalise_contact

        try:
            self.address = normalise_contact(self.channel, self.address)
        except ContactError as exc:
            raise ValueError(str(exc)) from exc
        return self


class CreateDmpRequest(BaseModel):
    """Creation with consent, at a kiosk."""

    model_config = _STRICT
    ins: str = Field(pattern=NIR)
    consent: Literal[True]
    information_version: str = Field(min_length=1, max_length=32)
    representative: Representative | None = None
    emergency: EmergencyChoices = EmergencyChoices()
    contact: NotificationContact | None = None
    treating_doctor: str | None = Field(default=None, pattern=ID_NAT)
    authorised_professionals: list[str] = Field(default_factory=list, max_length=50)
    # Set by a kiosk that prints the access sheet before the creation reaches the service
    # (offline); otherwise the service draws them.
    access_identifier: str | None = Field(default=None, pattern=r"^[A-HJ-NP-Z2-9]{10}$")
    activation_code: str | None = Field(default=None, pattern=r"^[0-9]{8}$")


class CreateDmpResponse(BaseModel):
    """Returned once: what the kiosk prints on the patient's access sheet."""

    ins: str
    dmp: str
    access_identifier: str
    activation_code: str
    activation_expires_at: dt.datetime


class StatusResponse(BaseModel):
    """DMP status and the operator's authorisation on it."""

    dmp: Literal["VALIDE", "NON_EXISTE", "FERME"]
    authorisation: Literal["AUTORISE", "NON_AUTORISE", "BLOQUE"]
    role: str


class ProfessionalStatusRequest(BaseModel):
    """Authorise, revoke or block a professional."""

    model_config = _STRICT
    action: Literal["authorise", "revoke", "block"]


class DocumentIn(BaseModel):
    """A document added by a professional (or by the patient through the portal)."""

    model_config = _STRICT
    category: Category = Field(strict=False)  # a JSON string naming the category
    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=100_000)
    loinc: str | None = Field(default=None, pattern=r"^[0-9]{1,7}-[0-9]$")
    document_date: str = Field(pattern=DATE)
    masked_to_professionals: bool = False
    invisible_to_representatives: bool = False
    replaces: str | None = Field(default=None, min_length=36, max_length=36)


class DocumentOut(BaseModel):
    """A document as the reader may see it."""

    id: str
    category: str
    loinc: str | None
    title: str
    content: str
    author: str
    document_date: str
    masked_to_professionals: bool
    invisible_to_representatives: bool
    replaces: str | None


class OpenRequest(BaseModel):
    """Opening the record: normal, regulator, or break-glass with a reason."""

    model_config = _STRICT
    mode: Literal["normal", "regulateur", "bris_de_glace"] = "normal"
    reason_code: str | None = Field(default=None, pattern=r"^[A-Z_]{2,32}$")
    reason_text: str | None = Field(default=None, min_length=5, max_length=500)


class SummaryResponse(BaseModel):
    """What an authorised professional sees on opening the record."""

    ins: str
    mode: str
    medications: list[DocumentOut]
    pathologies_allergies: list[DocumentOut]
    care_history_24_months: list[DocumentOut]
    latest_reports: list[DocumentOut]
    latest_exam_results: list[DocumentOut]
    advance_directives: list[DocumentOut]
    emergency_contacts: list[DocumentOut]
    hidden_documents: int
