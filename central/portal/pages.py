"""The logged-in patient's pages: the record, additions, masking, who may read.

Every change of access is asked first (`ask_then_change`): a form posted without
`confirmed=1` changes nothing and shows what it would do, in French, with "Confirmer" (the
same form again) and "Annuler"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from central.actors import Actor
from central.dmp.common import kept_from_representatives, relation
from central.dmp.repository import get_dmp
from central.dmp.schemas import (
    Category,
    DocumentIn,
    EmergencyChoices,
    ProfessionalChange,
)
from central.errors import NotFound, ServiceError, Unauthenticated
from central.patient import record
from central.portal.web import (
    State,
    change,
    check_csrf,
    logged_patient,
    login_form,
    render_patient,
    router,
    try_change,
)
from central.portal.wording import (
    AUTHORISE_LIFTS_BLOCK,
    CONFIRMATIONS,
    EMERGENCY_CONSEQUENCES,
    TREATING_DOCTOR_REPLACED,
    TREATING_DOCTOR_REVOKED,
    UNKNOWN_PROFESSIONAL,
    refusal,
)
from central.professionals import directory
from central.state import AppState
from dmpcommon.identifiers import (
    IdentifierError,
    check_health_professional_id_nat,
    id_nat_of_rpps,
)
from dmpcommon.vocabulary import Role

ADDITIONS = {
    "contact": (Category.EMERGENCY_CONTACTS, "Personne à prévenir"),
    "reaction": (Category.PATHOLOGIES_ALLERGIES, "Réaction à un médicament"),
    "directives": (Category.ADVANCE_DIRECTIVES, "Directives anticipées"),
}


# -- asking before a change -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Question:
    """A change put to the patient before it is made: what, and what it will change."""

    text: str
    consequences: tuple[str, ...]


def question(kind: str, *, extra: tuple[str, ...] = (), **names: str) -> Question:
    """The question for one kind of change (central.portal.wording.CONFIRMATIONS)."""
    text, consequences = CONFIRMATIONS[kind]
    return Question(text.format(**names), (*consequences, *extra))


Ask = Callable[[Session, Actor], Question]
Apply = Callable[[Session, Actor], object]


def ask_then_change(
    request: Request,
    state: AppState,
    *,
    csrf: str,
    confirmed: bool,
    fields: dict[str, str],
    ask: Ask,
    apply: Apply,
    page: str,
    back: str,
    done: str,
) -> Response:
    """The one way a change of access is made from the portal: confirmed, it is applied
    (web.change); otherwise nothing changes and the page asks, with the form's `fields`
    carried for "Confirmer" and `back` for "Annuler". `ask` may refuse at once (a document
    the patient may not know of) with a ServiceError."""
    if confirmed:
        return change(request, state, csrf, apply, page, done=done)
    try:
        check_csrf(request, state, csrf)
        with logged_patient(request, state) as (db, actor):
            asked = ask(db, actor)
    except Unauthenticated as exc:
        return login_form(request, exc.detail, 401)
    except ServiceError as exc:
        return render_patient(request, state, page, alert=refusal(exc.code), status=exc.status_code)
    return render_patient(
        request,
        state,
        "confirm.html",
        question=asked,
        action=request.url.path,
        fields=fields,
        back=back,
    )


def _who(db: Session, id_nat: str) -> str:
    return directory.label_of(id_nat, directory.names_of(db, [id_nat]))


def _unknown(db: Session, id_nat: str) -> tuple[str, ...]:
    """What to add to a question about a professional the service has never seen."""
    return () if directory.names_of(db, [id_nat]) else (UNKNOWN_PROFESSIONAL,)


def _title(db: Session, actor: Actor, document_id: str) -> str:
    title = record.document_title(db, actor, document_id)
    if title is None:
        raise NotFound("no such document", code="no_document")
    return title


# -- pages -------------------------------------------------------------------------------


@router.get("/dossier", response_class=HTMLResponse)
def my_record(request: Request, state: State) -> Response:
    return render_patient(request, state, "record.html")


@router.get("/ajouter", response_class=HTMLResponse)
def add_page(request: Request, state: State) -> Response:
    return render_patient(request, state, "add.html", additions=ADDITIONS)


@router.post("/ajouter", response_class=HTMLResponse)
def add(
    request: Request,
    state: State,
    kind: Annotated[str, Form(max_length=20)],
    text: Annotated[str, Form(max_length=5000)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    # A refused note is shown again in its box, the error tied to it (add.html).
    kept: dict[str, Any] = {"additions": ADDITIONS, "form": {"kind": kind, "text": text}}
    if kind not in ADDITIONS or len(text.strip()) < 2:
        error = {f"text-{kind}": "Écrivez votre note : 2 caractères au moins."}
        return render_patient(request, state, "add.html", errors=error, status=400, **kept)
    category, title = ADDITIONS[kind]
    document = DocumentIn(
        category=category,
        title=title,
        content=text.strip(),
        document_date=state.now().date().isoformat(),
    )
    failed = try_change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.documents.add_document(
            db, actor, str(actor.patient_ins), document, state.now()
        ),
        "add.html",
        **kept,
    )
    if failed:
        return failed
    return render_patient(request, state, "record.html", message=f"ajouté : {title.lower()}")


@router.post("/document/masque", response_class=HTMLResponse)
def set_masked(
    request: Request,
    state: State,
    document_id: Annotated[str, Form(min_length=36, max_length=36)],
    masked: Annotated[bool, Form()],
    csrf: Annotated[str, Form(max_length=100)],
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """Mask a document from professionals, or show it to them again."""
    return ask_then_change(
        request,
        state,
        csrf=csrf,
        confirmed=confirmed,
        fields={"document_id": document_id, "masked": "true" if masked else "false"},
        ask=lambda db, actor: question(
            "mask" if masked else "unmask", title=_title(db, actor, document_id)
        ),
        apply=lambda db, actor: state.dmp.documents.set_masked(
            db, actor, str(actor.patient_ins), document_id, masked, state.now()
        ),
        page="record.html",
        back="/patient/dossier",
        done="document masqué aux professionnels" if masked else "document de nouveau visible",
    )


@router.post("/document/suppression", response_class=HTMLResponse)
def delete_document(
    request: Request,
    state: State,
    document_id: Annotated[str, Form(min_length=36, max_length=36)],
    csrf: Annotated[str, Form(max_length=100)],
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """Delete one of the patient's own notes."""
    return ask_then_change(
        request,
        state,
        csrf=csrf,
        confirmed=confirmed,
        fields={"document_id": document_id},
        ask=lambda db, actor: question("delete", title=_title(db, actor, document_id)),
        apply=lambda db, actor: state.dmp.documents.delete_document(
            db, actor, str(actor.patient_ins), document_id, state.now()
        ),
        page="record.html",
        back="/patient/dossier",
        done="note supprimée",
    )


@router.get("/acces", response_class=HTMLResponse)
def access_page(
    request: Request,
    state: State,
    nom: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Who may read the record; with `nom`, the professionals the service knows by that
    name, to authorise or block (logged-in patients only: the search runs in their session)."""
    if nom is None:
        return render_patient(request, state, "access.html")
    nom = "".join(c for c in nom if c.isprintable())  # a NUL or a control: never a name
    folded = directory.fold(nom)
    if len(folded.replace(" ", "")) < directory.SEARCH_MIN_LENGTH:
        found: list[directory.KnownProfessional] = []
        error = f"saisissez au moins {directory.SEARCH_MIN_LENGTH} lettres du nom"
    else:
        try:
            with logged_patient(request, state) as (db, actor):
                found = directory.search(db, nom)
                if actor.role is Role.REPRESENTATIVE:  # whom a minor sees in confidence
                    confidential = kept_from_representatives(db, str(actor.patient_ins))
                    found = [p for p in found if p.id_nat not in confidential]
        except Unauthenticated as exc:
            return login_form(request, exc.detail, 401)
        error = None
    return render_patient(
        request,
        state,
        "access.html",
        search={"nom": nom, "error": error, "found": found},
        max_found=directory.SEARCH_MAX_RESULTS,
    )


_RPPS_INVALID = "numéro RPPS invalide : 11 chiffres, vérifiez-le sur une ordonnance"


def _rpps_refused(request: Request, state: AppState, field: str, typed: str) -> Response:
    """The access page again: the RPPS number said wrong at the top and by its field, as
    typed."""
    return render_patient(
        request,
        state,
        "access.html",
        message=_RPPS_INVALID,
        errors={field: _RPPS_INVALID},
        typed={field: typed},
    )


@router.post("/acces/professionnel", response_class=HTMLResponse)
def set_professional(
    request: Request,
    state: State,
    id_nat: Annotated[str, Form(max_length=40)],
    action: Annotated[ProfessionalChange, Form()],
    csrf: Annotated[str, Form(max_length=100)],
    confirmed: Annotated[bool, Form()] = False,
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
        return _rpps_refused(request, state, "id_nat", id_nat)

    def ask(db: Session, actor: Actor) -> Question:
        ins = str(actor.patient_ins)
        treating = get_dmp(db, ins).treating_doctor == target
        extra: tuple[str, ...] = (
            (TREATING_DOCTOR_REVOKED,) if treating and action == "revoke" else ()
        )
        if action == "authorise" and relation(db, get_dmp(db, ins), target).blocked:
            extra += (AUTHORISE_LIFTS_BLOCK,)  # saying so: an authorisation ends a block
        return question(action.value, who=_who(db, target), extra=extra + _unknown(db, target))

    done = {"authorise": "autorisé", "revoke": "retiré", "block": "bloqué", "unblock": "débloqué"}
    return ask_then_change(
        request,
        state,
        csrf=csrf,
        confirmed=confirmed,
        fields={"id_nat": target, "action": action.value},
        ask=ask,
        apply=lambda db, actor: state.dmp.professionals.set_professional(
            db, actor, str(actor.patient_ins), target, action, state.now()
        ),
        page="access.html",
        back="/patient/acces",
        done=f"professionnel {done[action]}",
    )


@router.post("/acces/medecin-traitant", response_class=HTMLResponse)
def set_treating_doctor(
    request: Request,
    state: State,
    rpps: Annotated[str, Form(max_length=40)],
    csrf: Annotated[str, Form(max_length=100)],
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """The patient designates their treating doctor, a physician, by RPPS."""
    try:
        target = id_nat_of_rpps("".join(rpps.split()))
    except IdentifierError:
        return _rpps_refused(request, state, "rpps", rpps)

    def ask(db: Session, actor: Actor) -> Question:
        current = get_dmp(db, str(actor.patient_ins)).treating_doctor
        extra = (
            (TREATING_DOCTOR_REPLACED.format(who=_who(db, current)),)
            if current and current != target
            else ()
        ) + _unknown(db, target)
        return question("treating_doctor", who=_who(db, target), extra=extra)

    return ask_then_change(
        request,
        state,
        csrf=csrf,
        confirmed=confirmed,
        fields={"rpps": target[1:]},
        ask=ask,
        apply=lambda db, actor: state.dmp.professionals.set_treating_doctor(
            db, actor, str(actor.patient_ins), target, state.now()
        ),
        page="access.html",
        back="/patient/acces",
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
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    choices = EmergencyChoices(etreat=etreat, btg=btg, masked=masked)
    chosen = {"etreat": etreat, "btg": btg, "masked": masked}
    return ask_then_change(
        request,
        state,
        csrf=csrf,
        confirmed=confirmed,
        fields={name: "true" for name, on in chosen.items() if on},
        ask=lambda db, actor: question(
            "emergency",
            extra=tuple(
                EMERGENCY_CONSEQUENCES[name][0 if on else 1] for name, on in chosen.items()
            ),
        ),
        apply=lambda db, actor: record.set_emergency(db, actor, choices, state.now()),
        page="access.html",
        back="/patient/acces#urgence",
        done="choix d'urgence enregistrés",
    )


@router.post("/fermeture", response_class=HTMLResponse)
def close(
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=100)],
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """Close the record: no professional reads it any more; its content stays."""
    return _lifecycle(request, state, csrf, confirmed, "close", done="dossier fermé")


@router.post("/reouverture", response_class=HTMLResponse)
def reopen(
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=100)],
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """Reopen a closed record."""
    return _lifecycle(request, state, csrf, confirmed, "reopen", done="dossier rouvert")


def _lifecycle(
    request: Request,
    state: AppState,
    csrf: str,
    confirmed: bool,
    change: Literal["close", "reopen"],
    *,
    done: str,
) -> Response:
    apply = state.dmp.lifecycle.close if change == "close" else state.dmp.lifecycle.reopen
    return ask_then_change(
        request,
        state,
        csrf=csrf,
        confirmed=confirmed,
        fields={},
        ask=lambda db, actor: question(change),
        apply=lambda db, actor: apply(db, actor, str(actor.patient_ins), state.now()),
        page="access.html",
        back="/patient/acces#fermeture",
        done=done,
    )
