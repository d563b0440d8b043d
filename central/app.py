"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from central.config import Settings
from central.dmp.endpoints import router as dmp_router
from central.errors import ServiceError, TooManyRequests
from central.fhir import router as fhir_router
from central.fhir.resources import FHIR_JSON, operation_outcome
from central.http_security import SecurityHeaders
from central.identity.endpoints import router as identity_router
from central.insurance.endpoints import router as insurance_router
from central.limits import BodyLimits, RouteLimits
from central.patient.endpoints import router as patient_router
from central.portal.routes import router as portal_router
from central.portal.web import HTTP_ERRORS, portal_error
from central.professionals.endpoints import router as sessions_router
from central.state import AppState, build_state
from central.sync.endpoints import router as sync_router

__all__ = ["create_app"]


def _json(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": code, "detail": detail})


def _error(request: Request, status: int, code: str, detail: str) -> Response:
    """An error as its caller reads them: an OperationOutcome under /fhir, else JSON."""
    if request.url.path == "/fhir" or request.url.path.startswith("/fhir/"):
        outcome = operation_outcome(status, code, detail).model_dump_json()
        return Response(outcome, status_code=status, media_type=FHIR_JSON)
    return _json(status, code, detail)


def _install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as {"error": code, "detail": text} (under /fhir, as an
    OperationOutcome)."""

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> Response:
        response = _error(request, exc.status_code, exc.code, exc.detail)
        if isinstance(exc, TooManyRequests) and exc.retry_after_s is not None:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/patient"):  # a person's form: a page, in French
            return portal_error(
                request, "un champ du formulaire est trop long ou n'est pas une valeur proposée"
            )
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(request, 422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/patient"):  # a person's page: in French
            alert = HTTP_ERRORS.get(exc.status_code, "le formulaire envoyé n'a pas pu être lu")
            return portal_error(request, alert, exc.status_code)
        return _error(request, exc.status_code, getattr(exc, "code", "http_error"), str(exc.detail))


def create_app(
    settings: Settings | None = None, *, state: AppState | None = None, run_worker: bool = True
) -> FastAPI:
    """Build the app; the outbox worker runs while the app does."""
    wiring = state or build_state(settings or Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_worker:
            wiring.worker.start()
            wiring.sealer.start()
        try:
            yield
        finally:
            if run_worker:
                wiring.sealer.stop()
                wiring.worker.stop()

    # In production the interactive docs and the schema are not served: a map for no one.
    docs = not wiring.settings.production
    app = FastAPI(
        title="Service central DMP",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.central = wiring
    # The last added is the outermost: bodies are bounded before anything reads them (the
    # headers only touch the answer, so even a 413 from the limits carries them).
    app.add_middleware(
        BodyLimits, limits=RouteLimits.for_files_of(wiring.settings.document_max_bytes)
    )
    app.add_middleware(SecurityHeaders, production=wiring.settings.production)
    _install_error_handlers(app)
    for router in (
        identity_router,
        sessions_router,
        dmp_router,
        patient_router,
        sync_router,
        insurance_router,
        portal_router,
        fhir_router,
    ):
        app.include_router(router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness, and the server's clock for the kiosk's skew check."""
        return {"status": "ok", "time": wiring.now().isoformat()}

    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory --workers N central.app:app_from_environment`:
    settings from CENTRAL_* variables and CENTRAL_HOME/central.toml."""
    return create_app(Settings())
