"""The patient's documents in the portal: a document's page (its metadata, its first pages,
its structured text), its file downloaded, the whole record downloaded as one ZIP, and the
care history in full.

Every read goes through the service's one read path (central.patient.record, over
central.dmp.access): a document of another record, or one hidden from a legal representative
who asks, is "introuvable". Nothing here changes anything: these are GETs. A record without a
way back in yet (no contact) opens none of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from central.actors import Actor
from central.dmp.common import document_out
from central.dmp.files import MimeType
from central.dmp.models import Document
from central.errors import NotFound, Unauthenticated
from central.patient import record
from central.patient.export import (
    archive_name,
    content_disposition,
    content_type,
    download_name,
    whole_record,
)
from central.portal.preview import MAX_PAGES, page_png, pdf_of, preview_of
from central.portal.web import (
    State,
    has_contact,
    logged_patient,
    login_form,
    render_patient,
    router,
)
from central.portal.wording import refusal
from central.state import AppState

DocumentId = Annotated[str, Path(min_length=36, max_length=36)]
# Sent as files, never kept: the service's headers say so too (central.http_security).
_PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class _Gated(Exception):
    """The record has no way back in yet: the first-contact page first."""


@contextmanager
def _reading(request: Request, state: AppState) -> Iterator[tuple[Session, Actor]]:
    """The logged-in patient, once their record has a contact."""
    with logged_patient(request, state) as (db, actor):
        if not has_contact(db, actor):
            raise _Gated
        yield db, actor


def _refused(request: Request, state: AppState, exc: Exception) -> Response:
    """What a refused read shows: the log-in page, the first-contact page, or the record
    saying the document cannot be found."""
    if isinstance(exc, Unauthenticated):
        return login_form(request, exc.detail, 401)
    if isinstance(exc, _Gated):
        return RedirectResponse("/patient/premier-contact", status_code=303)
    return render_patient(request, state, "record.html", alert=refusal("no_document"), status=404)


def _read(request: Request, state: AppState, document_id: str) -> tuple[Document, bytes] | Response:
    try:
        with _reading(request, state) as (db, actor):
            return record.read_document(db, actor, state.dmp.access, document_id, state.now())
    except (Unauthenticated, _Gated, NotFound) as exc:
        return _refused(request, state, exc)


@router.get("/document/{document_id}", response_class=HTMLResponse)
def document_page(document_id: DocumentId, request: Request, state: State) -> Response:
    """A document: what it is, who wrote it and when, and what it says."""
    read = _read(request, state, document_id)
    if isinstance(read, Response):
        return read
    doc, data = read
    return render_patient(
        request,
        state,
        "document.html",
        doc=document_out(doc, {}),
        preview=preview_of(doc.mime_type, doc.format_code, data),
        max_pages=MAX_PAGES,
    )


@router.get("/document/{document_id}/fichier")
def document_file(document_id: DocumentId, request: Request, state: State) -> Response:
    """The document's file, to save (a text as a .txt, a CDA as its XML)."""
    read = _read(request, state, document_id)
    if isinstance(read, Response):
        return read
    doc, data = read
    return Response(
        data,
        media_type=content_type(doc.mime_type),
        headers={
            "Content-Disposition": content_disposition(download_name(document_out(doc, {}))),
            **_PRIVATE,
        },
    )


@router.get("/document/{document_id}/image")
def document_image(document_id: DocumentId, request: Request, state: State) -> Response:
    """An image document, shown in its page."""
    read = _read(request, state, document_id)
    if isinstance(read, Response):
        return read
    doc, data = read
    if doc.mime_type not in (MimeType.JPEG.value, MimeType.PNG.value):
        return Response(status_code=404, headers=_PRIVATE)
    name = download_name(document_out(doc, {}))
    return Response(
        data,
        media_type=doc.mime_type,
        headers={"Content-Disposition": content_disposition(name, inline=True), **_PRIVATE},
    )


@router.get("/document/{document_id}/page/{number}.png")
def document_page_image(
    document_id: DocumentId,
    number: Annotated[int, Path(ge=1, le=MAX_PAGES)],
    request: Request,
    state: State,
) -> Response:
    """One of the first pages of a PDF document (or of a CDA carrying one), as an image."""
    read = _read(request, state, document_id)
    if isinstance(read, Response):
        return read
    doc, data = read
    pdf = pdf_of(doc.mime_type, doc.format_code, data)
    image = page_png(pdf, number - 1) if pdf is not None else None
    if image is None:
        return Response(status_code=404, headers=_PRIVATE)
    return Response(image, media_type="image/png", headers=_PRIVATE)


@router.get("/dossier/telechargement")
def download_record(request: Request, state: State) -> Response:
    """The whole record as one ZIP: an index in French (index.html, documents.csv,
    soins.csv) and every document's file, written as it is sent."""
    now = state.now()
    try:
        with _reading(request, state) as (db, actor):
            chunks = whole_record(db, actor, state.dmp.access, state.sessions, now)
    except (Unauthenticated, _Gated) as exc:
        return _refused(request, state, exc)
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(archive_name(now)), **_PRIVATE},
    )


@router.get("/soins", response_class=HTMLResponse)
def care_page(request: Request, state: State) -> Response:
    """The reimbursed care of the last 24 months, every line."""
    return render_patient(request, state, "care.html")
