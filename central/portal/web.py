"""The patient portal: server-rendered pages in French over the patient service.

The session is the patient service's own token, kept in an HttpOnly, SameSite=Strict cookie,
Secure behind HTTPS. Every form carries a token (CSRF) derived from a cookie the browser holds:
the session once logged in; before that (log-in, code, online creation: a forged log-in would
put the victim in the attacker's record) a random one given with the first page. The pages use
the same rules and traces as the patient API: nothing here decides who may read what.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from hashlib import sha256
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from central.actors import Actor
from central.deps import get_state
from central.dmp.models import Dmp
from central.errors import ServiceError, TooManyRequests, Unauthenticated, WrongCode
from central.patient import record
from central.patient.labels import (
    CONFIDENTIALITY_LABELS,
    NATURE_LABELS,
    document_type,
    file_kind,
    file_size,
    french_date,
)
from central.patient.service import Viewing
from central.portal.wording import CATEGORY_LABELS, EVENTS, ROLE_LABELS, refusal
from central.state import AppState
from dmpcommon.identifiers import rpps_of_id_nat
from dmpcommon.vocabulary import Role

# The one router of the portal: each module of pages adds its routes to it.
router = APIRouter(prefix="/patient", include_in_schema=False)
State = Annotated[AppState, Depends(get_state)]
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def birth_date_from(day: str, month: str, year: str) -> str:
    """The register's "YYYY-MM-DD" from three boxes; ValueError with the French reason.
    A day or month typed 0 is unknown, as some cards carry it."""
    parts = [part.strip() for part in (day, month, year)]
    if not all(part.isdigit() for part in parts):
        raise ValueError("saisissez le jour, le mois et l'année en chiffres")
    d, m, y = (int(part) for part in parts)
    if len(parts[2]) != 4 or not 1900 <= y <= dt.date.today().year:
        raise ValueError("l'année s'écrit avec 4 chiffres, par exemple 1984")
    if not 0 <= m <= 12:
        raise ValueError("le mois va de 1 à 12")
    if not 0 <= d <= 31 or (m and d > calendar.monthrange(y, m)[1]):
        raise ValueError("ce jour n'existe pas dans ce mois")
    return f"{y:04d}-{m:02d}-{d:02d}"


templates.env.filters["paris"] = french_date
templates.env.filters["french_date"] = french_date
templates.env.globals["refusal"] = refusal
templates.env.globals["events"] = EVENTS
templates.env.globals["rpps_of"] = rpps_of_id_nat  # a card's public number, to check
templates.env.filters["file_size"] = file_size
templates.env.globals["file_kind"] = file_kind
templates.env.globals["document_type"] = document_type
templates.env.globals["natures"] = NATURE_LABELS
templates.env.globals["confidentiality"] = CONFIDENTIALITY_LABELS
COOKIE = "dmp_patient"
FORM_COOKIE = "dmp_formulaire"  # binds the forms shown before log-in
STYLESHEET = (Path(__file__).parent / "static" / "portail.css").read_bytes()
FORGED = "formulaire expiré ou venu d'un autre site : rien n'a été fait, recommencez ici"


def csrf_token(state: AppState, cookie: str, value: str) -> str:
    """The form token bound to a cookie's value (the one rule for every form)."""
    message = b"csrf\x00" + cookie.encode() + b"\x00" + value.encode()
    return hmac.new(state.keys.secret, message, sha256).hexdigest()


def check_csrf(request: Request, state: AppState, csrf: str, *, cookie: str = COOKIE) -> None:
    """Refuse a form whose token is not the one bound to the browser's cookie."""
    value = request.cookies.get(cookie, "")
    if not value or not hmac.compare_digest(csrf, csrf_token(state, cookie, value)):
        raise Unauthenticated("formulaire expiré : rechargez la page")


def secure_cookies(request: Request, state: AppState) -> bool:
    """Cookies travel over HTTPS only when the page came that way (or in production)."""
    return state.settings.production or request.url.scheme == "https"


def render_page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page; its forms carry the pre-log-in token unless the caller gives the session's,
    and a browser that has no pre-log-in cookie yet is given one."""
    state = get_state(request)
    given = request.cookies.get(FORM_COOKIE) or None
    value = given or secrets.token_urlsafe(32)
    context.setdefault("csrf", csrf_token(state, FORM_COOKIE, value))
    context.setdefault("errors", {})  # a field's error, by its name
    context.setdefault("form", {})  # what was typed, kept
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if given is None:
        response.set_cookie(
            FORM_COOKIE,
            value,
            httponly=True,
            samesite="strict",
            secure=secure_cookies(request, state),
            path="/patient",
        )
    return response


def waited(page: HTMLResponse, exc: ServiceError) -> HTMLResponse:
    """A throttled door's page says when to come back, as the API does (Retry-After)."""
    if isinstance(exc, TooManyRequests) and exc.retry_after_s is not None:
        page.headers["Retry-After"] = str(exc.retry_after_s)
    return page


def portal_error(request: Request, alert: str, status: int = 400) -> HTMLResponse:
    """A form the service could not take (too long, a value never offered), a page that
    does not exist: a page saying nothing was done, never a JSON body."""
    return render_page(request, "error.html", status, alert=alert)


# What a person is told of an HTTP error on the portal's pages.
HTTP_ERRORS = {
    404: "cette page n'existe pas",
    405: "cette adresse ne s'ouvre pas ainsi : passez par le menu ou les boutons des pages",
    413: "le formulaire envoyé est trop long",
}


def tries_said(error: str, left: int | None) -> str:
    """A code's error, then the tries it has left, as one sentence after the other."""
    if left is None:
        return error
    sentence = error if error.endswith((".", "!", "?")) else f"{error}."
    if left == 0:
        return f"{sentence} Plus aucun essai : attendez ou demandez un nouveau code."
    return f"{sentence} Il vous reste {left} essai{'s' if left > 1 else ''}."


def tries_left(error: str, refused: ServiceError) -> str:
    """A wrong code's refusal, with the tries it has left."""
    return tries_said(error, refused.tries_left if isinstance(refused, WrongCode) else None)


def login_form(
    request: Request,
    message: str | None = None,
    status: int = 200,
    *,
    alert: str | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The log-in page: a message, or an alert and the errors tied to their fields, with
    what was typed kept."""
    return render_page(
        request,
        "login.html",
        status,
        message=message,
        alert=alert,
        errors=errors or {},
        form=form or {},
    )


def forged(request: Request, state: AppState, csrf: str) -> bool:
    """A form shown before log-in came back without its token: refused, nothing done."""
    try:
        check_csrf(request, state, csrf, cookie=FORM_COOKIE)
    except Unauthenticated:
        return True
    return False


@contextmanager
def logged_patient(request: Request, state: AppState) -> Iterator[tuple[Session, Actor]]:
    token = request.cookies.get(COOKIE, "")
    with state.unit_of_work() as db:
        yield db, state.patients.authenticate(db, token, state.now())


def logged_in(request: Request, state: AppState, token: str) -> RedirectResponse:
    response = RedirectResponse("/patient/dossier", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request, state),
        max_age=state.settings.patient_session_minutes * 60,
        path="/patient",
    )
    return response


def change(
    request: Request,
    state: AppState,
    csrf: str,
    change: Callable[[Session, Actor], object],
    page: str,
    *,
    done: str,
) -> Response:
    """Apply a change for the logged-in patient, then show the page saying it is `done`; the
    login page if the session or the form expired; the page again saying in French why the
    change was refused."""
    failed = try_change(request, state, csrf, change, page)
    return failed or render_patient(request, state, page, message=done)


def has_contact(db: Session, actor: Actor) -> bool:
    dmp = db.get(Dmp, actor.patient_ins or "")
    return dmp is not None and bool(dmp.notify_address)


def try_change(
    request: Request,
    state: AppState,
    csrf: str,
    change: Callable[[Session, Actor], object],
    page: str,
    **context: Any,
) -> Response | None:
    """Apply a change for the logged-in patient; None when done, else the page to show (a
    refusal is an alert, read out at once; `context` keeps what was typed)."""
    try:
        check_csrf(request, state, csrf)
        with logged_patient(request, state) as (db, actor):
            if page not in WITHOUT_CONTACT and not has_contact(db, actor):
                # Nothing changes before the record has a way back in.
                return RedirectResponse("/patient/premier-contact", status_code=303)
            change(db, actor)
    except Unauthenticated as exc:
        return login_form(request, exc.detail, 401)
    except ServiceError as exc:
        return render_patient(
            request, state, page, alert=refusal(exc.code), status=exc.status_code, **context
        )
    return None


# The pages a person without a way back in may see: they must give one first.
WITHOUT_CONTACT = (
    "first_contact.html",
    "contact_code.html",
    "aide.html",
    "mentions-legales.html",
    "accessibilite.html",
)


def record_key(state: AppState, ins: str) -> str:
    """A record as the chooser names it: an opaque key, not the child's INS."""
    return hmac.new(state.keys.secret, b"record\x00" + ins.encode(), sha256).hexdigest()[:24]


def _viewing(state: AppState, seen: Viewing) -> dict[str, Any]:
    """Whose record is shown, in which role, and the others this person may open."""

    def name(dmp: Dmp) -> str:
        return f"{dmp.prenom.capitalize()} {dmp.nom}"

    representative = seen.actor.role is Role.REPRESENTATIVE
    return {
        "name": name(seen.dmp),
        "role": "representative" if representative else "patient",
        "person": seen.actor.name,
        "others": [{"key": record_key(state, d.ins), "name": name(d)} for d in seen.others],
        "came_of_age": seen.dmp.came_of_age_at is not None and not representative,
    }


def render_patient(
    request: Request,
    state: AppState,
    name: str,
    *,
    message: str | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    """A page of the logged-in patient; back to the login page if the session is over, and
    to the first-contact page while the record has no way back in."""
    token = request.cookies.get(COOKIE, "")
    try:
        with state.unit_of_work() as db:
            seen = state.patients.viewing(db, token, state.now())
            if not seen.dmp.notify_address and name not in WITHOUT_CONTACT:
                return RedirectResponse("/patient/premier-contact", status_code=303)
            data = record.read_record(db, seen.actor, state.now())
            log = record.access_log(db, seen.actor) if name in ("log.html", "access.html") else []
            viewing = _viewing(state, seen)
            gated = not seen.dmp.notify_address
    except Unauthenticated as exc:
        return login_form(request, exc.detail, 401)
    return render_page(
        request,
        name,
        status,
        record=data,
        log=log,
        viewing=viewing,
        gated=gated,
        message=message,
        csrf=csrf_token(state, COOKIE, token),
        categories=CATEGORY_LABELS,
        roles=ROLE_LABELS,
        **context,
    )
