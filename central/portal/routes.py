"""The patient portal: server-rendered pages in French over the patient service. Its one
router gathers the doors (log-in), the pages, the contact and the information pages."""

from __future__ import annotations

from fastapi.responses import Response

from central.portal import contact, documents, info, login, pages  # noqa: F401 (each adds its routes)
from central.portal.web import STYLESHEET, router

__all__ = ["router"]


@router.get("/portail.css")
def stylesheet() -> Response:
    """The portal's styles, the only ones its pages may use (Content-Security-Policy)."""
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})
