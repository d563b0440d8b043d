"""The portal as people use it: nobody locked out, a parent for their children, an access
sheet that is not enough alone. Debian's Chromium against the real service, codes read
from the real SMTP server and SMS gateway."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page

from central.dmp.models import Dmp
from tests.support.aged import aged
from tests.support.browser import browser, page
from tests.support.central import Professional, Server, login
from tests.support.dmp import CLAIRE, JEANNE, LEO, add_doc, claires_child, create
from tests.support.mail import Mailbox, SmsGateway
from tests.support.portal import activate, fill_birth_date

__all__ = ["browser", "page"]  # fixtures from tests.support.browser

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screens" / "portal"
    if os.environ.get("PORTAL_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "dmp-portal-screens"
)
EMAIL = "jeanne.bernard@exemple.test"
JADE = "219113523801764"
CLAIRE_BORN = aged("1984-02-11")


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _alert(page: Page) -> str:
    return " ".join(page.get_by_role("alert").all_inner_texts()).lower()


def _banner(page: Page) -> str:
    return page.get_by_role("region", name="Dossier affiché").inner_text()


def test_a_patient_without_a_contact_gives_one_before_seeing_the_record(
    page: Page, server: Server, pharmacist: Professional, mailbox: Mailbox
) -> None:
    """The kiosk's default is no contact: the first log-in asks for a way back in, confirmed
    by a code, and only then shows the record; the next log-in uses it."""
    jeanne = create(server, login(server, pharmacist), JEANNE)
    activate(page, server.url, jeanne, wait_for="premier-contact")
    assert "moyen de vous reconnecter" in page.get_by_role("heading", level=1).inner_text()
    menu = page.get_by_role("navigation", name="Rubriques")
    assert menu.get_by_role("link").count() == 0  # no rubric leads anywhere yet
    assert menu.get_by_role("button", name="Se déconnecter").is_visible()
    _shot(page, "09-premier-contact")
    page.goto(f"{server.url}/patient/dossier")  # the record waits until a contact is given
    page.wait_for_url("**/patient/premier-contact")
    # Nor can anything be changed meanwhile, even posted straight to its address.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    posted = page.request.post(
        f"{server.url}/patient/fermeture", form={"csrf": csrf, "confirmed": "true"}, max_redirects=0
    )
    assert posted.status == 303 and posted.headers["location"] == "/patient/premier-contact"
    with server.state.sessions() as db:
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None and dmp.status == "VALIDE"
    # The help ("code perdu ?") and the legal pages stay open to them.
    for path in ("aide", "mentions-legales", "accessibilite"):
        page.goto(f"{server.url}/patient/{path}")
        assert page.url.endswith(f"/patient/{path}")
    page.goto(f"{server.url}/patient/premier-contact")
    page.get_by_label("Adresse e-mail ou numéro de mobile").fill("jeanne@")
    page.get_by_role("button", name="Recevoir un code de confirmation").click()
    assert "adresse e-mail invalide" in _alert(page)
    assert page.get_by_label("Adresse e-mail ou numéro de mobile").input_value() == "jeanne@"
    page.get_by_label("Adresse e-mail ou numéro de mobile").fill(EMAIL)
    page.get_by_role("button", name="Recevoir un code de confirmation").click()
    page.get_by_label("Code reçu (6 chiffres)").fill("000000")
    page.get_by_role("button", name="Confirmer").click()
    assert "code incorrect. il vous reste 4 essais." in _alert(page)
    code = mailbox.code_for(EMAIL, subject="Confirmez le contact")
    page.get_by_label("Code reçu (6 chiffres)").fill(code)
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url("**/patient/contact/confirmation")
    status = page.get_by_role("status").inner_text().lower()
    assert "contact confirmé" in status
    assert page.get_by_role("heading", level=1, name="Jeanne BERNARD").is_visible()
    # The way back in works: logged out, a code by e-mail opens the record again.
    page.get_by_role("button", name="Se déconnecter").click()
    by_code = page.locator("form[action='/patient/code']")
    by_code.get_by_label("Numéro de sécurité sociale").fill(JEANNE)
    fill_birth_date(page, "birth", jeanne["birth_date"])
    by_code.get_by_role("button", name="Recevoir un code").click()
    page.get_by_label("Code à usage unique (6 chiffres)").fill(mailbox.code_for(EMAIL))
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/patient/dossier")


def test_an_access_sheet_is_refused_without_the_right_birth_date(
    page: Page, server: Server, pharmacist: Professional
) -> None:
    jeanne = create(
        server, login(server, pharmacist), JEANNE, contact={"channel": "email", "address": EMAIL}
    )
    wrong = {**jeanne, "birth_date": aged("1979-03-29")}
    page.goto(f"{server.url}/patient/connexion")
    sheet = page.locator("form[action='/patient/activation']")
    sheet.get_by_label("Identifiant").fill(jeanne["access_identifier"])
    sheet.get_by_label("Code provisoire (8 chiffres)").fill(jeanne["activation_code"])
    fill_birth_date(page, "activation_birth", wrong["birth_date"])
    sheet.get_by_role("button", name="Activer mon accès").click()
    assert "date de naissance incorrect" in _alert(page) and "il vous reste 4 essais" in _alert(
        page
    )
    assert page.locator("#activation_birth_day").input_value() == wrong["birth_date"][8:]
    # A date that does not exist is told beside its boxes, before any try is counted.
    page.locator("#activation_birth_day").fill("31")
    page.locator("#activation_birth_month").fill("02")
    sheet.get_by_role("button", name="Activer mon accès").click()
    assert "ce jour n'existe pas" in _alert(page)
    day = page.locator("#activation_birth_day")
    assert "activation_birth-error" in (day.get_attribute("aria-describedby") or "")
    _shot(page, "10-activation-refusee")
    activate(page, server.url, jeanne)  # the right birth date: in, with 4 tries left unused


def test_a_parent_reaches_each_childs_record_and_not_what_is_hidden_from_parents(
    page: Page,
    server: Server,
    pharmacist: Professional,
    tokens: dict[str, str],
    sms: SmsGateway,
) -> None:
    """Claire types her own number and birth date (her children's cards carry her number):
    one code, then Leo's record as his legal representative, then Jade's."""
    token = login(server, pharmacist)
    for child in (LEO, JADE):
        claires_child(server, token, child)
    add_doc(server, token, LEO, "care_history", "Vaccin DTP")
    add_doc(
        server,
        token,
        LEO,
        "care_history",
        "Consultation confidentielle",
        invisible_to_representatives=True,
    )
    page.goto(f"{server.url}/patient/connexion")
    by_code = page.locator("form[action='/patient/code']")
    by_code.get_by_label("Numéro de sécurité sociale").fill(CLAIRE)
    fill_birth_date(page, "birth", CLAIRE_BORN)
    by_code.get_by_role("button", name="Recevoir un code").click()
    code = sms.code_for("+33600000002", "code de connexion")
    page.get_by_label("Code à usage unique (6 chiffres)").fill(code)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/patient/dossier")
    banner = _banner(page)
    assert "Dossier de Leo MARTIN" in banner and "représentant légal" in banner
    assert "CLAIRE MARTIN" in banner
    main = page.get_by_role("main").inner_text()
    assert "Vaccin DTP" in main and "confidentielle" not in main
    page.get_by_role("link", name="Qui a lu").click()
    assert "confidentielle" not in page.get_by_role("main").inner_text()
    _shot(page, "11-parent-enfant")
    page.get_by_label("Afficher le dossier de").select_option(label="Jade MARTIN")
    page.get_by_role("button", name="Afficher ce dossier").click()
    page.wait_for_url("**/patient/dossier")
    assert "Dossier de Jade MARTIN" in _banner(page)
    assert page.get_by_label("Afficher le dossier de").inner_text().strip() == "Leo MARTIN"
