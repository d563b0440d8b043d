"""POST /v1/identity/qualify."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from central.audit.service import AuditLog
from central.deps import get_state
from central.errors import BadRequest
from central.identity.schemas import QualifyRequest, QualifyResponse
from central.state import AppState
from dmpcommon import InvalidNirError, check_nir

router = APIRouter(prefix="/v1/identity", tags=["identity"])
State = Annotated[AppState, Depends(get_state)]


@router.post("/qualify", response_model=QualifyResponse, response_model_exclude_none=True)
def qualify(body: QualifyRequest, request: Request, state: State) -> QualifyResponse:
    """Qualify the identity read from a card into an INS (operators only)."""
    try:
        nir = check_nir(body.nir)
    except InvalidNirError as exc:
        raise BadRequest(f"NIR invalide ({exc.reason})", code="invalid_nir") from exc
    with state.operator(request) as (db, actor):
        result = state.register.qualify(
            nom=body.nom, prenom=body.prenom, birth_date=body.birth_date, nir=nir
        )
        ins = result.person.ins if result.person else None
        AuditLog.append(
            db,
            actor=actor,
            action="identity_qualify",
            outcome=result.status,
            patient_ins=ins,
            now=state.now(),
        )
    if result.person is None:
        return QualifyResponse(status=result.status)  # type: ignore[arg-type]
    return QualifyResponse(
        status="qualified",
        ins=result.person.ins,
        oid=result.person.oid,
        traits=result.person.traits(),
    )
