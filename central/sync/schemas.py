"""Wire shapes of kiosk enrolment."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EnrollRequest", "EnrollResponse", "SealingKeyResponse"]


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
