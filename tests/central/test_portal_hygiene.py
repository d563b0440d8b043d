"""The portal under its Content-Security-Policy and CSRF tokens, in headless Chromium (Debian's,
driven by Playwright) against the real central service on loopback."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.support.browser import browser, page
from tests.support.central import Professional, Server, login
from tests.support.dmp import JEANNE, create
from tests.support.portal import fill_birth_date

EMAIL = "jeanne.bernard@example.org"
FORGED = "formulaire expiré ou venu d'un autre site : rien n'a été fait, recommencez ici"

__all__ = ["browser", "page"]  # fixtures from tests.support.browser

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def jeanne(server: Server, pharmacist: Professional) -> dict[str, str]:
    return create(
        server, login(server, pharmacist), JEANNE, contact={"channel": "email", "address": EMAIL}
    )


def _activate(page: Page, jeanne: dict[str, str]) -> None:
    page.get_by_label("Identifiant").fill(jeanne["access_identifier"])
    page.get_by_label("Code provisoire (8 chiffres)").fill(jeanne["activation_code"])
    fill_birth_date(page, "activation_birth", jeanne["birth_date"])
    page.get_by_role("button", name="Activer mon accès").click()


def test_the_pages_keep_their_looks_under_the_policy_and_break_none_of_it(
    page: Page, server: Server, jeanne: dict[str, str]
) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(_text(message)))
    page.goto(f"{server.url}/patient/connexion")
    header = page.locator("header")
    # The styles come from the portal's stylesheet, the only source the policy allows.
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 59, 140)"
    page.goto(f"{server.url}/patient/creation")
    note = page.locator(".doc.prose")
    assert note.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-line"
    page.goto(f"{server.url}/patient/connexion")
    _activate(page, jeanne)
    page.wait_for_url("**/patient/dossier")
    for link in ("Qui peut lire", "Qui a lu", "Notifications", "Ajouter", "Mon dossier"):
        page.get_by_role("navigation").get_by_role("link", name=link).click()
    logout = page.get_by_role("button", name="Se déconnecter")
    # A touch target the stylesheet sizes (WCAG 2.5.8): its rule applied, the policy let it.
    assert float(logout.evaluate("e => getComputedStyle(e).minHeight")[:-2]) >= 44
    logout.click()
    assert page.get_by_role("status").inner_text().lower() == "vous êtes déconnecté(e)"
    assert [m for m in console if "Content Security Policy" in m] == []


def _text(message: ConsoleMessage) -> str:
    return message.text


def test_a_log_in_forged_by_another_site_is_refused_and_spends_nothing(
    page: Page, server: Server, jeanne: dict[str, str]
) -> None:
    """An attacker's page logs the visitor into the attacker's record (login CSRF): refused."""
    page.goto(f"{server.url}/patient/connexion")  # the victim has been on the portal before
    page.set_content(
        f"""<form method="post" action="{server.url}/patient/activation">
        <input type="hidden" name="identifier" value="{jeanne["access_identifier"]}">
        <input type="hidden" name="code" value="{jeanne["activation_code"]}">
        <button>Voir la vidéo</button></form>"""
    )
    page.get_by_role("button", name="Voir la vidéo").click()
    page.wait_for_url("**/patient/activation")
    assert FORGED[1:] in page.get_by_role("alert").inner_text()
    assert not [c for c in page.context.cookies() if c["name"] == "dmp_patient"]
    # The sheet's code was neither spent nor counted: its owner logs in with it.
    _activate(page, jeanne)
    page.wait_for_url("**/patient/dossier")
    assert page.get_by_role("heading", level=1, name="Jeanne BERNARD").is_visible()
