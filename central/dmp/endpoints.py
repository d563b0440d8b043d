"""DMP endpoints for operators at a kiosk."""

from __future__ import annotations

import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from central.deps import get_state, read_body
from central.dmp.common import document_out
from central.dmp.files import MimeType
from central.dmp.repository import texts_of
from central.dmp.schemas import (
    ID_NAT,
    NIR,
    ActivationResponse,
    CreateDmpRequest,
    CreateDmpResponse,
    DocumentIn,
    DocumentOut,
    OpenRequest,
    ProfessionalStatusRequest,
    StatusResponse,
    SummaryResponse,
)
from central.errors import BadRequest
from central.state import AppState
from dmpcommon.vocabulary import REASON_TEXT_MAX, REASON_TEXT_MIN, AccessMode, BreakGlassReason

# Operators only, at an enrolled kiosk that signs each request (central.state.operator).
router = APIRouter(prefix="/v1/dmp", tags=["dmp"], dependencies=[Depends(read_body)])
State = Annotated[AppState, Depends(get_state)]
Ins = Annotated[str, Path(pattern=NIR)]
IdNat = Annotated[str, Path(pattern=ID_NAT)]
DocumentId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
# A break-glass reason is free text the patient will read in their log: in a header, not in
# the URL that access logs keep; percent-encoded UTF-8 (a header is Latin-1 at best).
REASON_HEADER = "X-DMP-Reason-Text"


@router.get("/{ins}/status", response_model=StatusResponse)
def status(ins: Ins, request: Request, state: State) -> StatusResponse:
    """The DMP's status and the operator's authorisation on it."""
    with state.operator(request) as (db, actor):
        dmp_status, authorisation = state.dmp.access.status(db, actor, ins, state.now())
    return StatusResponse(dmp=dmp_status, authorisation=authorisation, role=actor.role)


@router.post("", response_model=CreateDmpResponse, status_code=201)
def create(body: CreateDmpRequest, request: Request, state: State) -> CreateDmpResponse:
    """Create the DMP with the patient's (or representative's) consent."""
    with state.operator(request) as (db, actor):
        dmp, access, code = state.dmp.creation.create(db, actor, body.ins, body, state.now())
    return CreateDmpResponse(
        ins=dmp.ins,
        dmp=dmp.status,
        access_identifier=access.identifier,
        activation_code=code,
        activation_expires_at=access.activation_expires_at,
    )


@router.put("/{ins}/professionals/{id_nat}", status_code=204)
def set_professional(
    ins: Ins, id_nat: IdNat, body: ProfessionalStatusRequest, request: Request, state: State
) -> Response:
    """An operator authorises itself (the patient present and agreeing) or revokes its own
    authorisation; the rules refuse the rest (central.dmp.changes)."""
    with state.operator(request) as (db, actor):
        state.dmp.professionals.set_professional(
            db,
            actor,
            ins,
            id_nat,
            body.action,
            state.now(),
            patient_agreement=body.patient_agreement,
        )
    return Response(status_code=204)


@router.post("/{ins}/close", status_code=204)
def close(ins: Ins, request: Request, state: State) -> Response:
    """Close the DMP at the patient's request, the patient present."""
    with state.operator(request) as (db, actor):
        state.dmp.lifecycle.close(db, actor, ins, state.now())
    return Response(status_code=204)


@router.post("/{ins}/reopen", status_code=204)
def reopen(ins: Ins, request: Request, state: State) -> Response:
    """Reopen a closed DMP at the patient's request, the patient present."""
    with state.operator(request) as (db, actor):
        state.dmp.lifecycle.reopen(db, actor, ins, state.now())
    return Response(status_code=204)


@router.post("/{ins}/activation", response_model=ActivationResponse, status_code=201)
def reissue_activation(ins: Ins, request: Request, state: State) -> ActivationResponse:
    """A new activation code for the patient present (the old one void), for a new sheet."""
    with state.operator(request) as (db, actor):
        access, code = state.dmp.contacts.reissue_activation(db, actor, ins, state.now())
        return ActivationResponse(
            access_identifier=access.identifier,
            activation_code=code,
            activation_expires_at=access.activation_expires_at,
        )


@router.post("/{ins}/documents", response_model=DocumentOut, status_code=201)
def add_document(ins: Ins, body: DocumentIn, request: Request, state: State) -> DocumentOut:
    """Add a document, or replace one (the old version stays as history)."""
    with state.operator(request) as (db, actor):
        doc = state.dmp.documents.add_document(db, actor, ins, body, state.now())
        return document_out(doc, texts_of(db, ins, [doc]))


@router.post("/{ins}/open", response_model=SummaryResponse)
def open_record(ins: Ins, body: OpenRequest, request: Request, state: State) -> SummaryResponse:
    """Open the record's summary: normal, SAMU regulator, or break-glass with a reason."""
    with state.operator(request) as (db, actor):
        summary = state.dmp.access.open(
            db,
            actor,
            ins,
            mode=body.mode,
            reason_code=body.reason_code,
            reason_text=body.reason_text,
            now=state.now(),
        )
    return SummaryResponse(
        ins=summary.ins,
        mode=summary.mode,
        care_lines=summary.care_lines,
        **summary.sections,
    )


@router.get(
    "/{ins}/documents/{document_id}/content",
    response_class=Response,
    responses={200: {"description": "The file", "content": {m.value: {} for m in MimeType}}},
)
def document_content(
    ins: Ins,
    document_id: DocumentId,
    request: Request,
    state: State,
    mode: Annotated[AccessMode, Query()] = AccessMode.NORMAL,
    reason_code: Annotated[BreakGlassReason | None, Query()] = None,
    reason_text: Annotated[str | None, Header(alias=REASON_HEADER)] = None,
) -> Response:
    """One document's file, as the record was opened (normal, regulator, or break-glass with
    its reason again): the rules, trace and masking are central.dmp.access's."""
    text = _reason_text(reason_text)
    with state.operator(request) as (db, actor):
        doc, data = state.dmp.access.document_file(
            db,
            actor,
            ins,
            document_id,
            mode=mode,
            reason_code=reason_code,
            reason_text=text,
            now=state.now(),
        )
        mime_type, filename = doc.mime_type, doc.filename
    return Response(
        content=data,
        media_type=mime_type,
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": _attachment(filename, document_id),
        },
    )


def _reason_text(header: str | None) -> str | None:
    if header is None:
        return None
    try:
        text = urllib.parse.unquote(header, errors="strict").strip()
    except UnicodeDecodeError:
        raise BadRequest("the reason is not UTF-8", code="reason_invalid") from None
    if not REASON_TEXT_MIN <= len(text) <= REASON_TEXT_MAX:
        raise BadRequest("the reason's length is out of bounds", code="reason_invalid")
    return text


def _attachment(filename: str | None, document_id: str) -> str:
    """A download, never shown inline; an ASCII name and the exact one (RFC 6266)."""
    name = filename or document_id
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name
    )
    exact = urllib.parse.quote(name, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{exact}"
