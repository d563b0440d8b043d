"""A record with files and a care history for the kiosk's fast tests: the fake central
service answers the summary with documents of each kind and serves their files (or fails as
told), and the counter reaches the summary in one call."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from dmpcommon.vocabulary import AccessMode, BreakGlassReason, DmpStatus
from kiosk.core import Step
from kiosk.core.errors import CentralRefusedError, CentralUnreachableError
from kiosk.core.ports import (
    CareLine,
    CareNature,
    FetchedFile,
    RecordSummary,
    SummaryDocument,
    SummarySection,
)
from kiosk.render import Renderer
from tests.support.documents import cda_structured, cda_with_pdf, png, report_pdf
from tests.support.fakes import ADULT, PHARMACIST, Counter, FakeCentral, make_counter

__all__ = [
    "ADULT_INS",
    "CARE_LINES",
    "FILES",
    "RecordCentral",
    "document",
    "open_summary",
    "record_counter",
]

ADULT_INS = "279035121518989"
REPORT = report_pdf(
    "Compte rendu de consultation", ["Tension 13/8, examen sans particularité."] * 12
)
FILES = {
    "00000000-0000-4000-8000-000000000001": (
        "application/pdf",
        "urn:ihe:iti:xds-sd:pdf:2008",
        REPORT,
    ),
    "00000000-0000-4000-8000-000000000002": (
        "text/xml",
        "urn:ihe:pcc:xds-ms:2007",
        cda_structured(
            "Compte rendu de biologie",
            [("Résultats", "HbA1c 6,8 % <normale 4-6>"), ("Conclusion", "Équilibre correct.")],
            loinc="11502-2",
        ),
    ),
    "00000000-0000-4000-8000-000000000003": (
        "text/xml",
        "urn:ihe:iti:xds-sd:pdf:2008",
        cda_with_pdf(REPORT),
    ),
    "00000000-0000-4000-8000-000000000004": (
        "image/png",
        "urn:ihe:iti:xds:2017:mimeTypeSufficient",
        png((120, 80)),
    ),
}
CARE_LINES = (
    CareLine("2031-01-04", CareNature.BIOLOGY, "NABM", "1577", "Hémoglobine glyquée", 1, "Labo"),
    CareLine("2031-05-02", CareNature.PHARMACY, "CIP13", "3400935955838", "DOLIPRANE", 2, "Pha"),
    CareLine("2031-03-12", CareNature.CONSULTATION, "NGAP", "G", "Consultation", 1, "Dr X"),
)


def document(document_id: str, title: str, *, loinc: str | None = None) -> SummaryDocument:
    """A file of FILES, as the summary lists it."""
    mime_type, format_code, data = FILES[document_id]
    return SummaryDocument(
        title=title,
        document_date="2031-04-02",
        author="Dr KERGOAT",
        content=None,
        id=document_id,
        category="reports",
        loinc=loinc,
        author_role="medecin",
        mime_type=mime_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        format_code=format_code,
        filename=None,
        created_at="2031-04-02T10:00:00+00:00",
    )


PDF_ID, CDA_ID, CDA_PDF_ID, PNG_ID = FILES


@dataclass
class RecordCentral(FakeCentral):
    """The fake service with files: `fail` makes the next fetches fail (a refusal code, or
    "offline"), `tamper` sends other bytes than the listed ones."""

    fail: str | None = None
    tamper: bool = False
    fetched: list[tuple[str, AccessMode, BreakGlassReason | None, str | None]] = field(
        default_factory=list
    )

    def open_record(
        self,
        token: str,
        ins: str,
        *,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
    ) -> RecordSummary:
        base = super().open_record(
            token, ins, mode=mode, reason_code=reason_code, reason_text=reason_text
        )
        reports = (
            document(PDF_ID, "Compte rendu de consultation", loinc="11488-4"),
            document(CDA_PDF_ID, "Compte rendu d'hospitalisation", loinc="18842-5"),
        )
        exams = (
            document(CDA_ID, "Bilan biologique", loinc="11502-2"),
            document(PNG_ID, "Photographie de la lésion"),
        )
        return RecordSummary(
            mode,
            (
                *base.sections,
                (SummarySection.REPORTS, reports),
                (SummarySection.EXAM_RESULTS, exams),
            ),
            care_lines=CARE_LINES,
        )

    def document_file(
        self,
        token: str,
        ins: str,
        document_id: str,
        *,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
    ) -> FetchedFile:
        self._reachable()
        self.fetched.append((document_id, mode, reason_code, reason_text))
        if self.fail == "offline":
            raise CentralUnreachableError("ConnectionError")
        if self.fail is not None:
            raise CentralRefusedError(404 if self.fail == "no_document" else 403, self.fail, "")
        mime_type, _, data = FILES[document_id]
        return FetchedFile(mime_type, data + b" " if self.tamper else data)


def record_counter() -> tuple[Counter, RecordCentral]:
    """A counter over the fake service with files, and the real document reader."""
    counter = make_counter()
    central = RecordCentral()
    counter.central = central
    counter.workflow.central = central
    counter.workflow.reader = Renderer()
    return counter, central


def open_summary(counter: Counter, central: RecordCentral) -> None:
    """The pharmacist, authorised, opens Jeanne's record: SUMMARY."""
    central.dmps[ADULT_INS] = DmpStatus.VALID
    central.authorised[ADULT_INS] = {PHARMACIST.id_nat}
    central.qualifies(ADULT, ADULT_INS)
    if counter.workflow.step is Step.WELCOME:
        counter.login()
    counter.vitale(ADULT)
    counter.workflow.choose_holder(0)
    counter.workflow.open_record()
    assert counter.workflow.step is Step.SUMMARY, counter.workflow.notice
