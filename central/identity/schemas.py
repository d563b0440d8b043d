"""Wire shapes of identity qualification (the request is dmpcommon.actions.CardTraits)."""

from __future__ import annotations

from pydantic import BaseModel

from dmpcommon.vocabulary import QualificationStatus

__all__ = ["QualifyResponse"]


class QualifyResponse(BaseModel):
    """qualified with INS, OID and reference traits; or not_found / ambiguous."""

    status: QualificationStatus
    ins: str | None = None
    oid: str | None = None
    traits: dict[str, object] | None = None
