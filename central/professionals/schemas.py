"""Wire shapes of operator sessions."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SESSION_ID_PATTERN", "ResumeRequest", "SessionRequest", "SessionResponse"]

SESSION_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"


class SessionRequest(BaseModel):
    """The attestation the card signed, and the card's certificate (both base64)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    kiosk_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    session_id: str = Field(min_length=8, max_length=64, pattern=SESSION_ID_PATTERN)
    issued_at: str = Field(min_length=20, max_length=40)
    certificate: str = Field(min_length=100, max_length=8000)
    signature: str = Field(min_length=40, max_length=200)


class ResumeRequest(BaseModel):
    """Nothing: the path names the session, the request's kiosk signature is the proof."""

    model_config = ConfigDict(extra="forbid", strict=True)


class SessionResponse(BaseModel):
    """The operator's bearer token and who the certificate says they are."""

    token: str
    expires_at: dt.datetime
    id_nat: str
    nom: str
    prenom: str
    card_type: str
    profession: str | None
    structure_name: str
    role: str
