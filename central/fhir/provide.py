"""Provide Document Bundle (ITI-65, comprehensive metadata): a transaction Bundle read into
the documents it deposits, each with its file checked, before anything is stored.

The Bundle holds one SubmissionSet List, its DocumentReferences and their Binaries (or the
bytes inline in the attachment). Each DocumentReference becomes a central.dmp DocumentIn and
a CheckedFile; central.dmp.documents then adds them all in the request's one transaction,
under the same rules as any deposit: all or nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.list import List as FhirList
from pydantic import ValidationError

from central.dmp.files import CheckedFile, FileTooLarge, check_file
from central.dmp.schemas import Category, DocumentIn
from central.errors import BadRequest, ServiceError
from central.fhir import vocabulary as v
from central.fhir.search import PatientKey, patient_key

__all__ = ["Submission", "Unprocessable", "read_bundle"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SUBMISSION_SET = "submissionset"


class Unprocessable(ServiceError):
    """A well-formed Bundle whose content the DMP cannot take (FHIR's 422)."""

    status_code = 422
    code = "unprocessable"


@dataclass(frozen=True, slots=True)
class Submission:
    """What an ITI-65 Bundle deposits: for one patient, documents and their checked files,
    in the order of the Bundle; `entries` says which entry each of the Bundle's is."""

    patient: PatientKey
    documents: list[tuple[DocumentIn, CheckedFile]]
    # Per entry of the Bundle: ("List" | "DocumentReference" | "Binary", index of the
    # document it belongs to, or None for the SubmissionSet).
    entries: list[tuple[str, int | None]]


def _parse(raw: bytes) -> Bundle:
    try:
        bundle = Bundle.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        what = errors[0]["msg"] if errors else "invalid"
        raise BadRequest(f"not a FHIR Bundle: {where}: {what}", code="invalid_bundle") from None
    except ValueError as exc:
        raise BadRequest("the body is not JSON", code="invalid_bundle") from exc
    if bundle.type != "transaction":
        raise BadRequest("ITI-65 takes a transaction Bundle", code="not_a_transaction")
    return bundle


def _reference(ref: Any) -> str | None:
    return getattr(ref, "reference", None) if ref is not None else None


def _subject(resource: DocumentReference | FhirList) -> PatientKey:
    subject = resource.subject
    if subject is None:
        raise Unprocessable("a document names its patient", code="patient_required")
    identifier = getattr(subject, "identifier", None)
    reference = _reference(subject) or ""
    if identifier is not None and identifier.value:
        return patient_key(f"{identifier.system or ''}|{identifier.value}")
    if reference.startswith("Patient?identifier="):
        return patient_key(reference.removeprefix("Patient?identifier="))
    if reference.startswith("Patient/"):
        return patient_key(reference=reference)
    raise Unprocessable("a document names its patient", code="patient_required")


def _codes(concepts: Any, system: str) -> list[str]:
    return [
        coding.code
        for concept in (concepts or [])
        for coding in (concept.coding or [])
        if coding.system == system and coding.code
    ]


def _category(doc: DocumentReference) -> tuple[Category, str | None]:
    """The document's category and LOINC type: our category if given, else the ANS class
    code's, else the one the LOINC type belongs to."""
    loinc = _codes([doc.type] if doc.type else [], v.LOINC_SYSTEM)
    type_code = loinc[0] if loinc else None
    ours = _codes(doc.category, v.CATEGORY_SYSTEM)
    if ours:
        try:
            return Category(ours[0]), type_code
        except ValueError:
            raise Unprocessable("unknown document category", code="invalid_category") from None
    for code in _codes(doc.category, v.CLASS_SYSTEM):
        if (category := v.category_of_class(code)) is not None:
            if type_code and (by_type := v.category_of_loinc(type_code)) is not None:
                return by_type, type_code  # the type says more than the merged class
            return category, type_code
    if type_code and (by_type := v.category_of_loinc(type_code)) is not None:
        return by_type, type_code
    raise Unprocessable(
        "the document's category or LOINC type is missing or unknown", code="invalid_category"
    )


def _labels(doc: DocumentReference) -> tuple[bool, bool]:
    codes = set(_codes(doc.securityLabel, v.CONFIDENTIALITY_SYSTEM))
    codes |= set(_codes(doc.securityLabel, v.CONFIDENTIALITY_OID))
    if v.INVISIBLE_PATIENT in codes:
        raise Unprocessable(
            "a document invisible to the patient is not taken here", code="label_not_supported"
        )
    return v.MASKED in codes, v.INVISIBLE_REPRESENTATIVES in codes


def _replaces(doc: DocumentReference) -> str | None:
    replaced: list[str] = []
    for relation in doc.relatesTo or []:
        if relation.code != "replaces":
            raise Unprocessable(
                f"relatesTo {relation.code!r} is not supported", code="relation_not_supported"
            )
        target = _reference(relation.target) or ""
        ident = getattr(relation.target, "identifier", None)
        value = target.removeprefix("DocumentReference/")
        if not target and ident is not None and ident.value:
            value = str(ident.value).removeprefix("urn:uuid:")
        if not _UUID.fullmatch(value):
            raise Unprocessable("relatesTo names no document of this DMP", code="no_document")
        replaced.append(value)
    if len(replaced) > 1:
        raise Unprocessable("a document replaces one document", code="relation_not_supported")
    return replaced[0] if replaced else None


def _document_date(doc: DocumentReference) -> str:
    period = doc.context.period if doc.context is not None else None
    start = period.start if period is not None else None
    if start is None and doc.content:
        start = doc.content[0].attachment.creation
    if start is None:
        raise Unprocessable(
            "the date of the care (context.period.start) is missing", code="document_date_missing"
        )
    return str(start)[:10]


def _file_bytes(
    doc: DocumentReference, binaries: dict[str, tuple[int, Binary]], *, max_bytes: int
) -> tuple[bytes, str, int | None]:
    """The attachment's bytes, declared type, and the index of the Binary entry they came from."""
    if not doc.content or len(doc.content) != 1:
        raise Unprocessable("a document has exactly one content", code="content_required")
    attachment = doc.content[0].attachment
    if not attachment.contentType:
        raise Unprocessable("the attachment has no contentType", code="content_type_missing")
    declared = str(attachment.contentType)
    entry: int | None = None
    if attachment.data is not None:
        data = bytes(attachment.data)
    elif attachment.url and str(attachment.url) in binaries:
        entry, found = binaries.pop(str(attachment.url))
        if (found.contentType or "").split(";")[0].strip() != declared.split(";")[0].strip():
            raise Unprocessable(
                "the Binary's contentType is not the attachment's", code="content_type_mismatch"
            )
        data = bytes(found.data or b"")
    else:
        raise Unprocessable(
            "the attachment's url names no Binary of the Bundle", code="binary_missing"
        )
    if len(data) > max_bytes:
        raise FileTooLarge(f"file larger than {max_bytes} bytes")
    if attachment.size is not None and int(attachment.size) != len(data):
        raise Unprocessable("the attachment's size is not the file's", code="size_mismatch")
    if attachment.hash is not None:
        try:
            claimed = base64.b64decode(attachment.hash, validate=True)
        except (binascii.Error, ValueError):
            claimed = bytes(attachment.hash)
        if claimed != hashlib.sha1(data, usedforsecurity=False).digest():
            raise Unprocessable("the attachment's hash is not the file's", code="hash_mismatch")
    return data, declared, entry


def _title(doc: DocumentReference) -> str:
    attachment = doc.content[0].attachment if doc.content else None
    title = (attachment.title if attachment is not None else None) or doc.description
    if not title or not str(title).strip():
        raise Unprocessable("the document has no title", code="title_missing")
    return str(title).strip()[:200]


def read_bundle(raw: bytes, *, max_bytes: int) -> Submission:
    """The documents an ITI-65 Bundle deposits, each file checked for what it claims to be;
    BadRequest, Unprocessable or FileTooLarge on the first thing wrong (nothing stored)."""
    bundle = _parse(raw)
    entries = bundle.entry or []
    lists: list[tuple[int, FhirList]] = []
    documents: list[tuple[int, DocumentReference]] = []
    binaries: dict[str, tuple[int, Binary]] = {}
    for index, entry in enumerate(entries):
        resource = entry.resource
        request = entry.request
        if resource is None or request is None or request.method != "POST":
            raise BadRequest("each entry is a resource POSTed", code="invalid_bundle")
        kind = resource.get_resource_type()
        if str(request.url) != kind:
            raise BadRequest("an entry's request.url is its resource type", code="invalid_bundle")
        if isinstance(resource, FhirList):
            lists.append((index, resource))
        elif isinstance(resource, DocumentReference):
            documents.append((index, resource))
        elif isinstance(resource, Binary):
            if not entry.fullUrl:
                raise BadRequest("a Binary entry has a fullUrl", code="invalid_bundle")
            binaries[str(entry.fullUrl)] = (index, resource)
        else:
            raise Unprocessable(f"{kind} is not taken in ITI-65", code="resource_not_supported")
    if len(lists) != 1 or _SUBMISSION_SET not in _codes([lists[0][1].code], v.LIST_TYPE_SYSTEM):
        raise Unprocessable("the Bundle has one SubmissionSet List", code="submission_set_missing")
    if not documents:
        raise Unprocessable("the Bundle deposits no document", code="no_document_in_bundle")
    patient = _subject(lists[0][1])
    listed = {_reference(item.item) for item in (lists[0][1].entry or [])}
    kinds: list[tuple[str, int | None]] = [("List", None)] * len(entries)
    deposits: list[tuple[DocumentIn, CheckedFile]] = []
    for number, (index, doc) in enumerate(documents):
        full_url = entries[index].fullUrl
        if full_url is None or str(full_url) not in listed:
            raise Unprocessable(
                "every DocumentReference is an entry of the SubmissionSet",
                code="submission_set_incomplete",
            )
        if doc.status != "current":
            raise Unprocessable("a document is deposited as current", code="invalid_status")
        if _subject(doc).ins != patient.ins:
            raise Unprocessable("one patient per Bundle", code="patient_mismatch")
        category, loinc = _category(doc)
        masked, invisible = _labels(doc)
        data, declared, binary_entry = _file_bytes(doc, binaries, max_bytes=max_bytes)
        checked = check_file(data, declared, max_bytes=max_bytes)
        try:
            document = DocumentIn.model_validate(
                {
                    "category": category,
                    "title": _title(doc),
                    "loinc": loinc,
                    "document_date": _document_date(doc),
                    "masked_to_professionals": masked,
                    "invisible_to_representatives": invisible,
                    "replaces": _replaces(doc),
                }
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            raise Unprocessable(
                f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}",
                code="invalid_document",
            ) from None
        deposits.append((document, checked))
        kinds[index] = ("DocumentReference", number)
        if binary_entry is not None:
            kinds[binary_entry] = ("Binary", number)
    if binaries:
        raise Unprocessable("a Binary no document points at", code="binary_unused")
    return Submission(patient=patient, documents=deposits, entries=kinds)
