"""Where the patient is told, and the way back in: notifications and the contact."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from central.actors import Actor
from central.dmp.schemas import (
    NotificationContact,
)
from central.errors import ServiceError
from central.patient import record
from central.patient.schemas import NotificationPreferences
from central.portal.web import (
    State,
    change,
    render_patient,
    router,
    tries_left,
    try_change,
)
from central.portal.wording import refusal
from dmpcommon.vocabulary import ContactChannel


@router.get("/journal", response_class=HTMLResponse)
def log_page(request: Request, state: State) -> Response:
    return render_patient(request, state, "log.html")


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, state: State) -> Response:
    return render_patient(request, state, "notifications.html")


@router.post("/notifications", response_class=HTMLResponse)
def set_notifications(
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=100)] = "",
    new_document: Annotated[bool, Form()] = False,
    first_access: Annotated[bool, Form()] = False,
    emergency: Annotated[bool, Form()] = False,
) -> Response:
    prefs = NotificationPreferences(
        new_document=new_document, first_access=first_access, emergency=emergency
    )
    return change(
        request,
        state,
        csrf,
        lambda db, actor: record.set_notifications(db, actor, prefs, state.now()),
        "notifications.html",
        done="préférences enregistrées",
    )


@router.get("/premier-contact", response_class=HTMLResponse)
def first_contact_page(request: Request, state: State) -> Response:
    """Before the record is shown, a way back in: a contact, confirmed by a code."""
    return render_patient(request, state, "first_contact.html")


@router.post("/contact", response_class=HTMLResponse)
def ask_contact_change(
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=100)] = "",
    channel: Annotated[ContactChannel, Form()] = ContactChannel.EMAIL,
    address: Annotated[str, Form(max_length=254)] = "",
    first: Annotated[bool, Form()] = False,
) -> Response:
    """A new contact: a code goes there, to be typed back on the next page."""
    page = "first_contact.html" if first else "notifications.html"
    form = {"channel": channel.value, "address": address}
    try:
        contact = NotificationContact(channel=channel, address=address)
    except ValidationError:
        wrong = (
            "adresse e-mail invalide, par exemple prenom.nom@exemple.fr"
            if channel is ContactChannel.EMAIL
            else "numéro de mobile invalide, par exemple 06 12 34 56 78"
        )
        return render_patient(
            request, state, page, status=400, errors={"address": wrong}, form=form
        )
    failed = try_change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.contacts.ask_change(db, actor, contact, state.now()),
        page,
        form=form,
    )
    if failed:
        return failed
    return render_patient(request, state, "contact_code.html", asked=contact, first=first)


@router.post("/contact/confirmation", response_class=HTMLResponse)
def confirm_contact_change(
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=100)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    first: Annotated[bool, Form()] = False,
) -> Response:
    """The code sent to the new contact: the contact changes, the old one is told."""
    typed = "".join(code.split())
    if len(typed) != 6 or not typed.isdigit():  # a slip of the finger is told, not counted
        return render_patient(
            request,
            state,
            "contact_code.html",
            errors={"code": "le code reçu a 6 chiffres"},
            status=400,
            first=first,
        )
    refusals: list[ServiceError] = []

    def confirm(db: Session, actor: Actor) -> None:
        refusal_ = state.dmp.contacts.confirm_change(db, actor, code, state.now())
        if refusal_ is not None:
            refusals.append(refusal_)  # the failed try is committed with the rest

    failed = try_change(request, state, csrf, confirm, "contact_code.html", first=first)
    if failed:
        return failed
    if refusals:
        return render_patient(
            request,
            state,
            "contact_code.html",
            errors={"code": tries_left(refusal(refusals[0].code), refusals[0])},
            status=refusals[0].status_code,
            first=first,
        )
    if first:
        return render_patient(
            request,
            state,
            "record.html",
            message="contact confirmé : vos codes de connexion et vos notifications y arriveront",
        )
    return render_patient(request, state, "notifications.html", message="contact changé")
