"""Wire shapes of the patient's access."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from central.dmp.schemas import (
    DATE,
    CareLineOut,
    DocumentOut,
    EmergencyChoices,
    NotificationContact,
)

__all__ = [
    "AccessLogEntry",
    "ActivateRequest",
    "CodeRequest",
    "ConsentRecord",
    "ContactConfirmation",
    "LoginRequest",
    "MaskRequest",
    "NotificationPreferences",
    "OnlineCreationConfirmation",
    "OnlineCreationProof",
    "OnlineCreationRequest",
    "PatientRecord",
    "TokenResponse",
    "TreatingDoctorRequest",
]

_STRICT = ConfigDict(extra="forbid", strict=True)
_INS_OR_NIR = r"^[0-9]{5}([0-9]{2}|2[ABab])[0-9]{8}$"


class ActivateRequest(BaseModel):
    model_config = _STRICT
    identifier: str = Field(min_length=4, max_length=16)
    code: str = Field(pattern=r"^[0-9]{8}$")
    birth_date: str = Field(pattern=DATE)  # the record's person's: a sheet alone is not enough


class CodeRequest(BaseModel):
    model_config = _STRICT
    ins: str = Field(pattern=_INS_OR_NIR)
    birth_date: str = Field(pattern=DATE)


class LoginRequest(CodeRequest):
    code: str = Field(pattern=r"^[0-9]{6}$")


class MaskRequest(BaseModel):
    """Mask a document from professionals, or show it to them again."""

    model_config = _STRICT
    masked: bool


class OnlineCreationProof(BaseModel):
    """What the patient proves to create their DMP online: their NIR, birth date and the
    serial number of their own Vitale card."""

    model_config = _STRICT
    nir: str = Field(min_length=15, max_length=21)
    birth_date: str = Field(pattern=DATE)
    vitale_serial: str = Field(pattern=r"^[0-9]{6,16}$")


class OnlineCreationRequest(OnlineCreationProof):
    """Self-creation: the proof, the consent to the information text read, the contact."""

    consent: Literal[True]
    information_version: str = Field(min_length=1, max_length=32)
    contact: NotificationContact
    emergency: EmergencyChoices = EmergencyChoices()


class OnlineCreationConfirmation(OnlineCreationProof):
    """The proof again, and the code sent to the contact."""

    code: str = Field(pattern=r"^[0-9]{6}$")


class TreatingDoctorRequest(BaseModel):
    """The treating doctor, named by their RPPS number (11 digits, Luhn key)."""

    model_config = _STRICT
    rpps: str = Field(pattern=r"^[0-9]{11}$")


class ContactConfirmation(BaseModel):
    """The code sent to the new contact, typed back."""

    model_config = _STRICT
    code: str = Field(pattern=r"^[0-9]{6}$")


class TokenResponse(BaseModel):
    token: str


class NotificationPreferences(BaseModel):
    model_config = _STRICT
    contact: NotificationContact | None = None
    new_document: bool = True
    first_access: bool = True
    emergency: bool = True


class ConsentRecord(BaseModel):
    """When the DMP was consented to, by whom, after which information text."""

    at: dt.datetime
    by: str  # self | representative
    representative: str | None  # the representative's name, when one consented
    information_version: str
    operator: str  # who recorded it at the counter ("" when the patient created it online)
    online: bool = False  # the patient created it in the portal


class PatientRecord(BaseModel):
    ins: str
    nom: str
    prenom: str
    status: str  # VALIDE | FERME
    consent: ConsentRecord
    documents: dict[str, list[DocumentOut]]
    # id_nat, status, name: "Prénom NOM, profession, place" where the service knows it, else
    # "professionnel n° RPPS ..." (central.professionals.directory.label_of)
    professionals: list[dict[str, str]]
    treating_doctor: str | None
    treating_doctor_name: str | None = None  # the same label
    emergency: EmergencyChoices
    notifications: NotificationPreferences
    # The reimbursed care of the last 24 months, from the health insurance (newest first).
    care_lines: list[CareLineOut] = []
    # A representative is not shown the care of a minor who sees someone in confidence: the
    # lines cannot be told apart (care_lines is then empty).
    care_lines_withheld: bool = False


class AccessLogEntry(BaseModel):
    at: dt.datetime
    who: str
    id_nat: str | None = None  # the professional's card, to block them from the log
    role: str
    mode: str  # normal | regulateur | bris_de_glace
    action: str
    event: str  # what happened, as the patient is told (central.portal.wording.EVENTS)
    outcome: str
    reason: str | None


class RecordChoice(BaseModel):
    """A record this session's person may open: theirs, or a child's they represent."""

    ins: str
    nom: str
    prenom: str
    current: bool
    role: str  # patient | representant_legal: the role in which it is opened


class RecordChoices(BaseModel):
    records: list[RecordChoice]
