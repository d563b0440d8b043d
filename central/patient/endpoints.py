"""The patient's API: log-in by activation or one-time code, then their own record."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import StreamingResponse

from central.actors import Actor
from central.deps import get_state
from central.dmp.common import document_out
from central.dmp.repository import texts_of
from central.dmp.schemas import (
    ID_NAT,
    DocumentIn,
    DocumentOut,
    EmergencyChoices,
    NotificationContact,
    ProfessionalStatusRequest,
)
from central.errors import BadRequest, Unauthenticated
from central.patient import record
from central.patient.export import (
    archive_name,
    content_disposition,
    content_type,
    download_name,
    whole_record,
)
from central.patient.online_creation import Proof
from central.patient.schemas import (
    AccessLogEntry,
    ActivateRequest,
    CodeRequest,
    ContactConfirmation,
    LoginRequest,
    MaskRequest,
    NotificationPreferences,
    OnlineCreationConfirmation,
    OnlineCreationProof,
    OnlineCreationRequest,
    PatientRecord,
    RecordChoice,
    RecordChoices,
    TokenResponse,
    TreatingDoctorRequest,
)
from central.patient.service import role_on
from central.state import AppState, bearer
from dmpcommon.identifiers import IdentifierError, id_nat_of_rpps

router = APIRouter(prefix="/v1/patient", tags=["patient"])
State = Annotated[AppState, Depends(get_state)]
IdNat = Annotated[str, Path(pattern=ID_NAT)]
DocumentId = Annotated[str, Path(min_length=36, max_length=36)]


@router.post("/activate", response_model=TokenResponse)
def activate(body: ActivateRequest, request: Request, state: State) -> TokenResponse:
    """First log-in with the access sheet's identifier and provisional code."""
    with state.unit_of_work() as db:
        attempt = state.patients.activate(
            db,
            body.identifier,
            body.code,
            body.birth_date,
            state.now(),
            source=source_of(request),
        )
    return TokenResponse(token=attempt.token_or_raise())  # a failed try is committed first


@router.post("/code", status_code=202)
def request_code(body: CodeRequest, request: Request, state: State) -> dict[str, str]:
    """Send a one-time code to the record's contact (the answer never says if it exists)."""
    with state.unit_of_work() as db:
        state.patients.request_code(
            db, body.ins, body.birth_date, state.now(), source=source_of(request)
        )
    return {"status": "sent_if_known"}


@router.post("/creation", status_code=202)
def ask_creation(body: OnlineCreationRequest, request: Request, state: State) -> Response:
    """Self-creation: the NIR, birth date and Vitale serial prove who asks; a code goes to
    the contact given. Nothing is created before it comes back."""
    with state.unit_of_work() as db:
        refusal = state.online_creations.ask(
            db,
            _proof(body),
            information_version=body.information_version,
            contact=body.contact,
            emergency=body.emergency,
            now=state.now(),
            source=source_of(request),
        )
    if refusal is not None:  # the failed proof is counted first
        raise refusal
    return Response(status_code=202)


@router.post("/creation/confirm", response_model=TokenResponse, status_code=201)
def confirm_creation(
    body: OnlineCreationConfirmation, request: Request, state: State
) -> TokenResponse:
    """The code sent to the contact: the DMP is created and the patient logged in."""
    with state.unit_of_work() as db:
        attempt = state.online_creations.confirm(
            db, _proof(body), body.code, state.now(), source=source_of(request)
        )
    return TokenResponse(token=attempt.token_or_raise())  # a failed try is committed first


def source_of(request: Request) -> str:
    """The request's source, which the doors' throttles count (behind a proxy, the proxy's
    unless uvicorn is told to trust its X-Forwarded-For). An IPv6 source counts by its /64:
    one subscriber holds a whole /64, and would otherwise pass for millions of sources."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _proof(body: OnlineCreationProof) -> Proof:
    return Proof(nir=body.nir, birth_date=body.birth_date, vitale_serial=body.vitale_serial)


@router.post("/login", response_model=TokenResponse)
def login(body: LoginRequest, request: Request, state: State) -> TokenResponse:
    """Log in with the one-time code."""
    with state.unit_of_work() as db:
        attempt = state.patients.verify_code(
            db, body.ins, body.birth_date, body.code, state.now(), source=source_of(request)
        )
    return TokenResponse(token=attempt.token_or_raise())  # a failed try is committed first


@router.post("/logout", status_code=204)
def logout(request: Request, state: State) -> Response:
    with state.unit_of_work() as db:
        state.patients.logout(db, bearer(request), state.now())
    return Response(status_code=204)


@router.get("/record", response_model=PatientRecord)
def read_record(request: Request, state: State) -> PatientRecord:
    """The whole record."""
    with state.patient(request) as (db, actor):
        return record.read_record(db, actor, state.now())


@router.get("/records", response_model=RecordChoices)
def records(request: Request, state: State) -> RecordChoices:
    """The record shown and the others this person may open (a parent: their children's)."""
    with state.unit_of_work() as db:
        seen = state.patients.viewing(db, bearer(request), state.now())
        shown = [(seen.dmp, True)] + [(other, False) for other in seen.others]
        return RecordChoices(
            records=[
                RecordChoice(
                    ins=dmp.ins,
                    nom=dmp.nom,
                    prenom=dmp.prenom,
                    current=current,
                    role=role_on(dmp, state.now().date()).value,
                )
                for dmp, current in shown
            ]
        )


@router.put("/records/{ins}/current", status_code=204)
def choose_record(
    ins: Annotated[str, Path(max_length=15)], request: Request, state: State
) -> Response:
    """Show another record this person may open; refused (403) for any other."""
    with state.unit_of_work() as db:
        state.patients.choose(db, bearer(request), ins, state.now())
    return Response(status_code=204)


@router.get("/access-log", response_model=list[AccessLogEntry])
def access_log(request: Request, state: State) -> list[AccessLogEntry]:
    """Who read the record, in which role and mode."""
    with state.patient(request) as (db, actor):
        return record.access_log(db, actor)


@router.put("/professionals/{id_nat}", status_code=204)
def set_professional(
    id_nat: IdNat, body: ProfessionalStatusRequest, request: Request, state: State
) -> Response:
    """Authorise, revoke, block or unblock a professional."""
    with state.patient(request) as (db, actor):
        state.dmp.professionals.set_professional(
            db, actor, _own(actor), id_nat, body.action, state.now()
        )
    return Response(status_code=204)


@router.put("/emergency", status_code=204)
def set_emergency(body: EmergencyChoices, request: Request, state: State) -> Response:
    """Change the emergency choices."""
    with state.patient(request) as (db, actor):
        record.set_emergency(db, actor, body, state.now())
    return Response(status_code=204)


@router.put("/notifications", status_code=204)
def set_notifications(body: NotificationPreferences, request: Request, state: State) -> Response:
    """Change which events are notified (a new contact goes through /contact)."""
    with state.patient(request) as (db, actor):
        record.set_notifications(db, actor, body, state.now())
    return Response(status_code=204)


@router.post("/contact", status_code=202)
def ask_contact_change(body: NotificationContact, request: Request, state: State) -> Response:
    """A new contact: a code is sent there; it changes once the code comes back."""
    with state.patient(request) as (db, actor):
        state.dmp.contacts.ask_change(db, actor, body, state.now())
    return Response(status_code=202)


@router.post("/contact/confirm", status_code=204)
def confirm_contact_change(body: ContactConfirmation, request: Request, state: State) -> Response:
    """The code sent to the new contact: the contact changes, the old one is told."""
    with state.patient(request) as (db, actor):
        refusal = state.dmp.contacts.confirm_change(db, actor, body.code, state.now())
    if refusal is not None:  # the failed try is committed first
        raise refusal
    return Response(status_code=204)


@router.post("/close", status_code=204)
def close(request: Request, state: State) -> Response:
    """Close the DMP: no professional reads it any more; its content stays."""
    with state.patient(request) as (db, actor):
        state.dmp.lifecycle.close(db, actor, _own(actor), state.now())
    return Response(status_code=204)


@router.post("/reopen", status_code=204)
def reopen(request: Request, state: State) -> Response:
    """Reopen a closed DMP."""
    with state.patient(request) as (db, actor):
        state.dmp.lifecycle.reopen(db, actor, _own(actor), state.now())
    return Response(status_code=204)


def _own(actor: Actor) -> str:
    if actor.patient_ins is None:
        raise Unauthenticated("patient session required")
    return actor.patient_ins


@router.post("/documents", response_model=DocumentOut, status_code=201)
def add_document(body: DocumentIn, request: Request, state: State) -> DocumentOut:
    """Add an emergency contact, a note (reactions to medicines) or advance directives."""
    with state.patient(request) as (db, actor):
        doc = state.dmp.documents.add_document(db, actor, _own(actor), body, state.now())
        return document_out(doc, texts_of(db, doc.dmp_ins, [doc]))


_PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@router.get(
    "/documents/{document_id}/content",
    response_class=Response,
    responses={200: {"description": "The document's file, its bytes as deposited"}},
)
def document_content(document_id: DocumentId, request: Request, state: State) -> Response:
    """One document's file (its hash checked), to save: 404 for a document of another
    record, or one hidden from the legal representative who asks."""
    with state.patient(request) as (db, actor):
        doc, data = record.read_document(db, actor, state.dmp.access, document_id, state.now())
        name = download_name(document_out(doc, {}))
    return Response(
        data,
        media_type=content_type(doc.mime_type),
        headers={"Content-Disposition": content_disposition(name), **_PRIVATE},
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The record, zipped"}},
)
def export(request: Request, state: State) -> StreamingResponse:
    """The whole record as one ZIP: an index in French (index.html, documents.csv,
    soins.csv) and every document's file this session may see, written as it is sent."""
    now = state.now()
    with state.patient(request) as (db, actor):
        chunks = whole_record(db, actor, state.dmp.access, state.sessions, now)
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(archive_name(now)), **_PRIVATE},
    )


@router.put("/documents/{document_id}/masked", status_code=204)
def set_masked(
    document_id: DocumentId, body: MaskRequest, request: Request, state: State
) -> Response:
    """Mask any document from professionals (its author and the treating doctor still see
    it), or show it again."""
    with state.patient(request) as (db, actor):
        state.dmp.documents.set_masked(
            db, actor, _own(actor), document_id, body.masked, state.now()
        )
    return Response(status_code=204)


@router.delete("/documents/{document_id}", status_code=204)
def delete_document(document_id: DocumentId, request: Request, state: State) -> Response:
    """Delete one of the patient's own notes."""
    with state.patient(request) as (db, actor):
        state.dmp.documents.delete_document(db, actor, _own(actor), document_id, state.now())
    return Response(status_code=204)


@router.put("/treating-doctor", status_code=204)
def set_treating_doctor(body: TreatingDoctorRequest, request: Request, state: State) -> Response:
    """Designate the treating doctor, a physician named by RPPS."""
    try:
        id_nat = id_nat_of_rpps(body.rpps)
    except IdentifierError as exc:
        raise BadRequest("not an RPPS number", code=f"rpps_{exc.problem.value}") from exc
    with state.patient(request) as (db, actor):
        state.dmp.professionals.set_treating_doctor(db, actor, _own(actor), id_nat, state.now())
    return Response(status_code=204)
