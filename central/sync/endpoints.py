"""Kiosk enrolment and the central sealing key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from central.deps import get_state
from central.state import AppState
from central.sync import service
from central.sync.actions import appliers
from central.sync.ingest import ingest
from central.sync.schemas import (
    BatchRequest,
    EnrollRequest,
    EnrollResponse,
    SealingKeyResponse,
)

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


@router.post("/sync/batch")
def sync_batch(body: BatchRequest, state: State) -> dict[str, object]:
    """Ingest envelopes in order; one answer per envelope (see central.sync.ingest)."""
    with state.unit_of_work() as db:
        results = ingest(
            db,
            kiosk_id=body.kiosk_id,
            items=[(item.envelope, item.signature) for item in body.items],
            sealing_key=state.settings.sealing_key()[0],
            appliers=appliers(state.professionals, state.dmps, state.register),
            now=state.now(),
        )
    return {"results": [r.as_json() for r in results]}
