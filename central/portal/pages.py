"""The logged-in patient's pages: the record, additions, masking, who may read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from central.dmp.schemas import (
    Category,
    DocumentIn,
    EmergencyChoices,
    ProfessionalChange,
)
from central.patient import record
from central.portal.web import (
    State,
    change,
    render_patient,
    router,
    try_change,
)
from dmpcommon.identifiers import (
    IdentifierError,
    check_health_professional_id_nat,
    id_nat_of_rpps,
)

ADDITIONS = {
    "contact": (Category.EMERGENCY_CONTACTS, "Personne à prévenir"),
    "reaction": (Category.PATHOLOGIES_ALLERGIES, "Réaction à un médicament"),
    "directives": (Category.ADVANCE_DIRECTIVES, "Directives anticipées"),
}


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
    if kind not in ADDITIONS or len(text.strip()) < 2:
        return render_patient(
            request, state, "add.html", additions=ADDITIONS, message="texte trop court"
        )
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
) -> Response:
    """Mask a document from professionals, or show it to them again."""
    return change(
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
    return change(
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
    return render_patient(request, state, "access.html")


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
        return render_patient(
            request,
            state,
            "access.html",
            message="numéro RPPS invalide : 11 chiffres, vérifiez-le sur une ordonnance",
        )
    done = {"authorise": "autorisé", "revoke": "retiré", "block": "bloqué", "unblock": "débloqué"}
    return change(
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
        return render_patient(
            request,
            state,
            "access.html",
            message="numéro RPPS invalide : 11 chiffres, vérifiez-le sur une ordonnance",
        )
    return change(
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
    return change(
        request,
        state,
        csrf,
        lambda db, actor: record.set_emergency(db, actor, choices, state.now()),
        "access.html",
        done="choix d'urgence enregistrés",
    )


@router.post("/fermeture", response_class=HTMLResponse)
def close(request: Request, state: State, csrf: Annotated[str, Form(max_length=100)]) -> Response:
    """Close the record: no professional reads it any more; its content stays."""
    return change(
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
    return change(
        request,
        state,
        csrf,
        lambda db, actor: state.dmp.lifecycle.reopen(
            db, actor, str(actor.patient_ins), state.now()
        ),
        "access.html",
        done="dossier rouvert",
    )
