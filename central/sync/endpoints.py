"""Kiosk enrolment, the central sealing key, and the signed sync endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from central.deps import get_state
from central.errors import Forbidden
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
from central.sync.signatures import verify_kiosk_request

router = APIRouter(prefix="/v1", tags=["kiosks"])
State = Annotated[AppState, Depends(get_state)]


@router.post("/kiosks/enroll", response_model=EnrollResponse, status_code=201)
def enroll(body: EnrollRequest, request: Request, state: State) -> EnrollResponse:
    """Enrol a kiosk with a one-time token; returns its id and the key to seal payloads to.
    In production, over HTTPS only (behind a proxy: uvicorn's --proxy-headers): the token
    and the key that all the kiosk's signatures rest on must not cross in clear."""
    if state.settings.production and request.url.scheme != "https":
        raise Forbidden("enrolment over HTTPS only", code="https_required")
    with state.unit_of_work() as db:
        kiosk = service.enroll(
            db,
            key=state.keys.secret,
            token=body.token,
            public_key_hex=body.public_key,
            now=state.now(),
        )
    return EnrollResponse(
        kiosk_id=kiosk.id, site=kiosk.site, central_key=state.keys.sealing_public.hex()
    )


@router.get("/sync/key", response_model=SealingKeyResponse)
def sealing_key(state: State) -> SealingKeyResponse:
    """The central service's X25519 sealing key (public)."""
    return SealingKeyResponse(central_key=state.keys.sealing_public.hex())


async def raw_body(request: Request) -> bytes:
    """The exact bytes received (FastAPI caches them for the JSON model too)."""
    return await request.body()


@router.post(
    "/sync/batch",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def sync_batch(
    request: Request,
    raw: Annotated[bytes, Depends(raw_body)],
    state: State,
) -> dict[str, object]:
    """Ingest envelopes in order; one answer per envelope (see central.sync.ingest).

    The request must carry the kiosk's RFC 9421 signature (central.sync.signatures), checked
    before the body is decoded: a stranger's body is never parsed. The body is a BatchRequest.
    """
    with state.unit_of_work() as db:
        signer = verify_kiosk_request(
            db,
            method=request.method,
            url=str(request.url),
            headers=request.headers.raw,
            body=raw,
            now=state.now(),
        )
        try:
            body = BatchRequest.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc
        if signer.kiosk_id != body.kiosk_id:
            raise Forbidden("signed by another kiosk", code="wrong_kiosk")
        ingested = ingest(
            db,
            kiosk_id=body.kiosk_id,
            items=[(item.envelope, item.signature) for item in body.items],
            sealing_key=state.keys.sealing_private,
            appliers=lambda: appliers(state.professionals, state.dmp, state.register, state.bounds),
            now=state.now(),
            bounds=state.bounds,
        )
    if ingested.refusal is not None:  # raised once what came before it is committed
        raise ingested.refusal
    return {"results": [r.as_json() for r in ingested.results]}
