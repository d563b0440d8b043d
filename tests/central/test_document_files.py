"""Documents are files, each checked for what it claims to be before anything is stored, and
checked against its hash when read back.

The checks themselves are pure and tested fast; the refusals over HTTP run on both databases
and show that nothing was stored."""

from __future__ import annotations

import io
from typing import Any

import pytest
from alembic import command
from PIL import Image
from sqlalchemy import create_engine, func, select, text

from central.dmp import repository
from central.dmp.documents import file_of
from central.dmp.files import FileTooLarge, FormatCode, MimeType, check_file
from central.dmp.models import Document, DocumentFile
from central.dmp.schemas import Category, DocumentIn, FileIn
from central.errors import BadRequest
from central.limits import RouteLimits
from central.migrate import alembic_config
from tests.support.central import Server, login, make_professional, sqlite_only
from tests.support.dmp import JEANNE, PHARMACIST, PHYSICIAN, add_doc, create, open_record
from tests.support.documents import (
    XXE_CDA,
    cda_structured,
    cda_with_pdf,
    file_in,
    jpeg,
    png,
    report_pdf,
)

REPORT = report_pdf("Compte rendu de consultation", ["Tension 13/8.", "Poursuite du traitement."])


@pytest.mark.parametrize(
    ("data", "declared", "mime", "format_code"),
    [
        (REPORT, "application/pdf", MimeType.PDF, FormatCode.PDF),
        (cda_structured(), "text/xml", MimeType.CDA, FormatCode.CDA_STRUCTURED),
        (cda_structured(), "application/xml", MimeType.CDA, FormatCode.CDA_STRUCTURED),
        (cda_with_pdf(REPORT), "text/xml", MimeType.CDA, FormatCode.PDF),
        ("Allergie à la pénicilline".encode(), "text/plain; charset=utf-8", MimeType.TEXT, None),
        (png(), "image/png", MimeType.PNG, FormatCode.MIME_SUFFICIENT),
        (jpeg(), "IMAGE/JPEG", MimeType.JPEG, FormatCode.MIME_SUFFICIENT),
    ],
)
def test_each_kind_of_file_is_accepted_for_what_it_is(
    data: bytes, declared: str, mime: MimeType, format_code: FormatCode | None
) -> None:
    checked = check_file(data, declared)
    assert checked.mime_type is mime
    assert checked.format_code is (format_code or FormatCode.TEXT)
    assert checked.size == len(data) and len(checked.sha256) == 64


def _bomb_png() -> bytes:
    """8,000 × 8,000 pixels in a few kilobytes: decoding it would take the memory."""
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")
    return out.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol2;</title></ClinicalDocument>"""
BROKEN_PDF_BODY = cda_with_pdf(b"%PDF-1.4 not really a PDF at all")


@pytest.mark.parametrize(
    ("data", "declared", "code"),
    [
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "application/pdf", "not_a_pdf"),
        (REPORT[: len(REPORT) // 2], "application/pdf", "not_a_pdf"),  # cut in transit
        (png(), "application/pdf", "not_a_pdf"),
        (XXE_CDA, "text/xml", "xml_forbidden_construct"),
        (BILLION_LAUGHS, "text/xml", "xml_forbidden_construct"),
        (b"<ClinicalDocument xmlns='urn:hl7-org:v3'><unclosed>", "text/xml", "xml_malformed"),
        (b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "text/xml", "not_a_cda"),
        (BROKEN_PDF_BODY, "text/xml", "not_a_pdf"),
        (png(), "image/jpeg", "not_an_image"),  # a PNG is not a JPEG
        (b"\xff\xd8\xff\xe0 this is not a JPEG", "image/jpeg", "not_an_image"),
        (_bomb_png(), "image/png", "image_too_large"),
        (b"\xff\xfe\x00a", "text/plain", "text_not_utf8"),
        (b"", "application/pdf", "file_empty"),
        (b"MZ\x90\x00", "application/x-msdownload", "file_type_not_accepted"),
        (b"<svg/>", "image/svg+xml", "file_type_not_accepted"),  # scripts in an image: no
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused_with_its_reason(
    data: bytes, declared: str, code: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        check_file(data, declared)
    assert refused.value.code == code


def test_a_file_over_the_limit_is_refused_before_it_is_read() -> None:
    with pytest.raises(FileTooLarge) as refused:
        check_file(REPORT, "application/pdf", max_bytes=len(REPORT) - 1)
    assert refused.value.status_code == 413
    assert check_file(REPORT, "application/pdf", max_bytes=len(REPORT)).size == len(REPORT)


def _stored(server: Server) -> tuple[int, int]:
    with server.state.sessions() as db:
        documents = db.scalar(select(func.count()).select_from(Document)) or 0
        files = db.scalar(select(func.count()).select_from(DocumentFile)) or 0
    return documents, files


def _post_file(server: Server, token: str, file: dict[str, str]) -> tuple[int, str]:
    body = {
        "category": "reports",
        "title": "Compte rendu",
        "document_date": "2026-11-30",
        "file": file,
    }
    with server.client(token) as client:
        response = client.post(f"/v1/dmp/{JEANNE}/documents", json=body)
    return response.status_code, str(response.json().get("error", ""))


def test_files_are_deposited_checked_and_refused_whole_over_http(
    server: Server, tokens: dict[str, str]
) -> None:
    create(server, tokens["pharmacist"], authorised_professionals=[PHARMACIST, PHYSICIAN])
    physician = tokens["physician"]
    before = _stored(server)
    refusals: list[tuple[dict[str, Any], int, str]] = [
        (file_in(b"%PDF-1.4 broken", "application/pdf"), 400, "not_a_pdf"),
        (file_in(XXE_CDA, "text/xml"), 400, "xml_forbidden_construct"),
        (file_in(png(), "image/jpeg"), 400, "not_an_image"),
        ({"mime_type": "application/pdf", "data_base64": "%%%%not base64"}, 400, "file_not_base64"),
    ]
    for file, status, code in refusals:
        assert _post_file(server, physician, file) == (status, code)
    assert _stored(server) == before  # nothing stored
    # Both a text and a file: one or the other.
    both = {
        "category": "reports",
        "title": "x",
        "content": "x",
        "document_date": "2026-11-30",
        "file": file_in(REPORT, "application/pdf"),
    }
    with server.client(physician) as client:
        response = client.post(f"/v1/dmp/{JEANNE}/documents", json=both)
    assert (response.status_code, response.json()["error"]) == (400, "content_or_file")

    added = add_doc(
        server,
        physician,
        JEANNE,
        "reports",
        "Compte rendu de consultation",
        file=file_in(REPORT, "application/pdf", "cr-consultation.pdf"),
    )
    assert added["mime_type"] == "application/pdf" and added["size"] == len(REPORT)
    assert added["content"] is None and added["filename"] == "cr-consultation.pdf"
    assert added["format_code"] == FormatCode.PDF.value
    # The same bytes deposited again (a resend by the software) are stored once.
    add_doc(server, physician, JEANNE, "reports", "Copie", file=file_in(REPORT, "application/pdf"))
    assert _stored(server) == (before[0] + 2, before[1] + 1)
    _, summary = open_record(server, tokens["pharmacist"], JEANNE)
    shown = {d["title"]: d for d in summary["latest_reports"]}
    assert shown["Compte rendu de consultation"]["sha256"] == added["sha256"]


def test_a_file_changed_behind_the_service_is_never_served(
    server: Server, tokens: dict[str, str]
) -> None:
    create(server, tokens["pharmacist"], authorised_professionals=[PHARMACIST, PHYSICIAN])
    added = add_doc(
        server,
        tokens["physician"],
        JEANNE,
        "reports",
        "CR",
        file=file_in(REPORT, "application/pdf"),
    )
    note = add_doc(server, tokens["physician"], JEANNE, "other", "Note")
    with server.state.sessions() as db, db.begin():
        for doc_id in (added["id"], note["id"]):
            doc = db.get(Document, (doc_id, JEANNE))
            assert doc is not None
            row = db.get(DocumentFile, (JEANNE, doc.sha256))
            assert row is not None
            row.data = row.data + b"!" if doc_id == note["id"] else b"%PDF-x"
    with server.state.sessions() as db:
        doc = db.get(Document, (added["id"], JEANNE))
        assert doc is not None
        with pytest.raises(repository.FileCorrupt):
            repository.read_file(db, doc)
    # A text's content: the same check; the rest of the summary is still served.
    _, summary = open_record(server, tokens["pharmacist"], JEANNE)
    assert [d["content"] for d in summary["other"]] == [None]
    assert [d["title"] for d in summary["latest_reports"]] == ["CR"]


def test_room_for_a_20_mb_file_and_no_more() -> None:
    """The body limit leaves room for the largest file in base64, and the file's own limit
    is checked on the base64's length before decoding a byte."""
    limits = RouteLimits.for_files_of(20 * 1024 * 1024)
    assert 20 * 1024 * 1024 * 4 // 3 < limits.for_path(f"/v1/dmp/{JEANNE}/documents") < 30 << 20
    assert limits.for_path("/fhir") == limits.document
    assert limits.for_path("/v1/identity/qualify") == 64 * 1024
    body = DocumentIn(
        category=Category.REPORTS,
        title="CR",
        document_date="2026-11-30",
        file=FileIn(**file_in(REPORT, "application/pdf")),
    )
    assert file_of(body, max_bytes=len(REPORT)).size == len(REPORT)
    with pytest.raises(FileTooLarge):
        file_of(body, max_bytes=len(REPORT) - 3)


def test_the_texts_written_before_files_become_text_files_and_back(
    server: Server, tokens: dict[str, str]
) -> None:
    """Migration 0013 turns each document's text into a text/plain file (the same text twice
    stored once), and its downgrade gives the texts back."""
    create(server, tokens["pharmacist"], authorised_professionals=[PHARMACIST, PHYSICIAN])
    for title in ("Allergie : pénicilline", "Allergie : pénicilline", "Vaccin grippe"):
        older = add_doc(server, tokens["physician"], JEANNE, "other", title)
    newer = add_doc(
        server,
        tokens["physician"],
        JEANNE,
        "other",
        "Vaccin grippe",
        replaces=older["id"],
        masked_to_professionals=True,
    )
    url = server.state.settings.database_url
    command.downgrade(alembic_config(url, audit_key=server.state.sealer.key), "0012")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            texts = sorted(conn.execute(text("SELECT content FROM documents")).scalars())
        assert texts == [
            "contenu : Allergie : pénicilline",
            "contenu : Allergie : pénicilline",
            "contenu : Vaccin grippe",
            "contenu : Vaccin grippe",
        ]
        with engine.begin() as conn:  # as the service left a chain before: the old version bare
            conn.execute(
                text("UPDATE documents SET masked_to_professionals = false WHERE id = :id"),
                {"id": older["id"]},
            )
        command.upgrade(alembic_config(url), "head")
    finally:
        engine.dispose()
    with server.state.sessions() as db:
        docs = list(db.scalars(select(Document)))
        assert {d.mime_type for d in docs} == {"text/plain"}
        chain = {d.id: d.masked_to_professionals for d in docs if d.title == "Vaccin grippe"}
        assert chain == {older["id"]: True, newer["id"]: True}  # the mask covers the chain
        assert db.scalar(select(func.count()).select_from(DocumentFile)) == 2
        assert sorted(repository.texts_of(db, JEANNE, docs).values()) == [
            "contenu : Allergie : pénicilline",
            "contenu : Vaccin grippe",
        ]


@sqlite_only
def test_a_forbidden_party_depositing_learns_nothing_of_whether_a_record_exists(
    server: Server, tokens: dict[str, str]
) -> None:
    create(server, tokens["pharmacist"])
    insurer = login(server, make_professional(id_nat="810100777779", structure_id="75200000000017"))
    body = {
        "category": "reports",
        "title": "Compte rendu",
        "document_date": "2026-11-30",
        "file": file_in(REPORT, "application/pdf"),
    }
    answers = []
    for ins in (JEANNE, "180017512345632"):  # a record, and none
        with server.client(insurer) as client:
            response = client.post(f"/v1/dmp/{ins}/documents", json=body)
        answers.append((response.status_code, response.json()["error"]))
    assert answers == [(403, "forbidden_party")] * 2
