"""The doorway's pure parts: an ITI-65 Bundle read into deposits, and ITI-67 search
parameters read into filters (no database, no HTTP: the HTTP module drives the rest)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from central.dmp.files import FileTooLarge
from central.dmp.models import Document
from central.dmp.schemas import Category
from central.errors import BadRequest, ServiceError
from central.fhir.provide import Unprocessable, read_bundle
from central.fhir.search import document_query, select_documents
from tests.support.documents import report_pdf
from tests.support.fhir import binary_entry, document_entry, provide_bundle

JEANNE = "279035121518989"
PDF = report_pdf("Compte rendu", ["Une ligne."])


def _bundle(**doc: Any) -> dict[str, Any]:
    binary = binary_entry(PDF, "application/pdf")
    return provide_bundle(JEANNE, (document_entry(binary, ins=JEANNE, title="CR", **doc), binary))


def _read(bundle: dict[str, Any], max_bytes: int = 1 << 20) -> Any:
    return read_bundle(json.dumps(bundle).encode(), max_bytes=max_bytes)


def test_a_bundle_becomes_its_deposits() -> None:
    bundle = _bundle(labels=("MASQUE_PS", "INVISIBLE_REPRESENTANTS_LEGAUX"))
    submission = _read(bundle)
    assert submission.patient.ins == JEANNE and submission.patient.oid == "1.2.250.1.213.1.4.10"
    ((document, checked),) = submission.documents
    assert (document.category, document.loinc, document.title) == (
        Category.REPORTS,
        "11488-4",
        "CR",
    )
    assert document.document_date == "2026-11-20"
    assert document.masked_to_professionals and document.invisible_to_representatives
    assert checked.data == PDF and checked.mime_type == "application/pdf"
    assert submission.entries == [("List", None), ("DocumentReference", 0), ("Binary", 0)]
    # Without our category, the LOINC type says where the document files.
    lab = _read(_bundle(category=None, loinc="11502-2")).documents[0][0]
    assert lab.category is Category.EXAM_RESULTS


def _broken(change: str) -> dict[str, Any]:
    bundle = _bundle()
    doc = bundle["entry"][1]["resource"]
    attachment = doc["content"][0]["attachment"]
    if change == "not a transaction":
        bundle["type"] = "batch"
    elif change == "no submission set":
        del bundle["entry"][0]
    elif change == "hash":
        attachment["hash"] = base64.b64encode(b"\0" * 20).decode()
    elif change == "size":
        attachment["size"] += 1
    elif change == "invisible to the patient":
        doc["securityLabel"] = [
            {"coding": [{"system": "urn:oid:1.2.250.1.213.1.1.4.13", "code": "INVISIBLE_PATIENT"}]}
        ]
    elif change == "no binary":
        attachment["url"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    elif change == "another patient":
        doc["subject"] = {"reference": "Patient/115063523804211"}
    elif change == "not listed":
        bundle["entry"][0]["resource"]["entry"] = []
    elif change == "no category":
        doc.pop("category")
        doc["type"]["coding"][0]["code"] = "99999-9"
    elif change == "content type":
        bundle["entry"][2]["resource"]["contentType"] = "image/png"
    elif change == "not an INS":
        doc["subject"] = {"reference": "Patient?identifier=urn:oid:1.2.3|123"}
    elif change == "two replaced":
        doc["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{u}"}}
            for u in (
                "00000000-0000-4000-8000-000000000001",
                "00000000-0000-4000-8000-000000000002",
            )
        ]
    return bundle


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        ("not a transaction", BadRequest, "not_a_transaction"),
        ("no submission set", Unprocessable, "submission_set_missing"),
        ("hash", Unprocessable, "hash_mismatch"),
        ("size", Unprocessable, "size_mismatch"),
        ("invisible to the patient", Unprocessable, "label_not_supported"),
        ("no binary", Unprocessable, "binary_missing"),
        ("another patient", Unprocessable, "patient_mismatch"),
        ("not listed", Unprocessable, "submission_set_incomplete"),
        ("no category", Unprocessable, "invalid_category"),
        ("content type", Unprocessable, "content_type_mismatch"),
        ("not an INS", BadRequest, "invalid_ins"),
        ("two replaced", Unprocessable, "relation_not_supported"),
    ],
)
def test_what_a_bundle_may_not_do(change: str, error: type[ServiceError], code: str) -> None:
    with pytest.raises(error) as refused:
        _read(_broken(change))
    assert refused.value.code == code


def test_an_oversize_file_is_refused_before_it_is_looked_at() -> None:
    with pytest.raises(FileTooLarge):
        _read(_bundle(), max_bytes=len(PDF) - 1)
    assert _read(_bundle(), max_bytes=len(PDF)).documents  # the limit itself is allowed


def _doc(**fields: Any) -> Document:
    base: dict[str, Any] = {
        "id": "d1",
        "dmp_ins": JEANNE,
        "category": "reports",
        "loinc": "11488-4",
        "author_id": "810100457828",
        "replaced_by": None,
        "created_at": dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC),
        "document_date": dt.date(2026, 11, 19),
    }
    return Document(**(base | fields))


def test_search_parameters_narrow_what_the_reader_may_see() -> None:
    docs = [
        _doc(),
        _doc(id="d2", category="medications", loinc="10160-0", replaced_by="d3"),
        _doc(id="d3", category="medications", loinc="10160-0", author_id=f"patient:{JEANNE}"),
    ]

    def ids(query: str) -> set[str]:
        pairs = [(name, value) for name, _, value in (p.partition("=") for p in query.split("&"))]
        return {d.id for d in select_documents(document_query(pairs), docs)}

    patient = f"patient.identifier=urn:oid:1.2.250.1.213.1.4.10|{JEANNE}"
    assert ids(patient) == {"d1", "d2", "d3"}
    assert ids(f"{patient}&status=current") == {"d1", "d3"}
    assert ids(f"{patient}&status=superseded") == {"d2"}
    assert ids(f"{patient}&category=medications,reports") == {"d1", "d2", "d3"}
    assert ids(f"{patient}&category=43") == {"d2", "d3"}  # the ANS class code
    assert ids(f"{patient}&type=http://loinc.org|11488-4") == {"d1"}
    assert ids(f"{patient}&type=http://snomed.info/sct|11488-4") == set()
    assert ids(f"{patient}&date=ge2026-11-20&date=le2026-11-20") == {"d1", "d2", "d3"}
    assert ids(f"{patient}&date=gt2026-11-20") == set()
    assert ids(f"{patient}&date=lt2026-11-20T23:00:00Z") == set()
    assert ids(f"{patient}&period=eq2026-11-19") == {"d1", "d2", "d3"}
    assert ids(f"patient=Patient/{JEANNE}&author=Patient/{JEANNE}") == {"d3"}
    assert ids(f"patient={JEANNE}&author.identifier=810100457828") == {"d1", "d2"}
    for wrong, code in [
        (f"{patient}&_sort=date", "search_parameter_not_supported"),
        ("status=current", "patient_required"),
        (f"{patient}&patient={JEANNE}", "patient_required"),
        (f"{patient}&status=entered-in-error", "invalid_status"),
        (f"{patient}&date=ge20261120", "invalid_date"),
        ("patient.identifier=urn:oid:1.2.250.1.213.1.4.99|279035121518989", "invalid_ins"),
        ("patient=Patient/../admin", "invalid_ins"),
    ]:
        with pytest.raises(BadRequest) as refused:
            ids(wrong)
        assert refused.value.code == code, wrong
