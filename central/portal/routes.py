"""The patient portal: server-rendered pages in French over the patient service.

The session is the patient service's own token, kept in an HttpOnly, SameSite=Strict cookie,
Secure behind HTTPS. Every form carries a token (CSRF) derived from a cookie the browser holds:
the session once logged in; before that (log-in, code, online creation: a forged log-in would
put the victim in the attacker's record) a random one given with the first page. The pages use
the same rules and traces as the patient API: nothing here decides who may read what.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from hashlib import sha256
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.orm import Session

from central.actors import Actor
from central.deps import get_state
from central.dmp.schemas import (
    Category,
    DocumentIn,
    EmergencyChoices,
    NotificationContact,
    ProfessionalChange,
)
from central.errors import ServiceError, TooManyRequests, Unauthenticated
from central.notify.messages import paris_time
from central.patient import record
from central.patient.endpoints import source_of
from central.patient.online_creation import Proof
from central.patient.schemas import NotificationPreferences, OnlineCreationProof
from central.portal.wording import CATEGORY_LABELS, EVENTS, ROLE_LABELS, refusal
from central.state import AppState
from dmpcommon.identifiers import (
    IdentifierError,
    check_health_professional_id_nat,
    id_nat_of_rpps,
)
from dmpcommon.information import INFORMATION_TEXT, INFORMATION_VERSION
from dmpcommon.people import BirthDate
from dmpcommon.vocabulary import ContactChannel

__all__ = ["router"]

router = APIRouter(prefix="/patient", include_in_schema=False)
State = Annotated[AppState, Depends(get_state)]
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["paris"] = paris_time
templates.env.globals["refusal"] = refusal
templates.env.globals["events"] = EVENTS
COOKIE = "dmp_patient"
FORM_COOKIE = "dmp_formulaire"  # binds the forms shown before log-in
STYLESHEET = (Path(__file__).parent / "static" / "portail.css").read_bytes()
FORGED = "formulaire expiré ou venu d'un autre site : rien n'a été fait, recommencez ici"

ADDITIONS = {
    "contact": (Category.EMERGENCY_CONTACTS, "Personne à prévenir"),
    "reaction": (Category.PATHOLOGIES_ALLERGIES, "Réaction à un médicament"),
    "directives": (Category.ADVANCE_DIRECTIVES, "Directives anticipées"),
}


def _csrf(state: AppState, cookie: str, value: str) -> str:
    """The form token bound to a cookie's value (the one rule for every form)."""
    message = b"csrf\x00" + cookie.encode() + b"\x00" + value.encode()
    return hmac.new(state.keys.secret, message, sha256).hexdigest()


def _check_csrf(request: Request, state: AppState, csrf: str, *, cookie: str = COOKIE) -> None:
    """Refuse a form whose token is not the one bound to the browser's cookie."""
    value = request.cookies.get(cookie, "")
    if not value or not hmac.compare_digest(csrf, _csrf(state, cookie, value)):
        raise Unauthenticated("formulaire expiré : rechargez la page")


def _secure(request: Request, state: AppState) -> bool:
    """Cookies travel over HTTPS only when the page came that way (or in production)."""
    return state.settings.production or request.url.scheme == "https"


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page; its forms carry the pre-log-in token unless the caller gives the session's,
    and a browser that has no pre-log-in cookie yet is given one."""
    state = get_state(request)
    given = request.cookies.get(FORM_COOKIE) or None
    value = given or secrets.token_urlsafe(32)
    context.setdefault("csrf", _csrf(state, FORM_COOKIE, value))
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if given is None:
        response.set_cookie(
            FORM_COOKIE,
            value,
            httponly=True,
            samesite="strict",
            secure=_secure(request, state),
            path="/patient",
        )
    return response


def _waited(page: HTMLResponse, exc: ServiceError) -> HTMLResponse:
    """A throttled door's page says when to come back, as the API does (Retry-After)."""
    if isinstance(exc, TooManyRequests) and exc.retry_after_s is not None:
        page.headers["Retry-After"] = str(exc.retry_after_s)
    return page


def _login_page(request: Request, message: str | None = None, status: int = 200) -> HTMLResponse:
    return _page(request, "login.html", status, message=message)


def _forged(request: Request, state: AppState, csrf: str) -> bool:
    """A form shown before log-in came back without its token: refused, nothing done."""
    try:
        _check_csrf(request, state, csrf, cookie=FORM_COOKIE)
    except Unauthenticated:
        return True
    return False


@contextmanager
def _patient(request: Request, state: AppState) -> Iterator[tuple[Session, Actor]]:
    token = request.cookies.get(COOKIE, "")
    with state.unit_of_work() as db:
        yield db, state.patients.authenticate(db, token, state.now())


def _logged_in(request: Request, state: AppState, token: str) -> RedirectResponse:
    response = RedirectResponse("/patient/dossier", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request, state),
        max_age=state.settings.patient_session_minutes * 60,
        path="/patient",
    )
    return response


def _change(
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
    failed = _try_change(request, state, csrf, change, page)
    return failed or _render(request, state, page, message=done)


def _try_change(
    request: Request,
    state: AppState,
    csrf: str,
    change: Callable[[Session, Actor], object],
    page: str,
) -> Response | None:
    """Apply a change for the logged-in patient; None when done, else the page to show."""
    try:
        _check_csrf(request, state, csrf)
        with _patient(request, state) as (db, actor):
            change(db, actor)
    except Unauthenticated as exc:
        return _login_page(request, exc.detail, 401)
    except ServiceError as exc:
        return _render(request, state, page, message=refusal(exc.code), status=exc.status_code)
    return None


def _render(
    request: Request,
    state: AppState,
    name: str,
    *,
    message: str | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    """A page of the logged-in patient; back to the login page if the session is over."""
    try:
        with _patient(request, state) as (db, actor):
            data = record.read_record(db, actor, state.now())
            log = record.access_log(db, actor) if name in ("log.html", "access.html") else []
    except Unauthenticated as exc:
        return _login_page(request, exc.detail, 401)
    return _page(
        request,
        name,
        status,
        record=data,
        log=log,
        message=message,
        csrf=_csrf(state, COOKIE, request.cookies.get(COOKIE, "")),
        categories=CATEGORY_LABELS,
        roles=ROLE_LABELS,
        **context,
    )


@router.get("/portail.css")
def stylesheet() -> Response:
    """The portal's styles, the only ones its pages may use (Content-Security-Policy)."""
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


# -- log-in ------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
@router.get("/connexion", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    if request.cookies.get(COOKIE):
        return RedirectResponse("/patient/dossier", status_code=303)
    return _login_page(request)


@router.post("/activation", response_class=HTMLResponse)
def activate(
    request: Request,
    state: State,
    identifier: Annotated[str, Form(max_length=40)],
    code: Annotated[str, Form(max_length=20)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """First log-in with the access sheet; the provisional code is then spent."""
    if _forged(request, state, csrf):
        return _login_page(request, FORGED, 403)
    try:
        with state.unit_of_work() as db:
            attempt = state.patients.activate(
                db, identifier.strip().upper(), code.strip(), state.now(), source=source_of(request)
            )
        token = attempt.token_or_raise()  # a failed try is committed first
    except ServiceError as exc:
        return _waited(_login_page(request, exc.detail, exc.status_code), exc)
    return _logged_in(request, state, token)


@router.post("/code", response_class=HTMLResponse)
def send_code(
    request: Request,
    state: State,
    ins: Annotated[str, Form(max_length=40)],
    birth_date: Annotated[str, Form(max_length=10)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Send a one-time code; the page never says whether the record exists."""
    if _forged(request, state, csrf):
        return _login_page(request, FORGED, 403)
    ins = "".join(ins.split()).upper()
    try:
        BirthDate.parse(birth_date)  # an unknown day or month ("00") is a birth date too
        with state.unit_of_work() as db:
            state.patients.request_code(db, ins, birth_date, state.now(), source=source_of(request))
    except ValueError:
        return _login_page(request, "date de naissance invalide", 400)
    except ServiceError as exc:
        return _waited(_login_page(request, exc.detail, exc.status_code), exc)
    return _page(request, "code.html", ins=ins, birth_date=birth_date, message=None)


@router.post("/connexion", response_class=HTMLResponse)
def login(
    request: Request,
    state: State,
    ins: Annotated[str, Form(max_length=40)],
    birth_date: Annotated[str, Form(max_length=10)],
    code: Annotated[str, Form(max_length=20)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if _forged(request, state, csrf):
        return _page(request, "code.html", 403, ins=ins, birth_date=birth_date, message=FORGED)
    try:
        with state.unit_of_work() as db:
            attempt = state.patients.verify_code(
                db, ins, birth_date, code.strip(), state.now(), source=source_of(request)
            )
        token = attempt.token_or_raise()  # a failed try is committed first
    except ServiceError as exc:
        page = _page(
            request,
            "code.html",
            exc.status_code,
            ins=ins,
            birth_date=birth_date,
            message=exc.detail,
        )
        return _waited(page, exc)
    return _logged_in(request, state, token)


# -- creating one's DMP online -------------------------------------------------------------


def _creation_page(
    request: Request, form: dict[str, str], message: str | None = None, status: int = 200
) -> HTMLResponse:
    return _page(
        request,
        "creation.html",
        status,
        form=form,
        message=message,
        information_text=INFORMATION_TEXT,
        information_version=INFORMATION_VERSION,
    )


@router.get("/creation", response_class=HTMLResponse)
def creation_page(request: Request) -> Response:
    empty = dict.fromkeys(("nir", "birth_date", "vitale_serial", "channel", "address"), "")
    return _creation_page(request, empty)


@router.post("/creation", response_class=HTMLResponse)
def ask_creation(
    request: Request,
    state: State,
    nir: Annotated[str, Form(max_length=30)],
    birth_date: Annotated[str, Form(max_length=10)],
    vitale_serial: Annotated[str, Form(max_length=30)],
    information_version: Annotated[str, Form(max_length=32)],
    channel: Annotated[ContactChannel, Form()],
    address: Annotated[str, Form(max_length=254)],
    consent: Annotated[bool, Form()] = False,
    etreat: Annotated[bool, Form()] = False,
    btg: Annotated[bool, Form()] = False,
    masked: Annotated[bool, Form()] = False,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The proof, the consent and the contact: a code goes to the contact."""
    form = {
        "nir": "".join(nir.split()).upper(),
        "birth_date": birth_date,
        "vitale_serial": "".join(vitale_serial.split()),
        "channel": channel.value,
        "address": address,
    }
    if _forged(request, state, csrf):
        return _creation_page(request, form, FORGED, 403)
    if not consent:
        return _creation_page(request, form, "cochez la case de consentement", 400)
    try:
        contact = NotificationContact(channel=channel, address=address)
        proof = OnlineCreationProof(
            nir=form["nir"], birth_date=birth_date, vitale_serial=form["vitale_serial"]
        )
    except ValidationError:
        return _creation_page(request, form, "vérifiez les champs saisis", 400)
    try:
        with state.unit_of_work() as db:
            refused = state.online_creations.ask(
                db,
                Proof(proof.nir, proof.birth_date, proof.vitale_serial),
                information_version=information_version,
                contact=contact,
                emergency=EmergencyChoices(etreat=etreat, btg=btg, masked=masked),
                now=state.now(),
                source=source_of(request),
            )
        if refused is not None:  # the failed proof is counted first
            raise refused
    except ServiceError as exc:
        return _waited(_creation_page(request, form, refusal(exc.code), exc.status_code), exc)
    form["address"] = contact.address
    page = _page(request, "creation_code.html", form=form, message=None)
    page.headers["Cache-Control"] = "no-store"  # it carries the proof to the next step
    return page


@router.post("/creation/confirmation", response_class=HTMLResponse)
def confirm_creation(
    request: Request,
    state: State,
    nir: Annotated[str, Form(max_length=30)],
    birth_date: Annotated[str, Form(max_length=10)],
    vitale_serial: Annotated[str, Form(max_length=30)],
    address: Annotated[str, Form(max_length=254)],
    code: Annotated[str, Form(max_length=20)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The code typed back: the DMP is created and the patient logged in."""
    form = {"nir": nir, "birth_date": birth_date, "vitale_serial": vitale_serial}
    form["address"] = address
    if _forged(request, state, csrf):
        return _page(request, "creation_code.html", 403, form=form, message=FORGED)
    try:
        with state.unit_of_work() as db:
            attempt = state.online_creations.confirm(
                db,
                Proof(nir, birth_date, vitale_serial),
                code.strip(),
                state.now(),
                source=source_of(request),
            )
        token = attempt.token_or_raise()  # a failed try is committed first
    except ServiceError as exc:
        page = _page(
            request, "creation_code.html", exc.status_code, form=form, message=refusal(exc.code)
        )
        return _waited(page, exc)
    return _logged_in(request, state, token)


@router.post("/deconnexion")
def logout(
    request: Request, state: State, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    token = request.cookies.get(COOKIE, "")
    if token:
        try:
            _check_csrf(request, state, csrf)
        except Unauthenticated:  # a logged-in patient is not logged out from another site
            return _render(request, state, "record.html", message=FORGED, status=403)
        with state.unit_of_work() as db:
            state.patients.logout(db, token, state.now())
    response = _login_page(request, "vous êtes déconnecté(e)")
    response.delete_cookie(COOKIE, path="/patient")
    return response


# -- pages -------------------------------------------------------------------------------


@router.get("/dossier", response_class=HTMLResponse)
def my_record(request: Request, state: State) -> Response:
    return _render(request, state, "record.html")


@router.get("/ajouter", response_class=HTMLResponse)
def add_page(request: Request, state: State) -> Response:
    return _render(request, state, "add.html", additions=ADDITIONS)


@router.post("/ajouter", response_class=HTMLResponse)
def add(
    request: Request,
    state: State,
    kind: Annotated[str, Form(max_length=20)],
    text: Annotated[str, Form(max_length=5000)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    if kind not in ADDITIONS or len(text.strip()) < 2:
        return _render(request, state, "add.html", additions=ADDITIONS, message="texte trop court")
    category, title = ADDITIONS[kind]
    document = DocumentIn(
        category=category,
        title=title,
        content=text.strip(),
        document_date=state.now().date().isoformat(),
    )
    failed = _try_change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.documents.add_document(
            db, actor, str(actor.patient_ins), document, state.now()
        ),
        "add.html",
    )
    if failed:
        return failed
    return _render(request, state, "record.html", message=f"ajouté : {title.lower()}")


@router.post("/document/masque", response_class=HTMLResponse)
def set_masked(
    request: Request,
    state: State,
    document_id: Annotated[str, Form(min_length=36, max_length=36)],
    masked: Annotated[bool, Form()],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    """Mask a document from professionals, or show it to them again."""
    return _change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.documents.set_masked(
            db, actor, str(actor.patient_ins), document_id, masked, state.now()
        ),
        "record.html",
        done="document masqué aux professionnels" if masked else "document de nouveau visible",
    )


@router.post("/document/suppression", response_class=HTMLResponse)
def delete_document(
    request: Request,
    state: State,
    document_id: Annotated[str, Form(min_length=36, max_length=36)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    """Delete one of the patient's own notes."""
    return _change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.documents.delete_document(
            db, actor, str(actor.patient_ins), document_id, state.now()
        ),
        "record.html",
        done="note supprimée",
    )


@router.get("/acces", response_class=HTMLResponse)
def access_page(request: Request, state: State) -> Response:
    return _render(request, state, "access.html")


@router.post("/acces/professionnel", response_class=HTMLResponse)
def set_professional(
    request: Request,
    state: State,
    id_nat: Annotated[str, Form(max_length=40)],
    action: Annotated[ProfessionalChange, Form()],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    # A professional listed on the page comes with its card identifier; one typed by the
    # patient is an RPPS number, which names the card "8" + RPPS (dmpcommon.identifiers).
    number = "".join(id_nat.split())
    try:
        target = (
            id_nat_of_rpps(number)
            if len(number) == 11
            else check_health_professional_id_nat(number)
        )
    except IdentifierError:
        return _render(
            request,
            state,
            "access.html",
            message="numéro RPPS invalide : 11 chiffres, vérifiez-le sur une ordonnance",
        )
    done = {"authorise": "autorisé", "revoke": "retiré", "block": "bloqué", "unblock": "débloqué"}
    return _change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.professionals.set_professional(
            db, actor, str(actor.patient_ins), target, action, state.now()
        ),
        "access.html",
        done=f"professionnel {done[action]}",
    )


@router.post("/acces/medecin-traitant", response_class=HTMLResponse)
def set_treating_doctor(
    request: Request,
    state: State,
    rpps: Annotated[str, Form(max_length=40)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    """The patient designates their treating doctor, a physician, by RPPS."""
    try:
        target = id_nat_of_rpps("".join(rpps.split()))
    except IdentifierError:
        return _render(
            request,
            state,
            "access.html",
            message="numéro RPPS invalide : 11 chiffres, vérifiez-le sur une ordonnance",
        )
    return _change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.professionals.set_treating_doctor(
            db, actor, str(actor.patient_ins), target, state.now()
        ),
        "access.html",
        done="médecin traitant désigné",
    )


@router.post("/acces/urgence", response_class=HTMLResponse)
def set_emergency(
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=100)],
    etreat: Annotated[bool, Form()] = False,
    btg: Annotated[bool, Form()] = False,
    masked: Annotated[bool, Form()] = False,
) -> Response:
    choices = EmergencyChoices(etreat=etreat, btg=btg, masked=masked)
    return _change(
        request,
        state,
        csrf,
        lambda db, actor: record.set_emergency(db, actor, choices, state.now()),
        "access.html",
        done="choix d'urgence enregistrés",
    )


@router.get("/journal", response_class=HTMLResponse)
def log_page(request: Request, state: State) -> Response:
    return _render(request, state, "log.html")


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, state: State) -> Response:
    return _render(request, state, "notifications.html")


@router.post("/notifications", response_class=HTMLResponse)
def set_notifications(
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=100)],
    new_document: Annotated[bool, Form()] = False,
    first_access: Annotated[bool, Form()] = False,
    emergency: Annotated[bool, Form()] = False,
) -> Response:
    prefs = NotificationPreferences(
        new_document=new_document, first_access=first_access, emergency=emergency
    )
    return _change(
        request,
        state,
        csrf,
        lambda db, actor: record.set_notifications(db, actor, prefs, state.now()),
        "notifications.html",
        done="préférences enregistrées",
    )


@router.post("/contact", response_class=HTMLResponse)
def ask_contact_change(
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=100)],
    channel: Annotated[ContactChannel, Form()],
    address: Annotated[str, Form(max_length=254)],
) -> Response:
    """A new contact: a code goes there, to be typed back on the next page."""
    try:
        contact = NotificationContact(channel=channel, address=address)
    except ValidationError:
        return _render(
            request, state, "notifications.html", message="adresse e-mail ou mobile invalide"
        )
    failed = _try_change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.contacts.ask_change(db, actor, contact, state.now()),
        "notifications.html",
    )
    if failed:
        return failed
    return _render(request, state, "contact_code.html", asked=contact)


@router.post("/contact/confirmation", response_class=HTMLResponse)
def confirm_contact_change(
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=100)],
    code: Annotated[str, Form(max_length=20)],
) -> Response:
    """The code sent to the new contact: the contact changes, the old one is told."""
    refusals: list[ServiceError] = []

    def confirm(db: Session, actor: Actor) -> None:
        refusal_ = state.dmp.contacts.confirm_change(db, actor, code, state.now())
        if refusal_ is not None:
            refusals.append(refusal_)  # the failed try is committed with the rest

    failed = _try_change(request, state, csrf, confirm, "contact_code.html")
    if failed:
        return failed
    if refusals:
        return _render(
            request,
            state,
            "contact_code.html",
            message=refusal(refusals[0].code),
            status=refusals[0].status_code,
        )
    return _render(request, state, "notifications.html", message="contact changé")


@router.post("/fermeture", response_class=HTMLResponse)
def close(request: Request, state: State, csrf: Annotated[str, Form(max_length=100)]) -> Response:
    """Close the record: no professional reads it any more; its content stays."""
    return _change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.lifecycle.close(db, actor, str(actor.patient_ins), state.now()),
        "access.html",
        done="dossier fermé",
    )


@router.post("/reouverture", response_class=HTMLResponse)
def reopen(request: Request, state: State, csrf: Annotated[str, Form(max_length=100)]) -> Response:
    """Reopen a closed record."""
    return _change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.lifecycle.reopen(
            db, actor, str(actor.patient_ins), state.now()
        ),
        "access.html",
        done="dossier rouvert",
    )
