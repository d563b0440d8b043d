"""Our records as FHIR resources (fhir.resources' R4B models, elements identical in R4): the
Patient, a DocumentReference and its Binary, the searchset and transaction-response Bundles,
the CapabilityStatement and the OperationOutcome of an error."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from central.dmp.models import Dmp, Document
from central.dmp.schemas import Category
from central.fhir import vocabulary as v
from dmpcommon.vocabulary import DmpStatus

__all__ = [
    "FHIR_JSON",
    "FhirResource",
    "binary",
    "capability_statement",
    "document_reference",
    "document_searchset",
    "operation_outcome",
    "patient",
    "searchset",
    "transaction_response",
]

FHIR_JSON = "application/fhir+json"
FhirResource = FHIRAbstractModel  # what the doorway answers with
_PATIENT_AUTHOR = "patient:"


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def patient(dmp: Dmp, *, traits: bool = True) -> Patient:
    """The record's patient: the INS under its OID, whether the record is open, and the
    traits the DMP was created with (`traits`: only for who may open the record)."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": dmp.ins,
        "identifier": [{"use": "official", "system": v.ins_system(dmp.oid), "value": dmp.ins}],
        "active": dmp.status == DmpStatus.VALID,
    }
    if traits:
        resource["name"] = [{"use": "official", "family": dmp.nom, "given": [dmp.prenom]}]
        resource["birthDate"] = dmp.birth_date
    return Patient.model_validate(resource)


def _author(doc: Document) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The author reference, and what it points at when contained."""
    if doc.author_id.startswith(_PATIENT_AUTHOR):
        return {"reference": f"Patient/{doc.dmp_ins}", "display": doc.author_name}, []
    practitioner = {
        "resourceType": "Practitioner",
        "id": "author",
        "identifier": [{"system": v.RPPS_OID, "value": doc.author_id}],
        "name": [{"text": doc.author_name}],
    }
    return {"reference": "#author", "display": doc.author_name}, [practitioner]


def _labels(doc: Document) -> list[dict[str, Any]]:
    labels = []
    if doc.masked_to_professionals:
        labels.append((v.MASKED, "Masqué aux professionnels de santé"))
    if doc.invisible_to_representatives:
        labels.append(
            (v.INVISIBLE_REPRESENTATIVES, "Non visible par les représentants légaux du patient")
        )
    return [
        {"coding": [{"system": v.CONFIDENTIALITY_SYSTEM, "code": code, "display": display}]}
        for code, display in labels
    ]


def document_reference(doc: Document, base_url: str) -> DocumentReference:
    """A document's metadata; its file at the attachment's URL (ITI-68)."""
    category = Category(doc.category)
    class_code, class_display = v.ANS_CLASS[category]
    author, contained = _author(doc)
    body: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": doc.id,
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{doc.id}"},
        "status": "current" if doc.replaced_by is None else "superseded",
        "docStatus": "final",
        "category": [
            {
                "coding": [
                    {"system": v.CATEGORY_SYSTEM, "code": category.value},
                    {"system": v.CLASS_SYSTEM, "code": class_code, "display": class_display},
                ]
            }
        ],
        "subject": {"reference": f"Patient/{doc.dmp_ins}"},
        "date": _instant(doc.created_at),
        "author": [author],
        "description": doc.title,
        "content": [
            {
                "attachment": {
                    "contentType": doc.mime_type,
                    "url": f"{base_url}/Binary/{doc.id}",
                    "size": doc.size,
                    "title": doc.filename or doc.title,
                    "creation": doc.document_date.isoformat(),
                },
                "format": {"system": v.FORMAT_SYSTEM, "code": doc.format_code},
            }
        ],
        "context": {"period": {"start": doc.document_date.isoformat()}},
    }
    if contained:
        body["contained"] = contained
    if doc.loinc:
        body["type"] = {"coding": [{"system": v.LOINC_SYSTEM, "code": doc.loinc}]}
    if labels := _labels(doc):
        body["securityLabel"] = labels
    if doc.replaces:
        body["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{doc.replaces}"}}
        ]
    return DocumentReference.model_validate(body)


# What a DocumentReference is made of (every field it shows): its JSON is made once per value.
_FACTS = (
    "id",
    "dmp_ins",
    "category",
    "loinc",
    "title",
    "mime_type",
    "size",
    "format_code",
    "filename",
    "author_id",
    "author_name",
    "document_date",
    "created_at",
    "masked_to_professionals",
    "invisible_to_representatives",
    "replaces",
    "replaced_by",
)


@lru_cache(maxsize=8192)
def _reference_json(facts: tuple[object, ...], base_url: str) -> dict[str, Any]:
    # A transient row, in no session: only the builder reads it. The dict is shared by every
    # answer that shows this version: it is only ever serialised, never changed.
    doc = Document(**dict(zip(_FACTS, facts, strict=True)))
    shown: dict[str, Any] = json.loads(document_reference(doc, base_url).model_dump_json())
    return shown


def document_searchset(docs: Sequence[Document], *, self_url: str, base_url: str) -> str:
    """ITI-67's answer, as JSON. Each DocumentReference is built and validated by its model
    and serialised once per version of what it shows (fhir.resources takes ~1 ms a resource
    to do both, which a search of 50 documents would pay 50 times); the Bundle is built by
    its model, each entry then holding its resource, where it matched, and its full URL."""
    shell: dict[str, Any] = json.loads(
        Bundle.model_validate(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(docs),
                "link": [{"relation": "self", "url": self_url}],
            }
        ).model_dump_json()
    )
    if docs:
        shell["entry"] = [
            {
                "fullUrl": f"{base_url}/DocumentReference/{doc.id}",
                "resource": _reference_json(tuple(getattr(doc, name) for name in _FACTS), base_url),
                "search": {"mode": "match"},
            }
            for doc in docs
        ]
    return json.dumps(shell, ensure_ascii=False, separators=(",", ":"))


def binary(doc: Document, data: bytes) -> Binary:
    """A document's file as a Binary resource (when the client asks for FHIR JSON)."""
    return Binary.model_validate(
        {
            "resourceType": "Binary",
            "id": doc.id,
            "contentType": doc.mime_type,
            "securityContext": {"reference": f"DocumentReference/{doc.id}"},
            "data": base64.b64encode(data).decode("ascii"),
        }
    )


def searchset(
    resources: Sequence[DocumentReference | Patient], *, self_url: str, base_url: str
) -> Bundle:
    """A search's answer."""
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources),
            "link": [{"relation": "self", "url": self_url}],
            "entry": [
                {
                    "fullUrl": f"{base_url}/{r.get_resource_type()}/{r.id}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in resources
            ],
        }
    )


def transaction_response(outcomes: Iterable[tuple[str, str | None]], now: dt.datetime) -> Bundle:
    """The answer to a transaction: one entry per entry sent, in its order, each its HTTP
    status and, where it can be read back, its location."""
    entries = []
    for status, location in outcomes:
        response: dict[str, Any] = {"status": status, "lastModified": _instant(now)}
        if location is not None:
            response["location"] = location
        entries.append({"response": response})
    return Bundle.model_validate(
        {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
    )


def operation_outcome(status: int, code: str, detail: str) -> OperationOutcome:
    """An error: its issue type from the HTTP status, our error code, and what went wrong."""
    return OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": v.ISSUE_TYPES.get(status, "exception"),
                    "details": {
                        "coding": [{"system": v.ERROR_SYSTEM, "code": code}],
                        "text": detail,
                    },
                }
            ],
        }
    )


_DOCUMENT_SEARCH = [
    ("patient", "reference", "The patient (Patient/<INS>)"),
    ("patient.identifier", "token", "The patient's INS: urn:oid:<INS OID>|<INS>"),
    ("status", "token", "current | superseded"),
    ("category", "token", "Our category or the ANS class code (TRE_A03)"),
    ("type", "token", "LOINC document type"),
    ("date", "date", "When the document was deposited (ge, le, gt, lt, eq)"),
    ("period", "date", "The date of the care (ge, le, gt, lt, eq)"),
    ("author", "reference", "Patient/<INS> for the patient's own notes"),
    ("author.identifier", "token", "The author's national identifier"),
]


def capability_statement(base_url: str, now: dt.datetime) -> CapabilityStatement:
    """What the doorway does: MHD's Document Recipient (ITI-65), and of the Document
    Responder ITI-67 and ITI-68, not ITI-66 (Find Document Lists): it claims the Recipient
    only."""
    return CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": now.date().isoformat(),
            "publisher": "Service central DMP",
            "kind": "instance",
            "instantiates": [
                "https://profiles.ihe.net/ITI/MHD/CapabilityStatement/IHE.MHD.DocumentRecipient",
            ],
            "software": {"name": "Service central DMP", "version": "0.1.0"},
            "implementation": {
                "description": (
                    "Porte FHIR du DMP (IHE MHD, profil PDSm de l'ANS) : ITI-65, ITI-67 et "
                    "ITI-68 ; pas ITI-66"
                ),
                "url": base_url,
            },
            "fhirVersion": v.FHIR_VERSION,
            "format": [FHIR_JSON],
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        "Chaque requête est signée par un poste enrôlé (RFC 9421) et porte le "
                        "jeton de session de l'opérateur (Authorization: Bearer)."
                    ),
                    "resource": [
                        {
                            "type": "Patient",
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "searchParam": [
                                {
                                    "name": "identifier",
                                    "type": "token",
                                    "documentation": "urn:oid:<INS OID>|<INS>",
                                }
                            ],
                        },
                        {
                            "type": "DocumentReference",
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "searchParam": [
                                {"name": name, "type": kind, "documentation": text}
                                for name, kind, text in _DOCUMENT_SEARCH
                            ],
                        },
                        {"type": "Binary", "interaction": [{"code": "read"}]},
                    ],
                    "interaction": [{"code": "transaction"}],
                }
            ],
        }
    )
