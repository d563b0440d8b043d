"""The patient's access pages: every change of access asked before it is made, professionals
shown by name, profession and place, found by name, and pages that explain when empty.

Over real HTTP against the real service (the forms as a browser posts them), and in headless
Chromium for the journey a patient makes. The patient's session is opened through the API and
given to the client as its cookie: log-in has its own tests (test_portal.py)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from central.dmp.models import Dmp, DmpProfessional, Document
from central.portal.web import COOKIE, csrf_token
from tests.support.aged import aged
from tests.support.browser import browser, page
from tests.support.central import Professional, Server, fixture_professional, login
from tests.support.dmp import (
    CLAIRE,
    JEANNE,
    LEO,
    PHARMACIST,
    PHYSICIAN,
    add_doc,
    claires_child,
    create,
    patient_sets,
)
from tests.support.dmp import patient_token as api_patient_token
from tests.support.mail import SmsGateway
from tests.support.portal import JEANNE_EMAIL, jeanne_record

__all__ = ["browser", "page"]  # fixtures from tests.support.browser

# The portal adds pages, not storage: one backend.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

EMAIL = JEANNE_EMAIL
ANNE = "Anne DUPONT, pharmacien, Pharmacie du Port, Lorient"
HELENE = "Helene MORVAN, médecin, Cabinet médical du Quai, Paimpol"
NEVER_SEEN = "899700307152"  # a pharmacist's card that never logged in to the service
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@dataclass
class Patient:
    """A logged-in patient's browser, as far as the forms go: the session cookie and the
    form token bound to it."""

    server: Server
    token: str
    created: dict[str, Any]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, cookies={COOKIE: self.token}, timeout=30)

    @property
    def csrf(self) -> str:
        return csrf_token(self.server.state, COOKIE, self.token)

    def get(self, path: str, **params: str) -> httpx.Response:
        with self.client() as client:
            return client.get(path, params=params)

    def post(self, path: str, **fields: str) -> httpx.Response:
        with self.client() as client:
            return client.post(path, data={"csrf": self.csrf, **fields})


def _patient(server: Server, created: dict[str, Any]) -> Patient:
    return Patient(server, api_patient_token(server, created), created)


@pytest.fixture
def jeanne(server: Server, pharmacist: Professional, physician: Professional) -> Patient:
    """Jeanne logged in: the pharmacist and her doctor authorised, two documents by her
    doctor, one note of her own."""
    patient = _patient(server, jeanne_record(server, pharmacist, physician))
    added = patient.post("/patient/ajouter", kind="reaction", text="Amoxicilline : urticaire")
    assert added.status_code == 200, added.text
    return patient


@pytest.fixture
def bare(server: Server, agent: Professional) -> Patient:
    """Jeanne's record just created by a reception agent: nobody authorised, no document."""
    created = create(
        server, login(server, agent), JEANNE, contact={"channel": "email", "address": EMAIL}
    )
    return _patient(server, created)


def _main(response: httpx.Response) -> str:
    """The page's main content, tags dropped, spaces squeezed."""
    body = response.text.split('<main id="contenu">', 1)[1].split("</main>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _h1s(response: httpx.Response) -> int:
    return len(re.findall(r"<h1[\s>]", response.text))


# -- every change of access is asked first -------------------------------------------------


def _standing(server: Server, id_nat: str) -> str | None:
    with server.state.sessions() as db:
        return db.scalar(
            select(DmpProfessional.status).where(
                DmpProfessional.dmp_ins == JEANNE, DmpProfessional.id_nat == id_nat
            )
        )


def _dmp(server: Server) -> Dmp:
    with server.state.sessions() as db:
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None
        return dmp


def _document(server: Server, title: str) -> Document | None:
    with server.state.sessions() as db:
        return db.scalars(
            select(Document).where(Document.dmp_ins == JEANNE, Document.title == title)
        ).one_or_none()


def _report_id(server: Server) -> str:
    doc = _document(server, "Compte rendu : consultation diabétologie")
    assert doc is not None
    return doc.id


def _masked(server: Server) -> bool:
    doc = _document(server, "Compte rendu : consultation diabétologie")
    assert doc is not None
    return doc.masked_to_professionals


def _note_id(server: Server) -> str:
    doc = _document(server, "Réaction à un médicament")
    assert doc is not None
    return doc.id


@dataclass(frozen=True)
class Case:
    """One change of access: how it is posted, how it is asked, what it changes."""

    path: str
    fields: Callable[[Server], dict[str, str]]
    asked: tuple[str, ...]  # in the question page's text
    observe: Callable[[Server], object]
    before: object
    after: object
    done: str
    prepare: Callable[[Patient], object] = lambda patient: None


CASES = {
    "authorise": Case(
        "/patient/acces/professionnel",
        lambda s: {"id_nat": NEVER_SEEN, "action": "authorise"},
        (
            "Autoriser professionnel n° RPPS 99700307152 ?",
            "pourra lire votre dossier",
            "n'est encore jamais venu au service : vérifiez son numéro RPPS",
        ),
        lambda s: _standing(s, NEVER_SEEN),
        None,
        "AUTORISE",
        "professionnel autorisé",
    ),
    "revoke": Case(
        "/patient/acces/professionnel",
        lambda s: {"id_nat": PHARMACIST, "action": "revoke"},
        (f"Retirer l'autorisation donnée à {ANNE} ?", "ne pourra plus lire votre dossier"),
        lambda s: _standing(s, PHARMACIST),
        "AUTORISE",
        None,
        "professionnel retiré",
    ),
    "block": Case(
        "/patient/acces/professionnel",
        lambda s: {"id_nat": PHARMACIST, "action": "block"},
        (f"Bloquer {ANNE} ?", "même autorisé par ailleurs", "Vous pourrez le débloquer."),
        lambda s: _standing(s, PHARMACIST),
        "AUTORISE",
        "BLOQUE",
        "professionnel bloqué",
    ),
    "unblock": Case(
        "/patient/acces/professionnel",
        lambda s: {"id_nat": PHARMACIST, "action": "unblock"},
        (f"Débloquer {ANNE} ?", "n'est pas autorisé pour autant"),
        lambda s: _standing(s, PHARMACIST),
        "BLOQUE",
        None,
        "professionnel débloqué",
        prepare=lambda p: patient_sets(p.server, p.token, PHARMACIST, "block"),
    ),
    "treating doctor": Case(
        "/patient/acces/medecin-traitant",
        lambda s: {"rpps": "101 0045 7828"},
        (f"Désigner {HELENE} comme médecin traitant ?", "documents masqués compris"),
        lambda s: _dmp(s).treating_doctor,
        None,
        PHYSICIAN,
        "médecin traitant désigné",
    ),
    "emergency": Case(
        "/patient/acces/urgence",
        lambda s: {"etreat": "true"},
        (
            "Enregistrer ces choix pour les urgences ?",
            "Le médecin régulateur du SAMU (15) pourra lire votre dossier",
            "Aucun soignant ne pourra ouvrir votre dossier en urgence",
            "Vos documents masqués resteront cachés, même en urgence.",
        ),
        lambda s: (_dmp(s).etreat, _dmp(s).btg, _dmp(s).masked_in_emergency),
        (True, True, True),
        (True, False, False),
        "choix d'urgence enregistrés",
    ),
    "close": Case(
        "/patient/fermeture",
        lambda s: {},
        ("Fermer votre dossier ?", "Aucun professionnel ne pourra plus le lire"),
        lambda s: _dmp(s).status,
        "VALIDE",
        "FERME",
        "dossier fermé",
    ),
    "reopen": Case(
        "/patient/reouverture",
        lambda s: {},
        ("Rouvrir votre dossier ?", "pourront de nouveau le lire"),
        lambda s: _dmp(s).status,
        "FERME",
        "VALIDE",
        "dossier rouvert",
        prepare=lambda p: p.post("/patient/fermeture", confirmed="1"),
    ),
    "mask": Case(
        "/patient/document/masque",
        lambda s: {"document_id": _report_id(s), "masked": "true"},
        (
            "Masquer « Compte rendu : consultation diabétologie » aux professionnels ?",
            "Seuls vous, son auteur et votre médecin traitant le verront",
        ),
        lambda s: _masked(s),
        False,
        True,
        "document masqué aux professionnels",
    ),
    "unmask": Case(
        "/patient/document/masque",
        lambda s: {"document_id": _report_id(s), "masked": "false"},
        ("Ne plus masquer « Compte rendu : consultation diabétologie » ?",),
        lambda s: _masked(s),
        True,
        False,
        "document de nouveau visible",
        prepare=lambda p: p.post(
            "/patient/document/masque",
            document_id=_report_id(p.server),
            masked="true",
            confirmed="1",
        ),
    ),
    "delete a note": Case(
        "/patient/document/suppression",
        lambda s: {"document_id": _note_id(s)},
        ("Supprimer « Réaction à un médicament » ?", "Ce n'est pas réversible"),
        lambda s: _document(s, "Réaction à un médicament") is not None,
        True,
        False,
        "note supprimée",
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_a_change_of_access_is_asked_and_made_only_once_confirmed(
    server: Server, jeanne: Patient, kind: str
) -> None:
    case = CASES[kind]
    case.prepare(jeanne)
    fields = case.fields(server)
    assert case.observe(server) == case.before  # not vacuous: there is something to change

    asked = jeanne.post(case.path, **fields)
    assert asked.status_code == 200, asked.text
    text = _main(asked)
    for words in case.asked:
        assert words in text
    assert "Rien n'est encore changé" in text and _h1s(asked) == 1
    if "id_nat" in fields and fields["id_nat"] != NEVER_SEEN or "rpps" in fields:
        assert "jamais venu" not in text  # a professional the service knows is named
    assert case.observe(server) == case.before  # nothing changed
    # "Confirmer" posts the same form again, with its fields and the token, confirmed.
    form = asked.text.split(f'action="{case.path}"', 1)[1].split("</form>", 1)[0]
    carried = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    assert carried.pop("confirmed") == "1" and carried.pop("csrf") == jeanne.csrf
    assert carried == {name: "".join(value.split()) for name, value in fields.items()}
    assert 'action="/patient/' in asked.text.split("Annuler", 1)[0].rsplit("<form", 1)[1]

    done = jeanne.post(case.path, **fields, confirmed="1")
    assert done.status_code == 200, done.text
    assert case.done in _main(done)
    assert case.observe(server) == case.after


def test_no_question_and_no_change_without_the_session_or_the_forms_token(
    server: Server, jeanne: Patient
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as stranger:
        asked = stranger.post(
            "/patient/acces/professionnel",
            data={"csrf": jeanne.csrf, "id_nat": PHARMACIST, "action": "block"},
        )
    assert asked.status_code == 401 and "DUPONT" not in asked.text
    for confirmed in ("", "1"):
        with jeanne.client() as client:
            forged = client.post(
                "/patient/acces/professionnel",
                data={
                    "csrf": "0" * 64,
                    "id_nat": PHARMACIST,
                    "action": "block",
                    "confirmed": confirmed,
                },
            )
        assert forged.status_code == 401 and "DUPONT" not in forged.text
    assert _standing(server, PHARMACIST) == "AUTORISE"


def test_a_document_the_patient_may_not_know_of_is_not_named_in_a_question(
    server: Server, jeanne: Patient
) -> None:
    refused = jeanne.post(
        "/patient/document/masque",
        document_id="0" * 8 + "-0000-0000-0000-" + "0" * 12,
        masked="true",
    )
    assert refused.status_code == 404 and "Confirmer" not in refused.text
    assert '<p class="alert" role="alert">document introuvable</p>' in refused.text


def test_a_parent_is_asked_about_a_childs_document_never_one_hidden_from_parents(
    server: Server, pharmacist: Professional, sms: SmsGateway
) -> None:
    born = aged("1984-02-11")
    token = login(server, pharmacist)
    claires_child(server, token, LEO)
    add_doc(server, token, LEO, "care_history", "Vaccin DTP")
    add_doc(
        server,
        token,
        LEO,
        "reports",
        "Consultation confidentielle",
        invisible_to_representatives=True,
    )
    with server.client() as client:
        asked = client.post("/v1/patient/code", json={"ins": CLAIRE, "birth_date": born})
        assert asked.status_code == 202, asked.text
        code = sms.code_for("+33600000002", "code de connexion")
        logged = client.post(
            "/v1/patient/login", json={"ins": CLAIRE, "birth_date": born, "code": code}
        )
    assert logged.status_code == 200, logged.text
    parent = Patient(server, logged.json()["token"], {})
    with server.state.sessions() as db:
        ids = {d.title: d.id for d in db.scalars(select(Document).where(Document.dmp_ins == LEO))}
    seen = parent.post("/patient/document/masque", document_id=ids["Vaccin DTP"], masked="true")
    assert "Masquer « Vaccin DTP » aux professionnels ?" in _main(seen)
    hidden = ids["Consultation confidentielle"]
    for confirmed in ("", "1"):
        refused = parent.post(
            "/patient/document/masque", document_id=hidden, masked="true", confirmed=confirmed
        )
        assert refused.status_code == 404 and "confidentielle" not in refused.text
    with server.state.sessions() as db:
        assert not any(d.masked_to_professionals for d in db.scalars(select(Document)))


def test_a_wrong_rpps_is_said_by_its_field_kept_as_typed_and_asks_nothing(
    server: Server, jeanne: Patient
) -> None:
    for path, name in (
        ("/patient/acces/professionnel", "id_nat"),
        ("/patient/acces/medecin-traitant", "rpps"),
    ):
        refused = jeanne.post(path, **{name: "997 0021 8895", "action": "block"})
        assert "Confirmer" not in refused.text
        field = refused.text.split(f'id="{name}" name="{name}"', 1)[1].split(">", 1)[0]
        assert 'value="997 0021 8895"' in field and 'aria-invalid="true"' in field
        assert f"{name}-error" in field
        assert f'<p class="error" id="{name}-error">numéro RPPS invalide' in refused.text
    assert _standing(server, PHARMACIST) == "AUTORISE" and _dmp(server).treating_doctor is None


def test_blocking_the_treating_doctor_is_asked_then_refused_with_the_reason(
    server: Server, jeanne: Patient
) -> None:
    jeanne.post("/patient/acces/medecin-traitant", rpps="10100457828", confirmed="1")
    asked = jeanne.post("/patient/acces/professionnel", id_nat=PHYSICIAN, action="revoke")
    assert "C'est votre médecin traitant : il ne le sera plus." in _main(asked)
    refused = jeanne.post(
        "/patient/acces/professionnel", id_nat=PHYSICIAN, action="block", confirmed="1"
    )
    assert "changez de médecin traitant avant de le bloquer" in _main(refused)
    assert _standing(server, PHYSICIAN) == "AUTORISE"


# -- professionals by name, profession and place --------------------------------------------


def test_professionals_are_named_on_the_access_page_and_in_the_log(
    server: Server, jeanne: Patient
) -> None:
    patient_sets(server, jeanne.token, NEVER_SEEN, "authorise")
    jeanne.post("/patient/acces/medecin-traitant", rpps="10100457828", confirmed="1")
    access = jeanne.get("/patient/acces")
    text = _main(access)
    assert ANNE in text and HELENE in text
    assert "professionnel n° RPPS 99700307152" in text
    assert f'aria-label="Bloquer {ANNE}"' in access.text
    assert not re.search(r"\b(8997|8101)\d{8}\b", text)  # no raw card identifier shown
    assert not ISO_DATE.search(text)
    assert _h1s(access) == 1
    log = _main(jeanne.get("/patient/journal"))
    assert f"{ANNE} " in log and f"{HELENE} " in log  # the creator, the documents' author
    record = _main(jeanne.get("/patient/dossier"))
    assert f"— {HELENE}" in record and "— vous" in record
    assert f"recueilli par {ANNE}, après lecture" in record


# -- found by name ---------------------------------------------------------------------------


def test_a_professional_is_found_by_name_whatever_the_case_and_accents(
    server: Server, jeanne: Patient
) -> None:
    login(server, fixture_professional("899700512348"))  # a pharmacist she never authorised
    marc = "Marc GUEGUEN, pharmacien, Pharmacie de la Gare, Quimper"
    found = jeanne.get("/patient/acces", nom="guéguen")
    listed = found.text.split('id="found"', 1)[1].split("</ul>", 1)[0]
    assert "Un professionnel trouvé pour « guéguen »" in _main(found) and marc in listed
    assert f'aria-label="Autoriser {marc}"' in listed and f'aria-label="Bloquer {marc}"' in listed
    assert "n° RPPS 99700512348" in listed  # to compare with a prescription
    # One already authorised: what may change for them, as in the table above.
    found = jeanne.get("/patient/acces", nom="dupont")
    listed = found.text.split('id="found"', 1)[1].split("</ul>", 1)[0]
    assert "(déjà autorisé)" in listed and "Autoriser" not in listed
    assert f'aria-label="Retirer {ANNE}"' in listed and f'aria-label="Bloquer {ANNE}"' in listed
    doctor = _main(jeanne.get("/patient/acces", nom="  HÉLÈNE  morvan "))
    assert HELENE in doctor and "(votre médecin traitant)" not in doctor
    jeanne.post("/patient/acces/medecin-traitant", rpps="10100457828", confirmed="true")
    doctor = _main(jeanne.get("/patient/acces", nom="morvan"))
    assert "(votre médecin traitant)" in doctor
    assert "Aucun professionnel de santé connu du service" in _main(
        jeanne.get("/patient/acces", nom="%%")
    )


def test_a_search_refuses_a_short_name_a_stranger_and_never_lists_an_agent(
    server: Server, jeanne: Patient, agent: Professional
) -> None:
    login(server, agent)  # NOLWENN RIOU, reception agent: known to the service
    short = jeanne.get("/patient/acces", nom="d")
    assert "saisissez au moins 2 lettres du nom" in _main(short)
    assert 'aria-invalid="true"' in short.text and 'id="found"' not in short.text
    riou = _main(jeanne.get("/patient/acces", nom="riou"))
    assert "Aucun professionnel de santé connu du service" in riou and "RIOU" not in riou
    with httpx.Client(base_url=server.url, timeout=30) as stranger:
        refused = stranger.get("/patient/acces", params={"nom": "dupont"})
    assert refused.status_code == 401 and "DUPONT" not in refused.text


# -- empty states ----------------------------------------------------------------------------


def test_an_empty_record_says_once_what_it_is_and_how_documents_arrive(bare: Patient) -> None:
    record = bare.get("/patient/dossier")
    text = _main(record)
    assert "Aucun document" not in text
    assert text.count("Votre dossier est vide pour l'instant") == 1
    assert "Synthèses et observations de soins, Pathologies et allergies, Traitements" in text
    assert "professionnels de santé que vous autorisez" in text and _h1s(record) == 1
    assert not ISO_DATE.search(text)
    access = _main(bare.get("/patient/acces"))
    assert "Vous n'avez autorisé aucun professionnel" in access
    assert "médecin régulateur du SAMU (15), pour organiser vos secours : oui" in access
    assert "cherchez-le par son nom" in access


def test_a_record_shows_the_categories_it_has_and_lists_the_empty_ones_once(
    jeanne: Patient,
) -> None:
    record = jeanne.get("/patient/dossier")
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", record.text)
    assert headings == [
        "Soins remboursés des 24 derniers mois",
        "Pathologies et allergies",
        "Traitements",
        "Comptes rendus",
        "Rubriques sans document",
    ]
    text = _main(record)
    assert "Synthèses et observations de soins, Résultats d'examens, Directives anticipées" in text
    assert _h1s(record) == 1 and not ISO_DATE.search(text)


# -- the journey in a browser ----------------------------------------------------------------


@pytest.fixture
def browsing(page: Page, server: Server, jeanne: Patient) -> Iterator[Page]:
    page.context.add_cookies(
        [{"name": COOKIE, "value": jeanne.token, "domain": "127.0.0.1", "path": "/patient"}]
    )
    yield page


def test_blocking_someone_found_by_name_asks_first_and_cancel_changes_nothing(
    browsing: Page, server: Server
) -> None:
    page = browsing
    page.goto(f"{server.url}/patient/acces")
    page.get_by_label("Nom du professionnel").fill("Dupont")
    page.get_by_role("button", name="Chercher").click()
    found = page.locator("#found")
    found.get_by_role("button", name=f"Bloquer {ANNE}").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Bloquer {ANNE} ?"
    assert page.get_by_text("même autorisé par ailleurs", exact=False).is_visible()
    page.get_by_role("button", name="Annuler").click()
    page.wait_for_url("**/patient/acces*")
    assert _standing(server, PHARMACIST) == "AUTORISE"
    page.get_by_label("Nom du professionnel").fill("dupont")
    page.keyboard.press("Enter")
    page.locator("#found").get_by_role("button", name=f"Bloquer {ANNE}").click()
    page.get_by_role("button", name="Confirmer", exact=True).click()
    assert page.get_by_role("status").text_content() == "professionnel bloqué"
    assert _standing(server, PHARMACIST) == "BLOQUE"
    row = page.get_by_role("row", name=ANNE)
    assert "bloqué" in row.inner_text()


def test_authorising_someone_blocked_says_it_lifts_the_block(jeanne: Patient) -> None:
    """Found in review: 'Autoriser' over a block lifted it without a word."""
    assert jeanne.post("/patient/acces/professionnel", id_nat=PHARMACIST, action="block",
                       confirmed="true").status_code == 200  # fmt: skip
    asked = _main(
        jeanne.post("/patient/acces/professionnel", id_nat=PHARMACIST, action="authorise")
    )
    assert "l'autoriser lève ce blocage" in asked
    unblocked = _main(
        jeanne.post("/patient/acces/professionnel", id_nat=PHYSICIAN, action="authorise")
    )
    assert "blocage" not in unblocked  # only said when there is one
