"""The health insurance feed's doors: the records awaiting their history, and a batch of
care lines for one. Only the enrolled feed client passes (central.state.signing_feed): a
kiosk's key, an operator's session or a patient's are refused."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from central.deps import get_state, read_body
from central.dmp.common import PatientNotices
from central.dmp.schemas import NIR
from central.insurance.schemas import CareHistoryRequestsPage, CareLinesIn, CareLinesResult
from central.insurance.service import MAX_PAGE, CareFeed, FeedClient
from central.state import AppState

router = APIRouter(
    prefix="/v1/care-history", tags=["care-history"], dependencies=[Depends(read_body)]
)
State = Annotated[AppState, Depends(get_state)]
Ins = Annotated[str, Path(pattern=NIR)]


def _feed(state: AppState) -> CareFeed:
    return CareFeed(PatientNotices(state.notifier, state.settings.portal_url))


@router.get("/requests", response_model=CareHistoryRequestsPage)
def requests(
    request: Request,
    state: State,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> CareHistoryRequestsPage:
    """Records created and awaiting their last 24 months: INS and first day, oldest first."""
    with state.unit_of_work() as db:
        state.signing_feed(db, request)
        return _feed(state).pending(db, cursor=cursor, limit=limit)


@router.post(
    "/{ins}",
    response_model=CareLinesResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CareLinesIn.model_json_schema()}},
        }
    },
)
def post_lines(ins: Ins, request: Request, state: State) -> CareLinesResult:
    """A batch of reimbursed care lines for one INS (central.insurance.service.CareFeed).

    The signature is checked before the body is decoded: a stranger's body is never parsed."""
    with state.unit_of_work() as db:
        signer = state.signing_feed(db, request)
        raw = request.state.raw_body
        try:
            batch = CareLinesIn.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc
        return _feed(state).receive(
            db, FeedClient(signer.kiosk_id, signer.site), ins, batch, state.now()
        )
