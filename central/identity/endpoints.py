"""POST /v1/identity/qualify (a Vitale card's traits), POST /v1/identity/search (no card)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from central.deps import get_state, read_body
from central.identity.schemas import QualifyResponse
from central.identity.service import QualifyResult, qualify_traced, search_traced
from central.state import AppState
from dmpcommon.actions import CardTraits, IdentitySearch

# Operators only, at an enrolled kiosk that signs each request (central.state.operator).
router = APIRouter(prefix="/v1/identity", tags=["identity"], dependencies=[Depends(read_body)])
State = Annotated[AppState, Depends(get_state)]


@router.post("/qualify", response_model=QualifyResponse, response_model_exclude_none=True)
def qualify(body: CardTraits, request: Request, state: State) -> QualifyResponse:
    """Qualify the identity read from a card into an INS (operators only)."""
    with state.operator(request) as (db, actor):
        result = qualify_traced(state.register, db, actor, body, now=state.now())
    return _response(result)


@router.post("/search", response_model=QualifyResponse, response_model_exclude_none=True)
def search(body: IdentitySearch, request: Request, state: State) -> QualifyResponse:
    """Find a patient who has no Vitale card at hand by the strict traits of the identity
    document the operator checked (operators only)."""
    with state.operator(request) as (db, actor):
        result = search_traced(state.register, db, actor, body, now=state.now())
    return _response(result)


def _response(result: QualifyResult) -> QualifyResponse:
    if result.person is None:
        return QualifyResponse(status=result.status)
    return QualifyResponse(
        status=result.status,
        ins=result.person.ins,
        oid=result.person.oid,
        traits=result.person.traits(),
    )
