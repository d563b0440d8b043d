"""The portal as everyone must be able to use it, in headless Chromium (Debian's, driven by
Playwright) against the real central service on loopback: axe-core's WCAG A and AA rules on
every page, no sideways scrolling at 320 px, targets of 44 px, a focus ring that stands out,
and a journey done with the keyboard alone."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from playwright.sync_api import Browser, Page

from dmpcommon.vocabulary import AccessMode
from kiosk.core.errors import CentralRefusedError
from kiosk.sync.online import OnlineCentral
from tests.support.aged import aged
from tests.support.browser import browser, page
from tests.support.central import Professional, Server, login, own_service, signed_kiosk_client
from tests.support.dmp import CLAIRE, JEANNE, LEO, PHARMACIST, add_doc, claires_child, create
from tests.support.documents import cda_structured, file_in, report_pdf
from tests.support.mail import Mailbox, SmsGateway
from tests.support.portal import (
    JEANNE_EMAIL,
    activate,
    care_lines,
    fill_birth_date,
    jeanne_record,
)

__all__ = ["browser", "page"]  # fixtures from tests.support.browser

# The README's screenshots are taken only when asked: a test run must leave the tree as it was.
SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screens" / "portal"
    if os.environ.get("PORTAL_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "dmp-portal-screens"
)
# axe-core as the locked wheel bundles it (axe_playwright_python 0.1.8: axe 4.12.1). The
# portal's policy refuses injected <script> tags; page.evaluate is not a page's script.
AXE = Path(axe_playwright_python.__file__).with_name("axe.min.js").read_text(encoding="utf-8")
AXE_VERSION = "4.12.1"
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
EMAIL = JEANNE_EMAIL
JEANNE_BORN = aged("1979-03-28")  # as the register holds it for a run today
CLAIRE_BORN = aged("1984-02-11")
PHONE = (390, 844)  # the screenshots' screen
NARROWEST = 320  # WCAG 1.4.10: 320 CSS px wide, no scrolling sideways
TARGET = 44  # px, the menu's links, the buttons and the links standing alone
RING = 3.0  # WCAG 1.4.11: the focus ring against what it sits on


# -- the service, once for the module ----------------------------------------------------


@dataclass
class Site:
    """One running service for the module's pages and a phone logged in to it for each of
    the people below (their sessions outlive the module's run)."""

    server: Server
    mailbox: Mailbox
    sms: SmsGateway
    people: dict[str, Page]


# Who looks at a page: `visitor` has not logged in; `jeanne` has her record, two
# professionals authorised and an e-mail contact; `parent` is Claire, logged in as herself,
# on her son Leo's record; `newcomer` (the longest name of the register, born in Corsica)
# was given a sheet at the counter without a contact and has just activated it.
PEOPLE = ("jeanne", "parent", "newcomer")
MARIE_HELENE = "285022A00412355"
CLAIRE_SMS = "+33600000002"


@pytest.fixture(scope="module")
def site(
    browser: Browser,
    tmp_path_factory: pytest.TempPathFactory,
    identities: Path,
    pharmacist: Professional,
    physician: Professional,
) -> Iterator[Site]:
    with own_service(tmp_path_factory.mktemp("a11y"), identities) as (server, mailbox, sms):
        contexts = [browser.new_context(viewport=_size(PHONE), locale="fr-FR") for _ in PEOPLE]
        try:
            people = {
                who: context.new_page() for who, context in zip(PEOPLE, contexts, strict=True)
            }
            activate(people["jeanne"], server.url, _jeanne(server, pharmacist, physician))
            _files_and_care(server, login(server, physician))
            _claire_for_leo(people["parent"], server, sms, login(server, pharmacist))
            newcomer = create(server, login(server, pharmacist), MARIE_HELENE)
            activate(people["newcomer"], server.url, newcomer, wait_for="premier-contact")
            yield Site(server, mailbox, sms, people)
        finally:
            for context in contexts:
                context.close()


def _jeanne(server: Server, pharmacist: Professional, physician: Professional) -> dict[str, Any]:
    return jeanne_record(server, pharmacist, physician)


def _files_and_care(server: Server, doctor: str) -> None:
    """Jeanne's record as professionals' software and the health insurance fill it: a PDF
    report, a structured CDA, and her reimbursed care of the last 24 months."""
    pdf = report_pdf(
        "Compte rendu de consultation de diabétologie",
        ["Patiente suivie pour un diabète de type 2.", "HbA1c : 6,8 %. Poursuite du traitement."],
    )
    add_doc(
        server,
        doctor,
        JEANNE,
        "reports",
        "Consultation de diabétologie",
        loinc="11488-4",
        file=file_in(pdf, "application/pdf", "consultation.pdf"),
    )
    add_doc(
        server,
        doctor,
        JEANNE,
        "exam_results",
        "Bilan biologique",
        loinc="11502-2",
        file=file_in(cda_structured("Bilan biologique", loinc="11502-2"), "text/xml"),
    )
    care_lines(server, JEANNE, server.clock().date())


def _opened(title: str) -> Callable[[Page, Site], None]:
    """A document opened from the record, its page images loaded."""

    def reach(page: Page, site: Site) -> None:
        page.goto(f"{site.server.url}/patient/dossier")
        page.get_by_role("link", name=f"Ouvrir « {title} »").click()
        page.get_by_role("heading", name=title, level=1).wait_for()
        for _ in range(100):  # the pages' images, rendered on the server (no eval: the CSP)
            if page.evaluate(
                "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
            ):
                break
            page.wait_for_timeout(50)
        else:
            raise AssertionError("a page's image never loaded")

    return reach


def _claire_for_leo(page: Page, server: Server, sms: SmsGateway, token: str) -> None:
    """Leo's record, created with his mother as his representative; Claire logs in with her
    own number and birth date and a code sent to the contact given for him."""
    claires_child(server, token, LEO)
    add_doc(server, token, LEO, "care_history", "Vaccin DTP")
    page.goto(f"{server.url}/patient/connexion")
    by_code = page.locator("form[action='/patient/code']")
    by_code.get_by_label("Numéro de sécurité sociale").fill(CLAIRE)
    fill_birth_date(page, "birth", CLAIRE_BORN)
    by_code.get_by_role("button", name="Recevoir un code").click()
    page.locator("input[name='code']").fill(sms.code_for(CLAIRE_SMS, "code de connexion"))
    page.locator("form[action='/patient/connexion']").get_by_role("button").click()
    page.wait_for_url("**/patient/dossier")


@pytest.fixture
def jeanne(server: Server, pharmacist: Professional, physician: Professional) -> dict[str, Any]:
    """Jeanne's DMP on the test's own service (for a journey that spends her sheet)."""
    return _jeanne(server, pharmacist, physician)


# -- every page, in one table ------------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    """A page of the portal and how to reach it: `path` for a page one goes to, or `reach`
    for one that comes after a form (it starts from the page it is given)."""

    name: str
    who: str  # "visitor", or one of PEOPLE
    path: str | None = None
    reach: Callable[[Page, Site], None] | None = None


def _asked_a_code(page: Page, site: Site) -> None:
    page.goto(f"{site.server.url}/patient/connexion")
    form = page.locator('form[action="/patient/code"]')
    form.get_by_label("Numéro de sécurité sociale", exact=False).fill(JEANNE)
    fill_birth_date(page, "birth", JEANNE_BORN)
    form.get_by_role("button", name="Recevoir un code").click()
    page.locator("input[name='code']").wait_for()


def _refused_activation(page: Page, site: Site) -> None:
    page.goto(f"{site.server.url}/patient/connexion")
    form = page.locator('form[action="/patient/activation"]')
    form.get_by_label("Identifiant").fill("ABCDEFGH")
    form.get_by_label("Code provisoire (8 chiffres)").fill("12345678")
    fill_birth_date(page, "activation_birth", JEANNE_BORN)
    form.get_by_role("button", name="Activer mon accès").click()
    page.get_by_role("alert").or_(page.get_by_role("status")).first.wait_for()


def _asked_creation(page: Page, site: Site) -> None:
    """Soizic Tanguy, adult, no DMP yet, her card's serial number: the code is sent."""
    page.goto(f"{site.server.url}/patient/creation")
    page.get_by_label("Numéro de sécurité sociale", exact=False).fill("290122901906683")
    fill_birth_date(page, "birth", aged("1990-12-01"))
    page.get_by_label("Numéro de série de votre carte Vitale", exact=False).fill("9012290194")
    page.get_by_label("Adresse e-mail ou numéro de mobile").fill("soizic.tanguy@example.org")
    page.get_by_label("J'ai lu la note d'information", exact=False).check()
    page.get_by_role("button", name="Recevoir un code").click()
    page.locator('input[name="code"]').wait_for()


def _asked_a_new_contact(page: Page, site: Site) -> None:
    page.goto(f"{site.server.url}/patient/notifications")
    form = page.locator('form[action="/patient/contact"]')
    form.locator('input[name="channel"][value="email"]').check()
    form.locator('input[name="address"]').fill("jeanne.b@example.org")
    form.get_by_role("button", name="Recevoir un code").click()
    page.locator('input[name="code"]').wait_for()


def _refused_addition(page: Page, site: Site) -> None:
    """A note of one letter: refused, the letter kept in its box, the error tied to it."""
    page.goto(f"{site.server.url}/patient/ajouter")
    field = page.get_by_label("Le médicament et ce qu'il vous a fait")
    field.fill("x")
    page.locator("form", has=field).get_by_role("button", name="Ajouter").click()
    page.get_by_role("alert").wait_for()
    field = page.get_by_label("Le médicament et ce qu'il vous a fait")
    assert field.input_value() == "x"
    assert field.get_attribute("aria-invalid") == "true"
    error = page.locator("#text-reaction-error")
    assert "2 caractères" in error.inner_text()
    assert "text-reaction-error" in (field.get_attribute("aria-describedby") or "")


def _asked_to_block(page: Page, site: Site) -> None:
    page.goto(f"{site.server.url}/patient/acces")
    pharmacist = re.compile(f"^Bloquer .*(DUPONT|{PHARMACIST[1:]})", re.IGNORECASE)
    page.get_by_role("button", name=pharmacist).first.click()
    page.get_by_role("button", name="Confirmer").wait_for()


def _asked_to_mask(page: Page, site: Site) -> None:
    page.goto(f"{site.server.url}/patient/dossier")
    page.get_by_role("button", name=re.compile("^Masquer")).first.click()
    page.get_by_role("button", name="Confirmer").wait_for()


def _odd_form(page: Page, site: Site) -> None:
    """An identifier longer than the form allows (its limit lifted, as a script would)."""
    page.goto(f"{site.server.url}/patient/connexion")
    field = page.locator("#identifier")
    field.evaluate("e => e.removeAttribute('maxlength')")
    field.fill("A" * 41)
    page.locator('form[action="/patient/activation"]').get_by_role("button").click()
    page.get_by_role("heading", name="Formulaire non reçu").wait_for()


# Every page of the portal, logged out then logged in. A new page gets its line here, and
# with it axe's rules, the 320 px reflow, the 44 px targets and a screenshot: the first-login
# contact page (/patient/premier-contact), the chooser between one's record and one's
# children's, a confirmation page... For a page reached after a form, write its `reach`.
SCREENS = [
    Screen("connexion", who="visitor", path="/patient/connexion"),
    Screen("connexion-refusee", who="visitor", reach=_refused_activation),
    Screen("code", who="visitor", reach=_asked_a_code),
    Screen("creation", who="visitor", path="/patient/creation"),
    Screen("creation-code", who="visitor", reach=_asked_creation),
    Screen("aide", who="visitor", path="/patient/aide"),
    Screen("mentions-legales", who="visitor", path="/patient/mentions-legales"),
    Screen("accessibilite", who="visitor", path="/patient/accessibilite"),
    Screen("formulaire-non-recu", who="visitor", reach=_odd_form),
    Screen("dossier", who="jeanne", path="/patient/dossier"),
    Screen("ajouter", who="jeanne", path="/patient/ajouter"),
    Screen("ajouter-refuse", who="jeanne", reach=_refused_addition),
    Screen("acces", who="jeanne", path="/patient/acces"),
    Screen("acces-confirmer", who="jeanne", reach=_asked_to_block),
    Screen("acces-recherche", who="jeanne", path="/patient/acces?nom=dupont"),
    Screen("masquer-confirmer", who="jeanne", reach=_asked_to_mask),
    Screen("journal", who="jeanne", path="/patient/journal"),
    Screen("notifications", who="jeanne", path="/patient/notifications"),
    Screen("contact-code", who="jeanne", reach=_asked_a_new_contact),
    Screen("aide-connecte", who="jeanne", path="/patient/aide"),
    Screen("premier-contact", who="newcomer", path="/patient/premier-contact"),
    Screen("parent-dossier", who="parent", path="/patient/dossier"),
    Screen("parent-journal", who="parent", path="/patient/journal"),
    Screen("soins", who="jeanne", path="/patient/soins"),
    Screen("document-pdf", who="jeanne", reach=_opened("Consultation de diabétologie")),
    Screen("document-cda", who="jeanne", reach=_opened("Bilan biologique")),
]


@pytest.fixture
def visitor(browser: Browser) -> Iterator[Page]:
    """A phone that has not logged in."""
    context = browser.new_context(viewport=_size(PHONE), locale="fr-FR")
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("screen", SCREENS, ids=[s.name for s in SCREENS])
def test_every_page_passes_axe_reflows_at_320_px_and_has_44_px_targets(
    screen: Screen, site: Site, visitor: Page
) -> None:
    page = visitor if screen.who == "visitor" else site.people[screen.who]
    page.set_viewport_size(_size(PHONE))
    if screen.path is not None:
        page.goto(f"{site.server.url}{screen.path}")
    else:
        assert screen.reach is not None
        screen.reach(page, site)
    assert page.locator("h1").count() == 1, "one h1 per page"
    if screen.who != "visitor":
        assert page.get_by_role("button", name="Se déconnecter").is_visible()
    _shot(page, f"page-{screen.name}")

    violations = _axe(page)
    assert violations == [], _described(violations)

    small = _small_targets(page)
    assert small == [], f"targets under {TARGET} px: {small}"

    page.set_viewport_size({"width": NARROWEST, "height": 640})
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = [] if width <= NARROWEST else _wider_than(page, NARROWEST)
    assert width <= NARROWEST, f"{width} px wide at {NARROWEST} px: {wide}"
    page.set_viewport_size(_size(PHONE))


def _size(size: tuple[int, int]) -> Any:
    return {"width": size[0], "height": size[1]}


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# -- axe-core ------------------------------------------------------------------------------


def _axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of the WCAG 2.0, 2.1 and 2.2 A and AA rules on this page."""
    page.evaluate(AXE)
    assert page.evaluate("axe.version") == AXE_VERSION
    results = page.evaluate(
        "options => axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": WCAG_A_AA}, "resultTypes": ["violations"]},
    )
    assert results["testEngine"]["version"] == AXE_VERSION
    return list(results["violations"])


def test_axe_finds_what_it_is_there_to_find(site: Site, visitor: Page) -> None:
    """Against passing vacuously: the same run flags an image without text, a field without
    a label, and grey on white, when a page has them."""
    visitor.goto(f"{site.server.url}/patient/aide")
    visitor.evaluate(
        """() => {
          const main = document.querySelector('main');
          main.insertAdjacentHTML('beforeend',
            '<img src="/patient/portail.css"><input type="text"><p id="pale">Trop pâle</p>');
          document.getElementById('pale').style.color = '#aaa';  // CSSOM: the CSP allows it
        }"""
    )
    found = {violation["id"] for violation in _axe(visitor)}
    assert {"image-alt", "label", "color-contrast"} <= found, found


def _described(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"])
        for v in violations
    )


# -- targets and reflow --------------------------------------------------------------------

# Which targets must be 44 px: every button, and every link of the menu, of the page and of
# its footer, except a link inside a sentence (WCAG 2.5.8's "inline" exception: its parent
# holds text besides the link's own). Hidden ones (a closed <details>, display: none) aside.
SMALL_TARGETS = """
(least) => {
  const inline = (el) => el.tagName === 'A' && el.parentElement &&
    el.parentElement.textContent.trim() !== el.textContent.trim();
  const found = [];
  for (const el of document.querySelectorAll(
      'header nav a, header nav button, main a, main button, footer a, .viewing button')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (inline(el)) continue;
    if (box.height < least - 0.01 || box.width < least - 0.01)  // sub-pixel layout
      found.push(`${el.tagName.toLowerCase()} "${el.textContent.trim()}" ` +
                 `${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  return found;
}
"""


def _small_targets(page: Page) -> list[str]:
    return list(page.evaluate(SMALL_TARGETS, TARGET))


def _wider_than(page: Page, width: int) -> list[str]:
    """The elements that stick out of the screen, to say which when the page scrolls."""
    return list(
        page.evaluate(
            """(width) => [...document.querySelectorAll('body *')]
              .filter(el => el.getBoundingClientRect().right > width + 0.5)
              .slice(0, 8)
              .map(el => `${el.tagName.toLowerCase()}.${el.className} ` +
                         `${Math.round(el.getBoundingClientRect().right)}`)""",
            width,
        )
    )


# -- the focus ring ---------------------------------------------------------------------------

# The focused element's ring, and the colour just outside it on each side, where the ring
# meets the page: the first element under that point with a background of its own.
RING_AND_BEHIND = """
() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const width = parseFloat(style.outlineWidth) || 0;
  const offset = parseFloat(style.outlineOffset) || 0;
  const box = el.getBoundingClientRect();
  const out = offset + width + 1;
  const points = [
    [box.left - out, box.top + box.height / 2], [box.right + out, box.top + box.height / 2],
    [box.left + box.width / 2, box.top - out], [box.left + box.width / 2, box.bottom + out],
  ].filter(([x, y]) => x >= 0 && y >= 0 && x < innerWidth && y < innerHeight);
  const behind = points.map(([x, y]) => {
    for (const under of document.elementsFromPoint(x, y)) {
      if (under === el || el.contains(under)) continue;
      const colour = getComputedStyle(under).backgroundColor;
      if (!/rgba\\(.*, 0\\)$/.test(colour) && colour !== 'transparent') return colour;
    }
    return 'rgb(255, 255, 255)';
  });
  return {
    what: `${el.tagName.toLowerCase()} "${(el.textContent || el.id || '').trim().slice(0, 30)}"`,
    in_header: !!el.closest('header'),
    style: style.outlineStyle, width, colour: style.outlineColor, behind,
  };
}
"""


def _rgb(colour: str) -> tuple[float, float, float]:
    found = re.match(r"rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)", colour)
    assert found, colour
    assert found.group(4) in (None, "1"), f"a ring or background that is not opaque: {colour}"
    r, g, b = (int(found.group(i)) for i in (1, 2, 3))
    return r, g, b


def _luminance(colour: str) -> float:
    """WCAG 2's relative luminance of an sRGB colour."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = _rgb(colour)
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio, from 1 to 21."""
    lighter, darker = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_formula_gives_the_known_ratios() -> None:
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)
    assert contrast("rgb(255, 255, 255)", "rgb(255, 255, 255)") == pytest.approx(1)
    assert contrast("rgb(118, 118, 118)", "rgb(255, 255, 255)") == pytest.approx(4.54, abs=0.01)
    # The ring the portal had before: orange on white, about 2:1.
    assert contrast("rgb(255, 159, 26)", "rgb(255, 255, 255)") == pytest.approx(2.05, abs=0.01)


@pytest.mark.parametrize("logged_in", [False, True], ids=["connexion", "dossier"])
def test_the_focus_ring_stands_out_3_to_1_on_every_stop_white_page_and_blue_header(
    logged_in: bool, site: Site, visitor: Page
) -> None:
    page = site.people["jeanne"] if logged_in else visitor
    page.goto(f"{site.server.url}/patient/{'dossier' if logged_in else 'connexion'}")
    seen: dict[str, float] = {}
    weak: list[str] = []
    first = None
    for _ in range(80):
        page.keyboard.press("Tab")
        ring = page.evaluate(RING_AND_BEHIND)
        if ring["what"] == first or ring["what"].startswith("body "):
            break  # round the page once
        first = first or ring["what"]
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        for behind in ring["behind"]:
            ratio = contrast(ring["colour"], behind)
            place = f"{'header' if ring['in_header'] else 'page'} {behind}"
            seen[place] = min(ratio, seen.get(place, ratio))
            if ratio < RING:
                weak.append(f"{ring['what']}: {ring['colour']} on {behind} {ratio:.2f}")
    assert weak == [], seen  # the lowest contrast by background, said when it fails
    assert any(p.startswith("page rgb(255, 255, 255)") for p in seen), seen
    if logged_in:
        assert any(p.startswith("header rgb(11, 59, 140)") for p in seen), seen


# -- the keyboard alone -------------------------------------------------------------------

# What has the focus: its tag, id and accessible name as a screen reader would say it
# (aria-label, else its label, else its text).
FOCUSED = """() => {
  const el = document.activeElement;
  const label = el.labels && el.labels.length ? el.labels[0].textContent : '';
  const name = el.getAttribute('aria-label') || label || el.textContent || '';
  return {tag: el.tagName.toLowerCase(), id: el.id, name: name.trim().replace(/\\s+/g, ' ')};
}"""


def _tab_to(page: Page, wanted: Callable[[dict[str, str]], bool], *, back: bool = False) -> None:
    """Tab (or Shift+Tab) until the focus is on the element wanted, as a keyboard user does:
    reading where the focus is changes nothing on the page."""
    seen = []
    for _ in range(80):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = page.evaluate(FOCUSED)
        if wanted(focused):
            return
        seen.append(f"{focused['tag']} {focused['name'][:30]}")
    raise AssertionError(f"never reached with the keyboard; went through {seen}")


def _blocks_the_pharmacist(el: dict[str, str]) -> bool:
    """The "Bloquer" button of Jeanne's pharmacist's line, named or numbered."""
    name = el["name"].upper()
    return (
        el["tag"] == "button"
        and name.startswith("BLOQUER")
        and ("DUPONT" in name or PHARMACIST[1:] in name)
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_from_activation_to_blocking_a_professional_with_the_keyboard_alone(
    page: Page, server: Server, pharmacist: Professional, jeanne: dict[str, Any]
) -> None:
    """Tab, Shift+Tab, Enter, Space and typing only, after the first page is opened: the
    access sheet and the birth date, the menu, the professional's line, the confirmation."""
    kiosk = OnlineCentral(signed_kiosk_client(server))
    token = login(server, pharmacist)
    page.goto(f"{server.url}/patient/connexion")  # from here, no click and no fill
    keys = page.keyboard
    _tab_to(page, lambda el: el["name"] == "Identifiant")
    keys.type(jeanne["access_identifier"])
    keys.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "Code provisoire (8 chiffres)"
    keys.type("1234")  # a slip, corrected as one does: back to the start of the field
    keys.press("Shift+Tab")
    keys.press("Tab")  # the code's field again, its text selected: typing replaces it
    keys.type(jeanne["activation_code"])
    year, month, day = jeanne["birth_date"].split("-")
    for part, value in (("day", day), ("month", month), ("year", year)):
        _tab_to(page, lambda el, part=part: el["id"] == f"activation_birth_{part}")
        keys.type(value)
    _tab_to(page, lambda el: el["name"] == "Activer mon accès")
    keys.press("Enter")
    page.wait_for_url("**/patient/dossier")
    _tab_to(page, lambda el: el["name"] == "Qui peut lire")
    keys.press("Enter")
    page.wait_for_url("**/patient/acces")
    _tab_to(page, _blocks_the_pharmacist)
    keys.press("Space")
    page.get_by_role("button", name="Confirmer").wait_for()  # nothing changed yet
    assert kiosk.open_record(
        token, JEANNE, mode=AccessMode.NORMAL, reason_code=None, reason_text=None
    )
    _tab_to(page, lambda el: el["name"] == "Confirmer")
    keys.press("Enter")
    page.get_by_role("status").wait_for()
    assert page.get_by_role("status").inner_text().lower() == "professionnel bloqué"
    with pytest.raises(CentralRefusedError) as refused:
        kiosk.open_record(token, JEANNE, mode=AccessMode.NORMAL, reason_code=None, reason_text=None)
    assert refused.value.reason == "blocked_by_patient"
