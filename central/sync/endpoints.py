"""Kiosk enrolment and the central sealing key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from central.deps import get_state
from central.state import AppState
from central.sync import service
from central.sync.schemas import EnrollRequest, EnrollResponse, SealingKeyResponse

router = APIRouter(prefix="/v1", tags=["kiosks"])
State = Annotated[AppState, Depends(get_state)]


@router.post("/kiosks/enroll", response_model=EnrollResponse, status_code=201)
def enroll(body: EnrollRequest, state: State) -> EnrollResponse:
    """Enrol a kiosk with a one-time token; returns its id and the key to seal payloads to."""
    with state.unit_of_work() as db:
        kiosk = service.enroll(
            db,
            key=state.settings.secret_key(),
            token=body.token,
            public_key_hex=body.public_key,
            now=state.now(),
        )
    return EnrollResponse(
        kiosk_id=kiosk.id, site=kiosk.site, central_key=state.settings.sealing_key()[1].hex()
    )


@router.get("/sync/key", response_model=SealingKeyResponse)
def sealing_key(state: State) -> SealingKeyResponse:
    """The central service's X25519 sealing key (public)."""
    return SealingKeyResponse(central_key=state.settings.sealing_key()[1].hex())
