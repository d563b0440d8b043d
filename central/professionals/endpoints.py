"""Operator sessions: POST /v1/sessions, POST /v1/sessions/{id}/resume,
DELETE /v1/sessions/current."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from central.deps import get_state, read_body
from central.errors import Forbidden
from central.professionals.models import OperatorSession
from central.professionals.schemas import (
    SESSION_ID_PATTERN,
    ResumeRequest,
    SessionRequest,
    SessionResponse,
)
from central.state import AppState

# Only from an enrolled kiosk that signs each request.
router = APIRouter(prefix="/v1/sessions", tags=["operators"], dependencies=[Depends(read_body)])
State = Annotated[AppState, Depends(get_state)]


@router.post("", response_model=SessionResponse, status_code=201)
def open_session(body: SessionRequest, request: Request, state: State) -> SessionResponse:
    """Open an operator session from the card's signed attestation, at the kiosk that signs
    the request (the attestation names it too)."""
    now = state.now()
    with state.unit_of_work() as db:
        if state.signing_kiosk(db, request) != body.kiosk_id:
            raise Forbidden("signed by another kiosk", code="wrong_kiosk")
        token, row = state.professionals.open_session(
            db,
            kiosk_id=body.kiosk_id,
            session_id=body.session_id,
            issued_at=body.issued_at,
            certificate_b64=body.certificate,
            signature_b64=body.signature,
            now=now,
        )
    return _response(token, row)


@router.post("/{session_id}/resume", response_model=SessionResponse)
def resume_session(
    session_id: Annotated[str, Path(min_length=8, max_length=64, pattern=SESSION_ID_PATTERN)],
    body: ResumeRequest,
    request: Request,
    state: State,
) -> SessionResponse:
    """A new token for an open session of the kiosk that signs the request (its token lost
    with the network, or its login made offline and since synced). No bearer token: the
    kiosk's signature is the proof."""
    del body  # empty; declared so that anything else in it is refused
    with state.unit_of_work() as db:
        token, row = state.professionals.resume_session(
            db, session_id=session_id, kiosk_id=state.signing_kiosk(db, request), now=state.now()
        )
    return _response(token, row)


def _response(token: str, row: OperatorSession) -> SessionResponse:
    return SessionResponse(
        token=token,
        expires_at=row.expires_at,
        id_nat=row.id_nat,
        nom=row.nom,
        prenom=row.prenom,
        card_type=row.card_type,
        profession=row.profession,
        structure_name=row.structure_name,
        role=row.role,
    )


@router.delete("/current", status_code=204)
def close_session(request: Request, state: State) -> Response:
    """Log the operator out (card removed, or "Terminer")."""
    with state.operator(request) as (db, actor):
        state.professionals.close_session(db, actor, state.now())
    return Response(status_code=204)
