"""Wire shapes of kiosk enrolment and sync, and of the sealed action payloads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from central.dmp.schemas import ID_NAT, NIR, NotificationContact, Representative

__all__ = [
    "BatchItem",
    "BatchRequest",
    "CardIdentity",
    "CardRefusedPayload",
    "ConsentPayload",
    "ContactPayload",
    "EnrollRequest",
    "EnrollResponse",
    "OpenedPayload",
    "ProfessionalPayload",
    "SealingKeyResponse",
]


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    token: str = Field(min_length=20, max_length=100)
    public_key: str = Field(pattern=r"^[0-9a-f]{64}$")  # Ed25519, hex


class EnrollResponse(BaseModel):
    kiosk_id: str
    site: str
    central_key: str  # X25519 sealing key, hex


class SealingKeyResponse(BaseModel):
    central_key: str


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    envelope: str = Field(min_length=1, max_length=200_000)  # base64 of the exact bytes
    signature: str = Field(min_length=1, max_length=200)  # base64 Ed25519


class BatchRequest(BaseModel):
    """Envelopes in sequence order, as stored on the kiosk."""

    model_config = ConfigDict(extra="forbid", strict=True)
    kiosk_id: str = Field(min_length=1, max_length=64)
    items: list[BatchItem] = Field(min_length=1, max_length=500)


# -- sealed payloads of the queue's actions (dmpcommon.actions) ------------------------------


class CardIdentity(BaseModel):
    """Traits read from a card when the kiosk could not qualify them online."""

    model_config = ConfigDict(extra="forbid", strict=True)
    nom: str = Field(min_length=1, max_length=120)
    prenom: str = Field(min_length=1, max_length=120)
    birth_date: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    nir: str = Field(pattern=r"^[0-9]{5}([0-9]{2}|2[ABab])[0-9]{8}$")


class ConsentPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ins: str | None = Field(default=None, pattern=NIR)
    identity: CardIdentity | None = None
    information_version: str = Field(min_length=1, max_length=32)
    representative: Representative | None = None


class ProfessionalPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ins: str | None = Field(default=None, pattern=NIR)
    identity: CardIdentity | None = None
    id_nat: str = Field(pattern=ID_NAT)


class ContactPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ins: str | None = Field(default=None, pattern=NIR)
    identity: CardIdentity | None = None
    contact: NotificationContact


class OpenedPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ins: str = Field(pattern=NIR)
    mode: Literal["normal", "regulateur", "bris_de_glace"]
    reason_code: str | None = None
    reason_text: str | None = None


class CardRefusedPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    reason: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
