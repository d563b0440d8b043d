"""The portal's doors: activation, one-time codes, online creation, log-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from central.dmp.schemas import (
    EmergencyChoices,
    NotificationContact,
)
from central.errors import ServiceError, Unauthenticated
from central.patient.endpoints import source_of
from central.patient.online_creation import Proof
from central.patient.schemas import OnlineCreationProof
from central.portal.web import (
    COOKIE,
    FORGED,
    State,
    check_csrf,
    forged,
    logged_in,
    login_form,
    render_page,
    render_patient,
    router,
    waited,
)
from central.portal.wording import refusal
from dmpcommon.information import INFORMATION_TEXT, INFORMATION_VERSION
from dmpcommon.people import BirthDate
from dmpcommon.vocabulary import ContactChannel

# -- log-in ------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
@router.get("/connexion", response_class=HTMLResponse)
def show_login(request: Request) -> Response:
    if request.cookies.get(COOKIE):
        return RedirectResponse("/patient/dossier", status_code=303)
    return login_form(request)


@router.post("/activation", response_class=HTMLResponse)
def activate(
    request: Request,
    state: State,
    identifier: Annotated[str, Form(max_length=40)],
    code: Annotated[str, Form(max_length=20)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """First log-in with the access sheet; the provisional code is then spent."""
    if forged(request, state, csrf):
        return login_form(request, FORGED, 403)
    try:
        with state.unit_of_work() as db:
            attempt = state.patients.activate(
                db, identifier.strip().upper(), code.strip(), state.now(), source=source_of(request)
            )
        token = attempt.token_or_raise()  # a failed try is committed first
    except ServiceError as exc:
        return waited(login_form(request, exc.detail, exc.status_code), exc)
    return logged_in(request, state, token)


@router.post("/code", response_class=HTMLResponse)
def send_code(
    request: Request,
    state: State,
    ins: Annotated[str, Form(max_length=40)],
    birth_date: Annotated[str, Form(max_length=10)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Send a one-time code; the page never says whether the record exists."""
    if forged(request, state, csrf):
        return login_form(request, FORGED, 403)
    ins = "".join(ins.split()).upper()
    try:
        BirthDate.parse(birth_date)  # an unknown day or month ("00") is a birth date too
        with state.unit_of_work() as db:
            state.patients.request_code(db, ins, birth_date, state.now(), source=source_of(request))
    except ValueError:
        return login_form(request, "date de naissance invalide", 400)
    except ServiceError as exc:
        return waited(login_form(request, exc.detail, exc.status_code), exc)
    return render_page(request, "code.html", ins=ins, birth_date=birth_date, message=None)


@router.post("/connexion", response_class=HTMLResponse)
def login(
    request: Request,
    state: State,
    ins: Annotated[str, Form(max_length=40)],
    birth_date: Annotated[str, Form(max_length=10)],
    code: Annotated[str, Form(max_length=20)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if forged(request, state, csrf):
        return render_page(
            request, "code.html", 403, ins=ins, birth_date=birth_date, message=FORGED
        )
    try:
        with state.unit_of_work() as db:
            attempt = state.patients.verify_code(
                db, ins, birth_date, code.strip(), state.now(), source=source_of(request)
            )
        token = attempt.token_or_raise()  # a failed try is committed first
    except ServiceError as exc:
        page = render_page(
            request,
            "code.html",
            exc.status_code,
            ins=ins,
            birth_date=birth_date,
            message=exc.detail,
        )
        return waited(page, exc)
    return logged_in(request, state, token)


# -- creating one's DMP online -------------------------------------------------------------


def _creation_page(
    request: Request, form: dict[str, str], message: str | None = None, status: int = 200
) -> HTMLResponse:
    return render_page(
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
    if forged(request, state, csrf):
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
        return waited(_creation_page(request, form, refusal(exc.code), exc.status_code), exc)
    form["address"] = contact.address
    page = render_page(request, "creation_code.html", form=form, message=None)
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
    if forged(request, state, csrf):
        return render_page(request, "creation_code.html", 403, form=form, message=FORGED)
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
        page = render_page(
            request, "creation_code.html", exc.status_code, form=form, message=refusal(exc.code)
        )
        return waited(page, exc)
    return logged_in(request, state, token)


@router.post("/deconnexion")
def logout(
    request: Request, state: State, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    token = request.cookies.get(COOKIE, "")
    if token:
        try:
            check_csrf(request, state, csrf)
        except Unauthenticated:  # a logged-in patient is not logged out from another site
            return render_patient(request, state, "record.html", message=FORGED, status=403)
        with state.unit_of_work() as db:
            state.patients.logout(db, token, state.now())
    response = login_form(request, "vous êtes déconnecté(e)")
    response.delete_cookie(COOKIE, path="/patient")
    return response
