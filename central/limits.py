"""Unauthenticated input is bounded before it is parsed (DESIGN.md, "Whom the central service
trusts"): a size per route, checked on the announced length and again on the bytes as they
arrive, and no NUL character (no database text column takes one).

A pure ASGI middleware: it answers 413 from the headers alone, without reading a byte of an
oversized body, so a 50 MB upload costs the service nothing but the refusal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException

from central.fhir.resources import FHIR_JSON, operation_outcome

__all__ = ["BodyLimits", "BodyTooLarge", "NulInBody", "RouteLimits"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A NUL as JSON writes it, or as a form encodes it (any case).
_NUL = re.compile(rb"\\u0000|%00|\x00", re.IGNORECASE)
_OVERLAP = 5  # a "\u0000" split across two chunks is still seen


@dataclass(frozen=True, slots=True)
class RouteLimits:
    """Bytes a request body may have: the sync batch and a document are the big ones (a
    document's file travels in base64, a third larger than the file, in JSON; FHIR's
    transaction bundle too; the health insurance's batches of care lines)."""

    default: int = 64 * 1024
    sync_batch: int = 2 * 1024 * 1024
    document: int = 28 * 1024 * 1024
    care_lines: int = 2 * 1024 * 1024

    @classmethod
    def for_files_of(cls, max_bytes: int) -> RouteLimits:
        """Room for one file of `max_bytes` in base64, and its metadata."""
        return cls(document=(max_bytes + 2) // 3 * 4 + 256 * 1024)

    def for_path(self, path: str) -> int:
        if path == "/v1/sync/batch":
            return self.sync_batch
        if path.startswith("/v1/dmp/") and path.endswith("/documents"):
            return self.document
        if path in ("/fhir", "/fhir/"):  # ITI-65: the transaction bundle
            return self.document
        if path.startswith("/v1/care-history/"):
            return self.care_lines
        return self.default


class BodyTooLarge(HTTPException):
    """Raised from the body's reading: FastAPI lets an HTTPException through untouched."""

    code = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body larger than {limit} bytes")


class NulInBody(HTTPException):
    code = "nul_in_body"

    def __init__(self) -> None:
        super().__init__(400, "the body holds a NUL character")


class BodyLimits:
    """The middleware."""

    def __init__(self, app: ASGIApp, limits: RouteLimits | None = None) -> None:
        self.app = app
        self.limits = limits or RouteLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(str(scope.get("path", "")))
        announced = _content_length(scope)
        if announced is not None and announced > limit:
            await _refuse(send, str(scope.get("path", "")), f"body larger than {limit} bytes")
            return
        received = 0
        tail = b""

        async def bounded() -> Message:
            nonlocal received, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = bytes(message.get("body", b""))
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge(limit)
                if _NUL.search(tail + chunk):
                    raise NulInBody
                tail = (tail + chunk)[-_OVERLAP:]  # chunks of any size, even of one byte
            return message

        await self.app(scope, bounded, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else 2**63
    return None


# Refused before the portal reads anything: a bare page in French, with no style to fetch.
_PAGE = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Formulaire trop long'
    "</title></head><body><main><h1>Formulaire trop long</h1><p>Rien n'a été fait ni "
    "enregistré. Revenez à la page précédente, raccourcissez ce que vous avez saisi, puis "
    "recommencez.</p></main></body></html>"
)


async def _refuse(send: Send, path: str, detail: str) -> None:
    """The 413 as its caller reads errors: a page on the portal, an OperationOutcome under
    /fhir (as central.app answers every other error there), JSON elsewhere."""
    status, code = 413, "body_too_large"
    if path.startswith("/patient"):
        body, kind = _PAGE.encode(), b"text/html; charset=utf-8"
    elif path == "/fhir" or path.startswith("/fhir/"):
        body = operation_outcome(status, code, detail).model_dump_json().encode()
        kind = FHIR_JSON.encode()
    else:
        body, kind = json.dumps({"error": code, "detail": detail}).encode(), b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
