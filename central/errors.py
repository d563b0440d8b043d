"""The central service's error tree, mapped to HTTP in one handler.

ServiceError (500)
├── BadRequest (400)            malformed input the schema could not catch
├── Unauthenticated (401)       no, bad or expired session
├── Forbidden (403)             the rules refuse this actor
│   └── ForbiddenParty (403)    employer, insurer, bank, occupational medicine
├── NotFound (404)
├── Conflict (409)              already exists, replaced document...
├── Gone (410)                  expired or spent code
└── TooManyRequests (429)       throttled resends, too many tries
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "ForbiddenParty",
    "Gone",
    "NotFound",
    "ServiceError",
    "TooManyRequests",
    "Unauthenticated",
    "install_error_handlers",
]


class ServiceError(Exception):
    """Root of the errors the service raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, detail: str, *, code: str | None = None, keep: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        # The work done before raising (the trace of a refusal, a failed try) is committed
        # even though the request fails; the caller owning the transaction does it.
        self.keep = keep


class BadRequest(ServiceError):
    status_code = 400
    code = "bad_request"


class Unauthenticated(ServiceError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class ForbiddenParty(Forbidden):
    code = "forbidden_party"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class Gone(ServiceError):
    status_code = 410
    code = "gone"


class TooManyRequests(ServiceError):
    status_code = 429
    code = "too_many_requests"


def _json(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": code, "detail": detail})


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as {"error": code, "detail": text}."""

    @app.exception_handler(ServiceError)
    async def _service(_request: Request, exc: ServiceError) -> JSONResponse:
        return _json(exc.status_code, exc.code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _json(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json(exc.status_code, "http_error", str(exc.detail))
