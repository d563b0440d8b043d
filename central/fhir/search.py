"""Search parameters of the doorway, read from a query string: the patient they name, and the
filters of Find Document References (ITI-67) applied to the documents the reader may see.

Pure functions: the documents come from central.dmp.access (the rules, masking and trace);
this module only narrows what the reader was already allowed to see.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from central.dmp.models import Document
from central.dmp.schemas import NIR, Category
from central.errors import BadRequest
from central.fhir import vocabulary as v

__all__ = ["DocumentQuery", "PatientKey", "document_query", "patient_key", "select_documents"]

_NIR = re.compile(NIR)
_PREFIXES: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ge": operator.ge,
    "le": operator.le,
    "gt": operator.gt,
    "lt": operator.lt,
}
# FHIR's date and dateTime: YYYY-MM-DD, then an optional time with its zone.
_DATE = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
)
_STATUSES = frozenset({"current", "superseded"})
_DOCUMENT_PARAMETERS = frozenset(
    {
        "patient",
        "patient.identifier",
        "status",
        "category",
        "type",
        "date",
        "period",
        "author",
        "author.identifier",
        "_format",
    }
)


class UnknownParameter(BadRequest):
    code = "search_parameter_not_supported"


@dataclass(frozen=True, slots=True)
class PatientKey:
    """The INS a search names, and the OID it was given under (None: by logical id)."""

    ins: str
    oid: str | None


@dataclass(frozen=True, slots=True)
class DateBound:
    """One comparison on a date: `prefix` (eq, ge, le, gt, lt) and the day or moment."""

    prefix: str
    value: dt.date | dt.datetime

    def holds(self, moment: dt.datetime | dt.date) -> bool:
        if isinstance(self.value, dt.datetime):
            if not isinstance(moment, dt.datetime):
                moment = dt.datetime.combine(moment, dt.time(), tzinfo=dt.UTC)
            return _PREFIXES[self.prefix](moment, self.value)
        day = moment.astimezone(dt.UTC).date() if isinstance(moment, dt.datetime) else moment
        return _PREFIXES[self.prefix](day, self.value)


@dataclass(frozen=True, slots=True)
class DocumentQuery:
    """The filters of one ITI-67 search (each list: any of its values matches)."""

    patient: PatientKey
    statuses: frozenset[str] = _STATUSES
    categories: tuple[tuple[str | None, str], ...] = ()
    types: tuple[tuple[str | None, str], ...] = ()
    dates: tuple[DateBound, ...] = ()
    periods: tuple[DateBound, ...] = ()
    authors: tuple[str, ...] = field(default=())

    @property
    def current_only(self) -> bool:
        return "superseded" not in self.statuses


def _ins(value: str) -> str:
    if not _NIR.fullmatch(value):
        raise BadRequest("the patient's identifier is not an INS", code="invalid_ins")
    return value


def _token(value: str) -> tuple[str | None, str]:
    """system|code, |code or code."""
    if "|" in value:
        system, _, code = value.partition("|")
        return (system or None), code
    return None, value


def patient_key(identifier: str | None = None, reference: str | None = None) -> PatientKey:
    """The patient named by an identifier token (urn:oid:<OID>|<INS>) or a reference
    (Patient/<INS>, or the bare INS)."""
    if identifier is not None:
        system, value = _token(identifier)
        if system is None:
            return PatientKey(_ins(value), None)
        oid = system.removeprefix("urn:oid:")
        if not system.startswith("urn:oid:") or oid not in v.INS_OIDS:
            raise BadRequest("the identifier's system is not an INS OID", code="invalid_ins")
        return PatientKey(_ins(value), oid)
    if reference is not None:
        return PatientKey(_ins(reference.removeprefix("Patient/")), None)
    raise BadRequest("a search names its patient", code="patient_required")


def _dates(values: Sequence[str]) -> tuple[DateBound, ...]:
    bounds = []
    for raw in values:
        prefix, text = (raw[:2], raw[2:]) if raw[:2] in _PREFIXES else ("eq", raw)
        if not _DATE.fullmatch(text):
            raise BadRequest("a date parameter is not a date", code="invalid_date")
        try:
            value: dt.date | dt.datetime = (
                dt.datetime.fromisoformat(text) if "T" in text else dt.date.fromisoformat(text)
            )
        except ValueError as exc:
            raise BadRequest("a date parameter is not a date", code="invalid_date") from exc
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        bounds.append(DateBound(prefix, value))
    return tuple(bounds)


def _split(values: Sequence[str]) -> list[str]:
    """Comma-separated values (an OR) of every occurrence of a parameter."""
    return [part for value in values for part in value.split(",") if part]


def document_query(params: Sequence[tuple[str, str]]) -> DocumentQuery:
    """An ITI-67 search, from the query string's pairs; an unknown parameter is refused
    (ignoring it would answer more than was asked)."""
    by_name: dict[str, list[str]] = {}
    for name, value in params:
        if name not in _DOCUMENT_PARAMETERS:
            raise UnknownParameter(f"search parameter {name!r} is not supported")
        by_name.setdefault(name, []).append(value)
    identifiers = by_name.get("patient.identifier", [])
    references = by_name.get("patient", [])
    if len(identifiers) + len(references) != 1:
        raise BadRequest("a search names exactly one patient", code="patient_required")
    patient = patient_key(
        identifiers[0] if identifiers else None, references[0] if references else None
    )
    statuses = frozenset(_split(by_name.get("status", []))) or _STATUSES
    if not statuses <= _STATUSES:
        raise BadRequest("status is current or superseded", code="invalid_status")
    authors = []
    for value in _split(by_name.get("author", [])):
        authors.append(f"patient:{_ins(value.removeprefix('Patient/'))}")
    for value in _split(by_name.get("author.identifier", [])):
        authors.append(_token(value)[1])
    return DocumentQuery(
        patient=patient,
        statuses=statuses,
        categories=tuple(_token(c) for c in _split(by_name.get("category", []))),
        types=tuple(_token(t) for t in _split(by_name.get("type", []))),
        dates=_dates(by_name.get("date", [])),
        periods=_dates(by_name.get("period", [])),
        authors=tuple(authors),
    )


def _category_matches(doc: Document, wanted: tuple[str | None, str]) -> bool:
    system, code = wanted
    category = Category(doc.category)
    ours = system in (None, v.CATEGORY_SYSTEM) and code == category.value
    ans = system in (None, v.CLASS_SYSTEM) and code == v.ANS_CLASS[category][0]
    return ours or ans


def _type_matches(doc: Document, wanted: tuple[str | None, str]) -> bool:
    system, code = wanted
    return system in (None, v.LOINC_SYSTEM) and doc.loinc == code


def _matches(query: DocumentQuery, doc: Document) -> bool:
    status = "current" if doc.replaced_by is None else "superseded"
    return (
        status in query.statuses
        and (not query.categories or any(_category_matches(doc, c) for c in query.categories))
        and (not query.types or any(_type_matches(doc, t) for t in query.types))
        and all(bound.holds(doc.created_at) for bound in query.dates)
        and all(bound.holds(doc.document_date) for bound in query.periods)
        and (not query.authors or doc.author_id in query.authors)
    )


def select_documents(query: DocumentQuery, visible: Sequence[Document]) -> list[Document]:
    """The documents among those the reader may see that the search asks for."""
    return [doc for doc in visible if _matches(query, doc)]
