"""One document's file for an operator at a kiosk (GET /v1/dmp/{ins}/documents/{id}/content),
over HTTP on both databases: the rules, masking and trace are central.dmp.access's; and the
kiosk's own client fetches a PDF the way the counter does, in break-glass with its reason."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select

from central.audit.models import AuditEntry
from central.dmp.models import CareLine, Dmp
from dmpcommon.vocabulary import AccessMode, BreakGlassReason
from kiosk.core.errors import CentralRefusedError
from kiosk.core.ports import CareNature, DocumentKind, SummarySection
from kiosk.render import Renderer
from kiosk.sync.online import OnlineCentral
from tests.support.central import (
    Professional,
    Server,
    login,
    make_professional,
    signed_kiosk_client,
)
from tests.support.dmp import (
    JEANNE,
    PHARMACIST,
    PHYSICIAN,
    add_doc,
    create,
    patient_sets,
    patient_token,
)
from tests.support.documents import file_in, report_pdf

REPORT = report_pdf("Compte rendu de consultation", ["Tension 13/8.", "Poursuite du traitement."])


def _get(server: Server, token: str, document_id: str, **params: str) -> tuple[int, str]:
    with server.client(token) as client:
        response = client.get(
            f"/v1/dmp/{JEANNE}/documents/{document_id}/content", params=params or None
        )
    error = "" if response.status_code == 200 else str(response.json()["error"])
    return response.status_code, error


def test_a_file_reaches_only_whom_the_rules_let_in(
    server: Server, tokens: dict[str, str], physician: Professional
) -> None:
    created = create(server, tokens["pharmacist"], authorised_professionals=[PHARMACIST, PHYSICIAN])
    pdf = file_in(REPORT, "application/pdf", "compte-rendu été.pdf")
    # Masked at deposit by its author, the physician.
    by_physician = add_doc(
        server, tokens["physician"], JEANNE, "reports", "CR", file=pdf, masked_to_professionals=True
    )
    # Masked, by the pharmacist: the physician sees it once he is the treating doctor.
    by_pharmacist = add_doc(
        server, tokens["pharmacist"], JEANNE, "medications", "Bilan", masked_to_professionals=True
    )
    with server.client(tokens["physician"]) as client:
        response = client.get(f"/v1/dmp/{JEANNE}/documents/{by_physician['id']}/content")
    assert response.status_code == 200 and response.content == REPORT
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == (
        'attachment; filename="compte-rendu _t_.pdf"; '
        "filename*=UTF-8''compte-rendu%20%C3%A9t%C3%A9.pdf"
    )
    # A masked document is, for a pharmacist who did not write it, one that does not exist.
    assert _get(server, tokens["pharmacist"], by_physician["id"]) == (404, "no_document")
    assert _get(server, tokens["physician"], by_pharmacist["id"]) == (404, "no_document")
    with server.state.unit_of_work() as db:
        db.get_one(Dmp, JEANNE).treating_doctor = PHYSICIAN
    assert _get(server, login(server, physician), by_pharmacist["id"])[0] == 200
    assert _get(server, tokens["pharmacist"], by_pharmacist["id"])[0] == 200  # its author
    assert _get(server, tokens["pharmacist"], "0" * 8 + "-0000-0000-0000-" + "0" * 12) == (
        404,
        "no_document",
    )
    assert _get(server, tokens["agent"], by_pharmacist["id"]) == (
        403,
        "no_medical_content_for_agents",
    )
    assert _get(server, tokens["regulator"], by_pharmacist["id"]) == (403, "not_authorised")
    insurer = login(server, make_professional(id_nat="810100777779", structure_id="75200000000017"))
    assert _get(server, insurer, by_pharmacist["id"]) == (403, "forbidden_party")
    patient = patient_token(server, created)
    assert patient_sets(server, patient, PHARMACIST, "block").status_code == 204
    assert _get(server, tokens["pharmacist"], by_pharmacist["id"]) == (403, "blocked_by_patient")
    with server.state.sessions() as db:
        reads = db.execute(
            select(AuditEntry.actor_id, AuditEntry.outcome)
            .where(AuditEntry.action == "document_read")
            .order_by(AuditEntry.id)
        ).all()
    # Every try is in the patient's log; a refused one as refused only.
    assert [tuple(read) for read in reads] == [
        (PHYSICIAN, "allowed"),
        (PHARMACIST, "refused"),  # masked
        (PHYSICIAN, "refused"),  # masked, not yet the treating doctor
        (PHYSICIAN, "allowed"),
        (PHARMACIST, "allowed"),
        (PHARMACIST, "refused"),  # no such document
        ("3220098765ENIM42", "refused"),
        ("810100999993", "refused"),
        ("810100777779", "refused"),
        (PHARMACIST, "refused"),  # blocked
    ]


def test_the_kiosk_fetches_a_pdf_in_break_glass_as_it_opened_the_record(
    server: Server, tokens: dict[str, str]
) -> None:
    create(server, tokens["pharmacist"], authorised_professionals=[PHARMACIST])
    report = add_doc(
        server,
        tokens["pharmacist"],
        JEANNE,
        "reports",
        "Compte rendu",
        file=file_in(REPORT, "application/pdf", "cr.pdf"),
        loinc="11488-4",
    )
    today = dt.date.today()
    with server.state.unit_of_work() as db:
        for days, line_id, nature, label in (
            (40, "L1", "pharmacie", "DOLIPRANE 1000 mg, comprimé"),
            (3, "L2", "consultation", "Consultation du médecin généraliste"),
            (900, "L3", "biologie", "Hémoglobine glyquée"),  # over 24 months: not shown
        ):
            db.add(
                CareLine(
                    dmp_ins=JEANNE,
                    line_id=line_id,
                    care_date=today - dt.timedelta(days=days),
                    nature=nature,
                    code_system="CIP13" if nature == "pharmacie" else "NGAP",
                    code="3400935955838" if nature == "pharmacie" else "G",
                    label=label,
                    quantity=2 if nature == "pharmacie" else 1,
                    executant="Pharmacie du Port",
                    received_at=server.state.now(),
                )
            )
    central = OnlineCentral(signed_kiosk_client(server))
    reason = "Malaise au comptoir, patiente désorientée"
    summary = central.open_record(
        tokens["physician"],
        JEANNE,
        mode=AccessMode.BREAK_GLASS,
        reason_code=BreakGlassReason.VITAL_EMERGENCY,
        reason_text=reason,
    )
    assert [(line.nature, line.quantity) for line in summary.history()] == [
        (CareNature.CONSULTATION, 1),
        (CareNature.PHARMACY, 2),
    ]
    (listed,) = summary.documents(SummarySection.REPORTS)
    assert (listed.id, listed.kind, listed.content, listed.size) == (
        report["id"],
        DocumentKind.PDF,
        None,
        len(REPORT),
    )
    assert listed.sha256 == hashlib.sha256(REPORT).hexdigest() and listed.openable
    try:
        central.document_file(
            tokens["physician"],
            JEANNE,
            listed.id,
            mode=AccessMode.BREAK_GLASS,
            reason_code=BreakGlassReason.VITAL_EMERGENCY,
            reason_text=None,
        )
    except CentralRefusedError as exc:
        assert (exc.status, exc.reason) == (403, "reason_required")
    else:
        raise AssertionError("a break-glass read without its reason was served")
    fetched = central.document_file(
        tokens["physician"],
        JEANNE,
        listed.id,
        mode=AccessMode.BREAK_GLASS,
        reason_code=BreakGlassReason.VITAL_EMERGENCY,
        reason_text=reason,
    )
    assert fetched.data == REPORT and fetched.mime_type == "application/pdf"
    content = Renderer().read(listed.kind, fetched.data)
    assert content.page_count == 1 and content.pages[0].width == 860
    with server.state.sessions() as db:
        glass = db.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.action == "document_read", AuditEntry.outcome == "allowed"
            )
        ).all()
    assert glass == [f"{listed.id};URGENCE_VITALE: {reason}"]  # the id first, for the log
