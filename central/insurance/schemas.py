"""Wire shapes of the health insurance's care-history feed."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from central.dmp.schemas import CareNature, CodeSystem
from central.insurance.codes import CodeProblem, check_code

__all__ = [
    "MAX_LINES",
    "CareHistoryRequestOut",
    "CareHistoryRequestsPage",
    "CareLineIn",
    "CareLinesIn",
    "CareLinesResult",
]

_STRICT = ConfigDict(extra="forbid", strict=True)
MAX_LINES = 500  # a batch; 24 months of one person's care take a few of them at most
_TEXT = r"^[^\x00-\x1f\x7f]*$"  # one line of text, no control character


class CareLineIn(BaseModel):
    """One reimbursed care line, as the health insurance sends it."""

    model_config = _STRICT
    line_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    care_date: dt.date
    nature: CareNature
    code_system: CodeSystem
    code: str = Field(min_length=1, max_length=16)
    label: str = Field(min_length=1, max_length=200, pattern=_TEXT)
    quantity: int = Field(default=1, ge=1, le=999)
    executant: str = Field(min_length=1, max_length=200, pattern=_TEXT)

    @model_validator(mode="after")
    def _code_of_its_system(self) -> CareLineIn:
        try:
            check_code(self.code_system, self.code)
        except CodeProblem as exc:
            raise ValueError(str(exc)) from exc
        return self


class CareLinesIn(BaseModel):
    """A batch of lines for one INS; `complete` says the record's initial 24 months are all
    sent (the request made at its creation is fulfilled)."""

    model_config = _STRICT
    lines: list[CareLineIn] = Field(max_length=MAX_LINES)
    complete: bool = False


class CareLinesResult(BaseModel):
    """What became of a batch: lines stored now, already stored (a resend), and older than
    the history's 24 months (not kept: they would never be shown)."""

    stored: int
    already_stored: int
    too_old: int
    fulfilled: bool


class CareHistoryRequestOut(BaseModel):
    """A record awaiting its history: the INS and the first day of its 24 months."""

    ins: str
    since: dt.date


class CareHistoryRequestsPage(BaseModel):
    """A page of records awaiting their history, oldest request first; `next` continues."""

    requests: list[CareHistoryRequestOut]
    next: str | None
