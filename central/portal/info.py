"""The portal's information pages: help (and "code perdu ?"), legal notice, accessibility.

They are public, read before any log-in; a patient who is logged in keeps the menu.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from central.portal.web import COOKIE, State, render_page, render_patient, router
from central.state import AppState


def _information(request: Request, state: AppState, name: str) -> Response:
    """The page with the logged-in patient's menu, or as anyone sees it: an expired or
    absent session is no reason to refuse a help page."""
    settings = state.settings
    figures: dict[str, Any] = {  # the service's own figures, as it applies them
        "code_minutes": settings.otp_ttl_s // 60,
        "resend_s": settings.otp_resend_interval_s,
        "codes_per_hour": settings.otp_max_per_hour,
        "code_tries": settings.otp_max_tries,
        "activation_days": settings.activation_days,
        "lock_tries": settings.activation_lock_tries,
        "lock_minutes": settings.activation_lock_minutes,
        "session_minutes": settings.patient_session_minutes,
    }
    if request.cookies.get(COOKIE):
        page = render_patient(request, state, name, **figures)
        if page.status_code != 401:  # 401: the session is over, render_patient's login page
            return page
    return render_page(request, name, **figures)


@router.get("/aide", response_class=HTMLResponse)
def help_page(request: Request, state: State) -> Response:
    """How to log in, and what to do when a code is lost."""
    return _information(request, state, "aide.html")


@router.get("/mentions-legales", response_class=HTMLResponse)
def legal_notice(request: Request, state: State) -> Response:
    """Who runs the service, for what, the patient's rights, and the cookies."""
    return _information(request, state, "mentions-legales.html")


@router.get("/accessibilite", response_class=HTMLResponse)
def accessibility_statement(request: Request, state: State) -> Response:
    """The accessibility statement: what was checked, what was not, whom to tell."""
    return _information(request, state, "accessibilite.html")
