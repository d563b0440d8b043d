"""Wire shapes of kiosk enrolment and sync (the sealed payloads are dmpcommon.actions)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BatchItem",
    "BatchRequest",
    "EnrollRequest",
    "EnrollResponse",
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
