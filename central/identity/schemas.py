"""Wire shapes of identity qualification."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["QualifyRequest", "QualifyResponse"]


class QualifyRequest(BaseModel):
    """The traits read from a card."""

    model_config = ConfigDict(extra="forbid", strict=True)

    nom: str = Field(min_length=1, max_length=120)
    prenom: str = Field(min_length=1, max_length=120)
    birth_date: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    nir: str = Field(pattern=r"^[0-9]{5}([0-9]{2}|2[ABab])[0-9]{8}$")


class QualifyResponse(BaseModel):
    """qualified with INS, OID and reference traits; or not_found / ambiguous."""

    status: Literal["qualified", "not_found", "ambiguous"]
    ins: str | None = None
    oid: str | None = None
    traits: dict[str, object] | None = None
