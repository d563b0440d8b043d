"""The summary's documents and care history, without Qt: the service's JSON read strictly,
a document opened on the workflow's thread (fetched, checked against its hash, rendered), its
failures said as codes with a retry, and nothing of it left when the patient leaves."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from central.patient import labels as portal
from dmpcommon.vocabulary import AccessMode, BreakGlassReason
from kiosk.core import DocumentFailure, Step
from kiosk.core.errors import CentralUnreachableError, DocumentUnreadableError
from kiosk.core.ports import CareNature, DocumentKind, SummarySection
from kiosk.messages import (
    CATEGORY_LABELS,
    LOINC_LABELS,
    NATURE_LABELS,
    describe_document_failure,
    document_type,
    file_kind,
)
from kiosk.render import Renderer, read_cda
from kiosk.sync.online import OnlineCentral
from tests.support.documents import XXE_CDA, cda_structured
from tests.support.fakes import AGENT
from tests.support.records import (
    CDA_ID,
    CDA_PDF_ID,
    PDF_ID,
    PNG_ID,
    document,
    open_summary,
    record_counter,
)

SHA = "ab" * 32
DOC: dict[str, Any] = {
    "id": "0f8b8f7e-3c1a-4d3e-9a51-2b7a1c9e4d10",
    "category": "reports",
    "loinc": "11488-4",
    "title": "Compte rendu",
    "content": None,
    "mime_type": "application/pdf",
    "size": 1234,
    "sha256": SHA,
    "format_code": "urn:ihe:iti:xds-sd:pdf:2008",
    "filename": "cr.pdf",
    "created_at": "2031-04-02T10:00:00Z",
    "author": "Dr KERGOAT",
    "author_role": "medecin",
    "document_date": "2031-04-02",
    "masked_to_professionals": False,
    "invisible_to_representatives": False,
    "replaces": None,
}
LINE: dict[str, Any] = {
    "line_id": "L1",
    "care_date": "2031-03-12",
    "nature": "consultation",
    "code_system": "NGAP",
    "code": "G",
    "label": "Consultation",
    "quantity": 1,
    "executant": "Dr X",
}


def _summary(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {s.value: [] for s in SummarySection}
    body |= {"ins": "279035121518989", "mode": "normal"}
    body["latest_reports"] = [copy.deepcopy(DOC)]
    body["care_lines"] = [copy.deepcopy(LINE)]
    body.update(changes)
    return body


class _Client:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def request(self, *args: object, **kwargs: object) -> dict[str, Any]:
        return self.answer


def _open(answer: dict[str, Any]) -> Any:
    central = OnlineCentral(_Client(answer))  # type: ignore[arg-type]
    return central.open_record(
        "t", "279035121518989", mode=AccessMode.NORMAL, reason_code=None, reason_text=None
    )


def test_the_summary_json_is_read_with_its_files_and_care_lines() -> None:
    summary = _open(_summary())
    (doc,) = summary.documents(SummarySection.REPORTS)
    assert (doc.kind, doc.content, doc.size, doc.sha256, doc.openable) == (
        DocumentKind.PDF,
        None,
        1234,
        SHA,
        True,
    )
    assert (document_type(doc), file_kind(doc)) == ("Compte rendu de consultation", "PDF")
    (line,) = summary.history()
    assert (line.nature, line.quantity, line.label) == (CareNature.CONSULTATION, 1, "Consultation")


def _with_doc(**changes: Any) -> dict[str, Any]:
    return _summary(latest_reports=[{**DOC, **changes}])


@pytest.mark.parametrize(
    "answer",
    [
        _with_doc(content=12),
        _with_doc(sha256="not-a-hash"),
        _with_doc(size=True),  # a JSON boolean is no size
        _with_doc(size=-1),
        _with_doc(id="../../admin"),
        _with_doc(document_date="02/04/2031"),
        {k: v for k, v in _summary().items() if k != "care_lines"},
        _summary(care_lines=[{**LINE, "nature": "astrologie"}]),
        _summary(care_lines=[{**LINE, "quantity": "2"}]),
        _summary(care_lines=["a line"]),
    ],
)
def test_a_malformed_summary_is_a_clear_error(answer: dict[str, Any]) -> None:
    with pytest.raises(CentralUnreachableError, match="unexpected answer"):
        _open(answer)


def test_the_kiosks_words_cover_the_services_care_natures() -> None:
    assert set(NATURE_LABELS) == set(CareNature)
    # The counter says what the patient's portal says (the kiosk cannot import it: a copy).
    assert {n.value: w for n, w in NATURE_LABELS.items()} == portal.NATURE_LABELS
    assert (CATEGORY_LABELS, LOINC_LABELS) == (portal.CATEGORY_LABELS, portal.LOINC_LABELS)
    for doc_id in (CDA_ID, CDA_PDF_ID, PNG_ID, PDF_ID):
        listed = document(doc_id, "x")
        assert file_kind(listed) == portal.file_kind(listed.mime_type, listed.format_code)
    assert document_type(document(PNG_ID, "Photo")) == "Comptes rendus"  # no LOINC: category
    assert file_kind(document(CDA_ID, "x")) == "CDA structuré"
    assert file_kind(document(CDA_PDF_ID, "x")) == "CDA (PDF)"
    assert file_kind(document(PNG_ID, "x")) == "image PNG"


def test_each_kind_opens_rendered_in_the_mode_of_the_opening() -> None:
    counter, central = record_counter()
    open_summary(counter, central)
    workflow = counter.workflow
    workflow.open_document(PDF_ID)
    view = workflow.view()
    assert view.step is Step.VIEWER and view.viewing is not None and view.summary is not None
    content = view.viewing.content
    assert content is not None and content.page_count == 1
    page = content.pages[0]
    assert page.width == 860 and 1210 < page.height < 1225 and page.stride >= 3 * page.width
    # Black text on white: both are there, and the title's ink near the top-left.
    assert b"\xff\xff\xff" in page.pixels and min(page.pixels) < 60
    workflow.close_document()
    assert workflow.view().step is Step.SUMMARY and workflow.view().viewing is None
    workflow.open_document(CDA_ID)
    cda = workflow.view().viewing.content.cda  # type: ignore[union-attr]
    assert cda is not None and cda.title == "Compte rendu de biologie"
    assert [(s.title, s.paragraphs) for s in cda.sections] == [
        ("Résultats", ("HbA1c 6,8 % <normale 4-6>",)),  # text, as written: escaped on screen
        ("Conclusion", ("Équilibre correct.",)),
    ]
    workflow.back()
    workflow.open_document(CDA_PDF_ID)
    both = workflow.view().viewing.content  # type: ignore[union-attr]
    assert both is not None and both.kind is DocumentKind.CDA and len(both.pages) == 1
    workflow.back()
    workflow.open_document(PNG_ID)
    image = workflow.view().viewing.content  # type: ignore[union-attr]
    assert image is not None and image.image is not None and image.image.startswith(b"\x89PNG")
    assert {f[1:] for f in central.fetched} == {(AccessMode.NORMAL, None, None)}
    workflow.finish()  # the patient leaves: the document, the summary and the mode go
    view = workflow.view()
    assert (view.step, view.viewing, view.summary) == (Step.READY, None, None)
    assert workflow._opened_with is None  # noqa: SLF001


def test_a_failed_fetch_says_why_and_tries_again() -> None:
    counter, central = record_counter()
    open_summary(counter, central)
    workflow = counter.workflow
    for fail, tamper, failure in (
        ("offline", False, DocumentFailure.UNREACHABLE),
        ("no_document", False, DocumentFailure.NOT_FOUND),
        ("blocked_by_patient", False, DocumentFailure.REFUSED),
        (None, True, DocumentFailure.CORRUPT),
    ):
        central.fail, central.tamper = fail, tamper
        workflow.open_document(
            PDF_ID
        ) if workflow.step is Step.SUMMARY else workflow.retry_document()
        viewing = workflow.view().viewing
        assert viewing is not None and (viewing.failure, viewing.content) == (failure, None)
        assert describe_document_failure(failure, viewing.reason).endswith(".")
    assert "bloqué" in describe_document_failure(DocumentFailure.REFUSED, "blocked_by_patient")
    central.fail, central.tamper = None, False
    workflow.retry_document()  # "Réessayer"
    viewing = workflow.view().viewing
    assert viewing is not None and viewing.failure is None and viewing.content is not None


def test_an_unreadable_file_and_an_unknown_id_open_nothing() -> None:
    counter, central = record_counter()
    open_summary(counter, central)
    workflow = counter.workflow
    workflow.open_document("00000000-0000-4000-8000-00000000dead")  # not in the summary
    assert workflow.step is Step.SUMMARY and not central.fetched
    workflow.reader = None  # a kiosk without a reader lists documents, opens none
    workflow.open_document(PDF_ID)
    assert workflow.view().viewing.failure is DocumentFailure.UNREADABLE  # type: ignore[union-attr]
    with pytest.raises(DocumentUnreadableError):
        Renderer().read(DocumentKind.PDF, b"%PDF-1.4 not really")
    with pytest.raises(DocumentUnreadableError):
        read_cda(XXE_CDA)  # a DTD and an entity: refused, never resolved
    with pytest.raises(DocumentUnreadableError):
        read_cda(b"<html/>")


def test_break_glass_documents_are_fetched_with_the_reason_again() -> None:
    counter, central = record_counter()
    open_summary(counter, central)
    workflow = counter.workflow
    workflow.back()
    central.authorised.clear()
    workflow._refresh_status()  # noqa: SLF001  (no longer authorised: break-glass offered)
    workflow.ask_break_glass()
    workflow.open_record(AccessMode.BREAK_GLASS, BreakGlassReason.OTHER, "  Chute, confuse  ")
    workflow.open_document(CDA_ID)
    assert central.fetched == [
        (CDA_ID, AccessMode.BREAK_GLASS, BreakGlassReason.OTHER, "Chute, confuse")
    ]


def test_an_agent_never_reaches_a_document() -> None:
    counter, central = record_counter()
    counter.login(AGENT)
    open_record_refused = pytest.raises(AssertionError)
    with open_record_refused:
        open_summary(counter, central)
    counter.workflow.open_document(PDF_ID)
    assert counter.workflow.step is Step.PATIENT and not central.fetched
    assert counter.workflow.view().viewing is None


def test_cda_narrative_blocks_become_paragraphs() -> None:
    cda = cda_structured(
        "Synthèse",
        [("Traitements", "Metformine 500 mg"), ("Allergies", "Pénicilline")],
    ).replace(
        b"<text>Metformine 500 mg</text>",
        b"<text>Avant<list><item>Metformine 500 mg</item><item>Ramipril <content>5 mg"
        b"</content></item></list><table><tr><th>Dose</th><td>1 cp</td></tr></table>"
        b"<paragraph>Ligne 1<br/>Ligne 2</paragraph></text>",
    )
    read, pdf = read_cda(cda)
    assert pdf is None and read.sections[0].paragraphs == (
        "Avant",
        "• Metformine 500 mg",
        "• Ramipril 5 mg",
        "Dose | 1 cp",
        "Ligne 1\nLigne 2",
    )
