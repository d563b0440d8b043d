"""The doorway's routes under /fhir: thin, each a call into the same services as the JSON API
(central.dmp.access for every read, central.dmp.documents for every deposit), as the same
operator (an enrolled kiosk's signature and the operator's bearer token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fhir.resources.R4B.patient import Patient
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, refuse
from central.deps import get_state, read_body
from central.dmp.common import choices_of, denial, dmp_and_relation, enforce
from central.dmp.models import Dmp, Document
from central.dmp.policy import may_open
from central.errors import BadRequest, NotFound
from central.fhir import resources as r
from central.fhir.provide import Unprocessable, read_bundle
from central.fhir.search import PatientKey, document_query, patient_key, select_documents
from central.professionals.roles import FORBIDDEN_ROLES
from central.state import AppState
from dmpcommon.vocabulary import AccessMode, DmpStatus

__all__ = ["router"]

router = APIRouter(prefix="/fhir", tags=["fhir"], dependencies=[Depends(read_body)])
State = Annotated[AppState, Depends(get_state)]
LogicalId = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-\.]{1,64}$")]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _fhir(resource: r.FhirResource, status: int = 200) -> Response:
    return Response(resource.model_dump_json(), status_code=status, media_type=r.FHIR_JSON)


@router.get("/metadata")
def metadata(request: Request, state: State) -> Response:
    """The CapabilityStatement (no data in it: served to anyone, as /health is)."""
    return _fhir(r.capability_statement(_base(request), state.now()))


# Who may not open the record but may still check its status (DESIGN.md: agents do status
# and creation only; so does a structure the register does not know; a professional not, or
# not yet, authorised): the Patient they read is what the status check tells them, the INS
# and whether the record is open, never the patient's traits.
_STATUS_ONLY = frozenset({"no_medical_content_for_agents", "structure_unknown", "not_authorised"})


def _patient_view(db: Session, actor: Actor, key: PatientKey, state: AppState) -> Patient | None:
    """The record's Patient as this reader may see it, traced as a status check: None if
    there is no record (under this OID); the traits only to who may open the record in
    normal mode; the INS and `active` to who may only check its status; a 403 (traced) to
    a party refused the record, a professional the patient blocked, or on a closed record."""
    now = state.now()
    status, _ = state.dmp.access.status(db, actor, key.ins, now)  # forbidden parties: 403
    dmp, relation = dmp_and_relation(db, key.ins, actor.id)
    if status is DmpStatus.NONE or dmp is None:
        return None
    decision = may_open(
        actor.role,
        AccessMode.NORMAL,
        choices_of(dmp),
        relation,
        dmp_open=dmp.status == DmpStatus.VALID,
    )
    if not decision.allowed and decision.reason not in _STATUS_ONLY:
        enforce(decision, db, actor, AuditAction.STATUS, now=now, patient_ins=key.ins)
    if key.oid is not None and dmp.oid != key.oid:
        return None
    return r.patient(dmp, traits=decision.allowed)


@router.get("/Patient/{patient_id}")
def read_patient(patient_id: LogicalId, request: Request, state: State) -> Response:
    """Patient read: the logical id is the INS."""
    key = patient_key(reference=patient_id)
    with state.operator(request) as (db, actor):
        found = _patient_view(db, actor, key, state)
        if found is None:
            raise NotFound("no DMP for this INS", code="no_dmp")
        return _fhir(found)


@router.get("/Patient")
def search_patient(request: Request, state: State) -> Response:
    """Patient search by INS identifier (identifier=urn:oid:<INS OID>|<INS>)."""
    params = list(request.query_params.multi_items())
    identifiers = [value for name, value in params if name == "identifier"]
    if len(identifiers) != 1 or any(name not in ("identifier", "_format") for name, _ in params):
        raise BadRequest("search Patient by one identifier", code="patient_required")
    key = patient_key(identifiers[0])
    with state.operator(request) as (db, actor):
        found = _patient_view(db, actor, key, state)
    return _fhir(
        r.searchset(
            [found] if found is not None else [], self_url=str(request.url), base_url=_base(request)
        )
    )


@router.get("/DocumentReference")
def find_documents(request: Request, state: State) -> Response:
    """Find Document References (ITI-67): the patient's documents this reader may see, as
    the record's opening rules filter them and trace the search."""
    query = document_query(list(request.query_params.multi_items()))
    base = _base(request)
    with state.operator(request) as (db, actor):
        # The rules first (a party refused the record learns nothing of it), then the OID.
        visible = state.dmp.access.documents(
            db,
            actor,
            query.patient.ins,
            mode=AccessMode.NORMAL,
            reason_code=None,
            reason_text=None,
            now=state.now(),
            current_only=query.current_only,
        )
        if query.patient.oid is not None and not _under(db, query.patient):
            refuse(
                db,
                actor,
                AuditAction.DOCUMENT_SEARCH,
                NotFound("no DMP for this INS", code="no_dmp"),
                now=state.now(),
                patient_ins=query.patient.ins,
            )
        answer = r.document_searchset(
            select_documents(query, visible), self_url=str(request.url), base_url=base
        )
    return Response(answer, media_type=r.FHIR_JSON)


def _under(db: Session, key: PatientKey) -> bool:
    """Is the record of this INS under the OID the request named?"""
    return db.scalar(select(Dmp.oid).where(Dmp.ins == key.ins)) == key.oid


@router.get("/DocumentReference/{document_id}")
def read_document_reference(document_id: LogicalId, request: Request, state: State) -> Response:
    """One DocumentReference (the search's fullUrl), any version, if this reader may see it:
    found among what the record's rules let them list, and traced as such a list."""
    with state.operator(request) as (db, actor):
        visible = state.dmp.access.documents(
            db,
            actor,
            _record_of(db, document_id),
            mode=AccessMode.NORMAL,
            reason_code=None,
            reason_text=None,
            now=state.now(),
            current_only=False,
        )
        doc = next((d for d in visible if d.id == document_id), None)
        if doc is None:
            raise NotFound("no such document", code="no_document")
        return _fhir(r.document_reference(doc, _base(request)))


def _record_of(db: Session, document_id: str) -> str:
    """Which record a document id belongs to: only where to ask; whether this reader may
    read it is central.dmp.access's answer."""
    ins = db.scalar(select(Document.dmp_ins).where(Document.id == document_id))
    if ins is None:
        raise NotFound("no such document", code="no_document")
    return ins


@router.get("/Binary/{document_id}")
def retrieve_document(document_id: LogicalId, request: Request, state: State) -> Response:
    """Retrieve Document (ITI-68): the file's bytes with its content type, or a Binary
    resource when the client asks for FHIR JSON."""
    with state.operator(request) as (db, actor):
        doc, data = state.dmp.access.document_file(
            db,
            actor,
            _record_of(db, document_id),
            document_id,
            mode=AccessMode.NORMAL,
            reason_code=None,
            reason_text=None,
            now=state.now(),
        )
        accept = request.headers.get("accept", "")
        if r.FHIR_JSON in accept or "application/json" in accept:
            return _fhir(r.binary(doc, data))
        return Response(
            data,
            media_type=doc.mime_type,
            headers={"Content-Disposition": "attachment", "Cache-Control": "no-store"},
        )


@router.post("")
@router.post("/", include_in_schema=False)
def provide_documents(request: Request, state: State) -> Response:
    """Provide Document Bundle (ITI-65): every document of the Bundle added in this one
    transaction, or none."""
    with state.operator(request) as (db, actor):
        # Read only once the request is proven to come from an operator at a kiosk.
        submission = read_bundle(request.state.raw_body, max_bytes=state.dmp.documents.max_bytes)
        ins = submission.patient.ins
        if actor.role in FORBIDDEN_ROLES:  # before anything tells whether the record exists
            refuse(
                db,
                actor,
                AuditAction.ADD_DOCUMENT,
                denial("forbidden_party"),
                now=state.now(),
                patient_ins=ins,
            )
        added = [
            state.dmp.documents.add_document(db, actor, ins, document, state.now(), checked=checked)
            for document, checked in submission.documents
        ]
        # The rules first, then the OID: a refused deposit is rolled back whole.
        if submission.patient.oid is not None and not _under(db, submission.patient):
            refuse(
                db,
                actor,
                AuditAction.ADD_DOCUMENT,
                Unprocessable("the INS is not under this OID", code="invalid_ins"),
                now=state.now(),
                patient_ins=ins,
            )
        outcomes: list[tuple[str, str | None]] = []
        for kind, number in submission.entries:
            if number is None:
                outcomes.append(("201 Created", None))
            else:
                outcomes.append(("201 Created", f"{kind}/{added[number].id}"))
        answer = r.transaction_response(outcomes, state.now())
    return _fhir(answer)
