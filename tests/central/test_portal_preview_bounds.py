"""A PDF deposited to stop the service (a few kilobytes whose page takes PDFium minutes and
gigabytes to draw) costs the portal one bounded child process: the document's page says the
preview is unavailable, its page image is refused at once, and the service keeps answering
while several such renders are asked at once. An ordinary PDF is still drawn. One service on
SQLite for the module (the database plays no part)."""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from PIL import Image

from central.config import Settings
from central.dmp.models import Dmp
from central.migrate import upgrade
from central.portal import preview
from central.portal.web import COOKIE
from dmpcommon import pdf_sandbox
from tests.support.central import Professional, Server, login, start_server
from tests.support.dmp import JEANNE, PHYSICIAN, add_doc, create, patient_token
from tests.support.documents import file_in, pdf_bomb, report_pdf

UNAVAILABLE = "Aperçu indisponible : téléchargez le document pour le lire."
BOMBS = 8  # asked at once, each a different file


@dataclass
class Site:
    server: Server
    portal: httpx.Client  # Jeanne's portal session
    report: str  # an ordinary PDF's document id
    bomb: str  # the bomb Jeanne deposited herself
    bombs: list[str]  # others, by her doctor


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, identities: Path, physician: Professional
) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("preview_bounds")
    url = f"sqlite:///{home / 'central.db'}"
    upgrade(url)
    server = start_server(
        Settings(db=url, identities=identities, home=home, portal_url="http://portail.test/p")
    )
    try:
        doctor = login(server, physician)
        patient = patient_token(server, create(server, doctor, JEANNE, treating_doctor=PHYSICIAN))
        with server.state.sessions() as db, db.begin():  # a contact: the portal opens the record
            record = db.get(Dmp, JEANNE)
            assert record is not None
            record.notify_channel, record.notify_address = "email", "jeanne@example.org"
        with server.client(patient) as client:  # a patient may deposit it: it passes the check
            answer = client.post(
                "/v1/patient/documents",
                json={
                    "category": "other",
                    "title": "Ma note",
                    "document_date": "2026-11-01",
                    "file": {
                        "mime_type": "application/pdf",
                        "data_base64": base64.b64encode(pdf_bomb()).decode(),
                        "filename": "note.pdf",
                    },
                },
            )
        assert answer.status_code == 201, answer.text
        report = add_doc(
            server,
            doctor,
            JEANNE,
            "reports",
            "Compte rendu",
            file=file_in(report_pdf("Compte rendu", ["Tension normale."]), "application/pdf"),
        )
        bombs = [
            add_doc(
                server,
                doctor,
                JEANNE,
                "reports",
                f"Bombe {n}",
                file=file_in(pdf_bomb(tag=f"b{n}"), "application/pdf"),
            )["id"]
            for n in range(BOMBS)
        ]
        portal = httpx.Client(base_url=server.url, cookies={COOKIE: patient}, timeout=30)
        yield Site(server, portal, report["id"], answer.json()["id"], bombs)
        portal.close()
    finally:
        server.stop()


def test_an_ordinary_pdf_is_drawn_and_its_text_shown(site: Site) -> None:
    page = site.portal.get(f"/patient/document/{site.report}")
    assert page.status_code == 200 and "Tension normale." in page.text
    assert UNAVAILABLE not in page.text
    image = site.portal.get(f"/patient/document/{site.report}/page/1.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    drawn = Image.open(io.BytesIO(image.content)).convert("L")
    assert drawn.width == 1000
    low, high = cast(tuple[int, int], drawn.getextrema())
    assert high == 255 and low < 100  # a white page with dark text on it
    assert site.portal.get(f"/patient/document/{site.report}/page/2.png").status_code == 404


def test_a_pdf_bomb_shows_no_preview_and_its_image_is_refused(site: Site) -> None:
    started = time.monotonic()
    page = site.portal.get(f"/patient/document/{site.bomb}")
    took = time.monotonic() - started
    assert page.status_code == 200 and UNAVAILABLE in page.text
    assert f"/patient/document/{site.bomb}/fichier" in page.text  # the download stays
    assert took < pdf_sandbox.TIMEOUT_S * 3  # the child killed at 5 s, not minutes
    started = time.monotonic()
    image = site.portal.get(f"/patient/document/{site.bomb}/page/1.png")
    assert image.status_code == 404
    assert time.monotonic() - started < pdf_sandbox.TIMEOUT_S  # its failure remembered


def test_the_service_answers_while_bombs_are_drawn(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses: list[int] = []
    drawing, most = 0, 0
    lock = threading.Lock()
    render = pdf_sandbox.render

    def counted(pdf: bytes, job: pdf_sandbox.Job, **limits: Any) -> pdf_sandbox.Rendered:
        nonlocal drawing, most
        with lock:
            drawing += 1
            most = max(most, drawing)
        try:
            return render(pdf, job, **limits)
        finally:
            with lock:
                drawing -= 1

    monkeypatch.setattr(pdf_sandbox, "render", counted)

    def ask(document: str) -> None:
        with httpx.Client(base_url=site.server.url, cookies=site.portal.cookies, timeout=60) as c:
            statuses.append(c.get(f"/patient/document/{document}/page/1.png").status_code)

    started = time.monotonic()
    askers = [threading.Thread(target=ask, args=(doc,)) for doc in site.bombs]
    for asker in askers:
        asker.start()
    health: list[float] = []
    while any(asker.is_alive() for asker in askers) and len(health) < 20:
        asked = time.monotonic()
        assert site.portal.get("/health").status_code == 200
        health.append(time.monotonic() - asked)
        time.sleep(0.2)
    for asker in askers:
        asker.join(30)
    assert statuses == [404] * BOMBS
    assert time.monotonic() - started < pdf_sandbox.TIMEOUT_S * 3
    assert health and max(health) < 1.0
    # at most MAX_RENDERS children drew at once: the others were refused, not queued
    assert 1 <= most <= preview.MAX_RENDERS < BOMBS
