"""The portal's doors: activation, one-time codes, online creation, log-out."""

from __future__ import annotations

from typing import Annotated, Any

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
from central.patient.service import LoginAttempt
from central.portal.web import (
    COOKIE,
    FORGED,
    State,
    birth_date_from,
    check_csrf,
    forged,
    logged_in,
    login_form,
    record_key,
    render_page,
    render_patient,
    router,
    tries_left,
    tries_said,
    waited,
)
from central.portal.wording import refusal
from dmpcommon import InvalidNirError, check_nir
from dmpcommon.information import INFORMATION_TEXT, INFORMATION_VERSION
from dmpcommon.vocabulary import ContactChannel

# -- log-in ------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
@router.get("/connexion", response_class=HTMLResponse)
def show_login(request: Request) -> Response:
    if request.cookies.get(COOKIE):
        return RedirectResponse("/patient/dossier", status_code=303)
    return login_form(request)


def _six_digits(code: str) -> bool:
    """A typed code worth a try: a slip of the finger is told, not counted."""
    typed = "".join(code.split())
    return len(typed) == 6 and typed.isdigit()


def _birth(form: dict[str, str], prefix: str) -> dict[str, str]:
    return {part: form.get(f"{prefix}_{part}", "") for part in ("day", "month", "year")}


@router.post("/activation", response_class=HTMLResponse)
def activate(
    request: Request,
    state: State,
    identifier: Annotated[str, Form(max_length=40)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    activation_birth_day: Annotated[str, Form(max_length=4)] = "",
    activation_birth_month: Annotated[str, Form(max_length=4)] = "",
    activation_birth_year: Annotated[str, Form(max_length=6)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """First log-in with the access sheet and the birth date of the record's person; the
    provisional code is then spent."""
    kept = {
        "identifier": identifier,
        "activation_birth_day": activation_birth_day,
        "activation_birth_month": activation_birth_month,
        "activation_birth_year": activation_birth_year,
    }
    form = {"identifier": identifier, "activation_birth": _birth(kept, "activation_birth")}
    if forged(request, state, csrf):
        return login_form(request, status=403, alert=FORGED, form=form)
    errors: dict[str, str] = {}
    if len("".join(identifier.split())) < 4:
        errors["identifier"] = "recopiez l'identifiant imprimé sur la fiche"
    if len("".join(code.split())) != 8 or not "".join(code.split()).isdigit():
        errors["activation-code"] = "le code provisoire a 8 chiffres"
    try:
        born = birth_date_from(activation_birth_day, activation_birth_month, activation_birth_year)
    except ValueError as exc:
        errors["activation_birth"] = str(exc)
    if errors:
        return login_form(request, status=400, errors=errors, form=form)
    attempt: LoginAttempt | None = None
    try:
        with state.unit_of_work() as db:
            attempt = state.patients.activate(
                db, identifier, code, born, state.now(), source=source_of(request)
            )
        token = attempt.token_or_raise()  # a failed try is committed first
    except ServiceError as exc:
        left = attempt.tries_left if attempt is not None and exc is attempt.refusal else None
        page = login_form(
            request,
            status=exc.status_code,
            errors={"activation-code": tries_said(exc.detail, left)},
            form=form,
        )
        return waited(page, exc)
    return logged_in(request, state, token)


@router.post("/code", response_class=HTMLResponse)
def send_code(
    request: Request,
    state: State,
    ins: Annotated[str, Form(max_length=40)] = "",
    birth_day: Annotated[str, Form(max_length=4)] = "",
    birth_month: Annotated[str, Form(max_length=4)] = "",
    birth_year: Annotated[str, Form(max_length=6)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Send a one-time code; the page never says whether the record exists."""
    number = "".join(ins.split()).upper()
    kept = {"birth_day": birth_day, "birth_month": birth_month, "birth_year": birth_year}
    form = {"ins": number, "birth": _birth(kept, "birth")}
    if forged(request, state, csrf):
        return login_form(request, status=403, alert=FORGED, form=form)
    errors: dict[str, str] = {}
    try:
        number = check_nir(number)  # a slip of the finger is told here, not sent
    except InvalidNirError:
        errors["ins"] = (
            "numéro invalide : 15 caractères, clé comprise (chiffres, 2A ou 2B pour la Corse)"
        )
    try:
        born = birth_date_from(birth_day, birth_month, birth_year)
    except ValueError as exc:
        errors["birth"] = str(exc)
    if errors:
        return login_form(request, status=400, errors=errors, form=form)
    try:
        with state.unit_of_work() as db:
            state.patients.request_code(db, number, born, state.now(), source=source_of(request))
    except ServiceError as exc:
        page = login_form(request, status=exc.status_code, alert=exc.detail, form=form)
        return waited(page, exc)
    return render_page(request, "code.html", ins=number, birth_date=born)


@router.post("/connexion", response_class=HTMLResponse)
def login(
    request: Request,
    state: State,
    ins: Annotated[str, Form(max_length=40)] = "",
    birth_date: Annotated[str, Form(max_length=10)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    def again(status: int, error: str) -> HTMLResponse:
        return render_page(
            request, "code.html", status, ins=ins, birth_date=birth_date, errors={"code": error}
        )

    if forged(request, state, csrf):
        return again(403, FORGED)
    if not _six_digits(code):
        return again(400, "le code reçu a 6 chiffres")
    attempt: LoginAttempt | None = None
    try:
        with state.unit_of_work() as db:
            attempt = state.patients.verify_code(
                db, ins, birth_date, code.strip(), state.now(), source=source_of(request)
            )
        token = attempt.token_or_raise()  # a failed try is committed first
    except ServiceError as exc:
        left = attempt.tries_left if attempt is not None and exc is attempt.refusal else None
        return waited(again(exc.status_code, tries_said(exc.detail, left)), exc)
    return logged_in(request, state, token)


@router.post("/dossier/choix", response_class=HTMLResponse)
def choose_record(
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=100)] = "",
    record: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Show another record this person may open: theirs, or a child's they represent."""
    token = request.cookies.get(COOKIE, "")
    try:
        check_csrf(request, state, csrf)
        with state.unit_of_work() as db:
            seen = state.patients.viewing(db, token, state.now())
            chosen = [d.ins for d in seen.others if record_key(state, d.ins) == record]
            if not chosen:
                raise Unauthenticated("ce dossier ne vous est plus accessible : reconnectez-vous")
            state.patients.choose(db, token, chosen[0], state.now())
    except Unauthenticated as exc:
        return login_form(request, exc.detail, 401)
    return RedirectResponse("/patient/dossier", status_code=303)


# -- creating one's DMP online -------------------------------------------------------------


def _creation_page(
    request: Request,
    form: dict[str, Any],
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
) -> HTMLResponse:
    return render_page(
        request,
        "creation.html",
        status,
        form=form,
        errors=errors or {},
        alert=alert,
        information_text=INFORMATION_TEXT,
        information_version=INFORMATION_VERSION,
    )


@router.get("/creation", response_class=HTMLResponse)
def creation_page(request: Request) -> Response:
    return _creation_page(request, {})


@router.post("/creation", response_class=HTMLResponse)
def ask_creation(
    request: Request,
    state: State,
    nir: Annotated[str, Form(max_length=30)] = "",
    vitale_serial: Annotated[str, Form(max_length=30)] = "",
    information_version: Annotated[str, Form(max_length=32)] = "",
    channel: Annotated[ContactChannel, Form()] = ContactChannel.EMAIL,
    address: Annotated[str, Form(max_length=254)] = "",
    birth_day: Annotated[str, Form(max_length=4)] = "",
    birth_month: Annotated[str, Form(max_length=4)] = "",
    birth_year: Annotated[str, Form(max_length=6)] = "",
    consent: Annotated[bool, Form()] = False,
    etreat: Annotated[bool, Form()] = False,
    btg: Annotated[bool, Form()] = False,
    masked: Annotated[bool, Form()] = False,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The proof, the consent and the contact: a code goes to the contact."""
    kept = {"birth_day": birth_day, "birth_month": birth_month, "birth_year": birth_year}
    form: dict[str, Any] = {
        "nir": "".join(nir.split()).upper(),
        "birth": _birth(kept, "birth"),
        "vitale_serial": "".join(vitale_serial.split()),
        "channel": channel.value,
        "address": address,
        "etreat": etreat,
        "btg": btg,
        "masked": masked,
    }
    if forged(request, state, csrf):
        return _creation_page(request, form, 403, alert=FORGED)
    errors: dict[str, str] = {}
    try:
        check_nir(form["nir"])
    except InvalidNirError:
        errors["nir"] = "numéro invalide : 15 caractères, clé comprise ; vérifiez-le sur la carte"
    try:
        born = birth_date_from(birth_day, birth_month, birth_year)
    except ValueError as exc:
        errors["birth"] = str(exc)
    if not form["vitale_serial"].isdigit() or not 6 <= len(form["vitale_serial"]) <= 16:
        errors["vitale_serial"] = "recopiez les chiffres imprimés sur la carte Vitale"
    try:
        contact = NotificationContact(channel=channel, address=address)
    except ValidationError:
        errors["address"] = (
            "adresse e-mail invalide, par exemple prenom.nom@exemple.fr"
            if channel is ContactChannel.EMAIL
            else "numéro de mobile invalide, par exemple 06 12 34 56 78"
        )
    if not consent:
        errors["consent"] = "cochez la case de consentement pour créer votre DMP"
    if errors:
        return _creation_page(request, form, 400, errors=errors)
    try:
        proof = OnlineCreationProof(
            nir=form["nir"], birth_date=born, vitale_serial=form["vitale_serial"]
        )
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
    except ValidationError:
        return _creation_page(request, form, 400, alert="vérifiez les champs saisis")
    except ServiceError as exc:
        page = _creation_page(request, form, exc.status_code, alert=refusal(exc.code))
        return waited(page, exc)
    asked = {**form, "birth_date": born, "address": contact.address}
    page = render_page(request, "creation_code.html", form=asked)
    page.headers["Cache-Control"] = "no-store"  # it carries the proof to the next step
    return page


@router.post("/creation/confirmation", response_class=HTMLResponse)
def confirm_creation(
    request: Request,
    state: State,
    nir: Annotated[str, Form(max_length=30)] = "",
    birth_date: Annotated[str, Form(max_length=10)] = "",
    vitale_serial: Annotated[str, Form(max_length=30)] = "",
    address: Annotated[str, Form(max_length=254)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The code typed back: the DMP is created and the patient logged in."""
    form = {"nir": nir, "birth_date": birth_date, "vitale_serial": vitale_serial}
    form["address"] = address
    if forged(request, state, csrf):
        return render_page(request, "creation_code.html", 403, form=form, errors={"code": FORGED})
    if not _six_digits(code):
        errors = {"code": "le code reçu a 6 chiffres"}
        return render_page(request, "creation_code.html", 400, form=form, errors=errors)
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
            request,
            "creation_code.html",
            exc.status_code,
            form=form,
            errors={"code": tries_left(refusal(exc.code), exc)},
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
