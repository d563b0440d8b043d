"""The patient portal in headless Chromium (Debian's, driven by Playwright) against the real
central service on loopback, with codes read from the real SMTP server."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page

from central.portal.wording import refusal
from dmpcommon.vocabulary import AccessMode, BreakGlassReason
from kiosk.core.errors import CentralRefusedError
from kiosk.sync.online import OnlineCentral
from tests.support.aged import aged
from tests.support.browser import browser, page
from tests.support.central import Professional, Server, login, signed_kiosk_client
from tests.support.dmp import JEANNE, contact_of
from tests.support.mail import Mailbox, SmsGateway
from tests.support.portal import JEANNE_EMAIL, activate, fill_birth_date, jeanne_record

# The README's screenshots are taken only when asked: a test run must leave the tree as it was.
SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screens" / "portal"
    if os.environ.get("PORTAL_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "dmp-portal-screens"
)
EMAIL = JEANNE_EMAIL

# One backend is enough here: the portal adds pages, not storage.
__all__ = ["browser", "page"]  # fixtures from tests.support.browser

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def jeanne(server: Server, pharmacist: Professional, physician: Professional) -> dict[str, str]:
    """Jeanne's DMP: the pharmacist authorised, e-mail contact, documents from her doctor."""
    return jeanne_record(server, pharmacist, physician, allergy=True)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _as_written(shown: str) -> str:
    """A message as the service wrote it (the page's style starts it with a capital)."""
    return shown[:1].lower() + shown[1:]


def _notice(page: Page) -> str:
    return _as_written(page.get_by_role("status").inner_text())


def _alert(page: Page) -> str:
    """What the page read out at once: a refusal, or the errors tied to their fields."""
    return " ".join(_as_written(text) for text in page.get_by_role("alert").all_inner_texts())


def _activate(page: Page, server: Server, jeanne: dict[str, str]) -> None:
    activate(page, server.url, jeanne)


def test_activation_then_a_code_by_email_then_the_record(
    page: Page, server: Server, mailbox: Mailbox, jeanne: dict[str, str]
) -> None:
    page.goto(f"{server.url}/patient/connexion")
    _shot(page, "01-connexion")
    _activate(page, server, jeanne)
    assert page.get_by_role("heading", name="Traitements").is_visible()
    assert page.get_by_text("Metformine 500 mg", exact=True).is_visible()
    _shot(page, "02-dossier")
    page.get_by_role("button", name="Se déconnecter").click()
    assert _notice(page) == "vous êtes déconnecté(e)"
    # The provisional code is spent; what was typed stays, the tries left are said.
    sheet = page.locator("form[action='/patient/activation']")
    sheet.get_by_label("Identifiant").fill(jeanne["access_identifier"])
    sheet.get_by_label("Code provisoire (8 chiffres)").fill(jeanne["activation_code"])
    fill_birth_date(page, "activation_birth", jeanne["birth_date"])
    sheet.get_by_role("button", name="Activer mon accès").click()
    assert "déjà utilisé" in _alert(page) and "Il vous reste 4 essais" in _alert(page)
    assert sheet.get_by_label("Identifiant").input_value() == jeanne["access_identifier"]
    code_field = sheet.get_by_label("Code provisoire (8 chiffres)")
    assert code_field.get_attribute("aria-invalid") == "true"
    assert "activation-code-error" in (code_field.get_attribute("aria-describedby") or "")
    # Afterwards: NIR and birth date, then a one-time code sent by e-mail. The NIR is text
    # (a Corsican 2A or 2B must be typable), in capitals.
    by_code = page.locator("form[action='/patient/code']")
    nir = by_code.get_by_label("Numéro de sécurité sociale")
    assert nir.get_attribute("inputmode") == "text"
    assert nir.get_attribute("autocapitalize") == "characters"
    nir.fill(JEANNE)
    fill_birth_date(page, "birth", aged("1979-03-28"))
    by_code.get_by_role("button", name="Recevoir un code").click()
    page.get_by_label("Code à usage unique (6 chiffres)").fill("000000")
    page.get_by_role("button", name="Se connecter").click()
    assert "code incorrect" in _alert(page) and "Il vous reste 4 essais" in _alert(page)
    _shot(page, "03-code")
    page.get_by_label("Code à usage unique (6 chiffres)").fill(mailbox.code_for(EMAIL))
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/patient/dossier")
    assert page.get_by_text("Allergie : pénicilline", exact=True).is_visible()


def test_adding_a_reaction_and_directives(
    page: Page, server: Server, jeanne: dict[str, str]
) -> None:
    _activate(page, server, jeanne)
    page.get_by_role("link", name="Ajouter").click()
    _shot(page, "04-ajouter")
    page.get_by_label("Le médicament et ce qu'il vous a fait").fill("Amoxicilline : urticaire")
    page.locator("form", has=page.get_by_label("Le médicament")).get_by_role(
        "button", name="Ajouter"
    ).click()
    assert _notice(page) == "ajouté : réaction à un médicament"
    assert page.get_by_text("Amoxicilline : urticaire", exact=True).is_visible()


def test_blocking_a_professional_refuses_the_kiosks_next_open(
    page: Page, server: Server, pharmacist: Professional, jeanne: dict[str, str]
) -> None:
    kiosk = OnlineCentral(signed_kiosk_client(server))
    token = login(server, pharmacist)
    assert kiosk.open_record(
        token, JEANNE, mode=AccessMode.NORMAL, reason_code=None, reason_text=None
    )
    _activate(page, server, jeanne)
    page.get_by_role("link", name="Qui peut lire").click()
    _shot(page, "05-qui-peut-lire")
    page.get_by_role("button", name="Bloquer Anne DUPONT, pharmacien").click()
    page.get_by_role("button", name="Confirmer", exact=True).click()
    assert _notice(page) == "professionnel bloqué"
    with pytest.raises(CentralRefusedError) as refused:
        kiosk.open_record(token, JEANNE, mode=AccessMode.NORMAL, reason_code=None, reason_text=None)
    assert refused.value.reason == "blocked_by_patient"


def test_blocking_by_rpps_blocks_that_professionals_card(
    page: Page, server: Server, pharmacist: Professional, jeanne: dict[str, str]
) -> None:
    """The RPPS number the patient types is the card's "8" + RPPS: the block holds."""
    kiosk = OnlineCentral(signed_kiosk_client(server))
    token = login(server, pharmacist)
    _activate(page, server, jeanne)
    page.get_by_role("link", name="Qui peut lire").click()
    page.get_by_label("Son numéro RPPS").fill("997 0021 8895")  # one digit wrong
    page.get_by_role("button", name="Bloquer", exact=True).click()
    assert _notice(page).startswith("numéro RPPS invalide")
    page.get_by_label("Son numéro RPPS").fill("997 0021 8896")
    page.get_by_role("button", name="Bloquer", exact=True).click()
    page.get_by_role("button", name="Confirmer", exact=True).click()
    assert _notice(page) == "professionnel bloqué"
    with pytest.raises(CentralRefusedError) as refused:
        kiosk.open_record(token, JEANNE, mode=AccessMode.NORMAL, reason_code=None, reason_text=None)
    assert refused.value.reason == "blocked_by_patient"


def test_a_break_glass_access_shows_with_its_reason_and_an_emergency_choice_is_enforced(
    page: Page, server: Server, jeanne: dict[str, str]
) -> None:
    from tests.support.central import make_professional

    urgentist = make_professional(id_nat="810000000042", nom="LE ROUX", prenom="YVES")
    kiosk = OnlineCentral(signed_kiosk_client(server))
    token = login(server, urgentist)
    reason = "Patiente inconsciente aux urgences de Lorient"
    kiosk.open_record(
        token,
        JEANNE,
        mode=AccessMode.BREAK_GLASS,
        reason_code=BreakGlassReason.VITAL_EMERGENCY,
        reason_text=reason,
    )
    _activate(page, server, jeanne)
    page.get_by_role("link", name="Qui a lu").click()
    assert page.get_by_text(f"motif : URGENCE_VITALE: {reason}").is_visible()
    _shot(page, "06-qui-a-lu")
    page.get_by_role("link", name="Qui peut lire").click()
    page.get_by_label("Accès d'urgence (« bris de glace »)", exact=False).uncheck()
    page.get_by_role("button", name="Enregistrer mes choix").click()
    page.get_by_role("button", name="Confirmer", exact=True).click()
    assert _notice(page) == "choix d'urgence enregistrés"
    with pytest.raises(CentralRefusedError) as refused:
        kiosk.open_record(
            token,
            JEANNE,
            mode=AccessMode.BREAK_GLASS,
            reason_code=BreakGlassReason.VITAL_EMERGENCY,
            reason_text=reason,
        )
    assert refused.value.reason == "patient_refused_btg"
    page.get_by_role("link", name="Notifications").click()
    _shot(page, "07-notifications")


def test_notifications_are_saved_and_an_expired_session_asks_to_log_in_again(
    page: Page, server: Server, jeanne: dict[str, str]
) -> None:
    _activate(page, server, jeanne)
    page.get_by_role("link", name="Notifications").click()
    page.get_by_label("un nouveau document").uncheck()
    page.get_by_role("button", name="Enregistrer").click()
    assert _notice(page) == "préférences enregistrées"
    assert not page.get_by_label("un nouveau document").is_checked()
    server.clock.advance(minutes=31)  # past the 30-minute patient session
    page.get_by_role("link", name="Mon dossier").click()
    assert "session expirée" in _notice(page)
    assert page.get_by_role("button", name="Activer mon accès").is_visible()


def test_a_new_contact_changes_once_its_code_comes_back_and_the_old_one_is_told(
    page: Page, server: Server, mailbox: Mailbox, sms: SmsGateway, jeanne: dict[str, str]
) -> None:
    _activate(page, server, jeanne)
    page.get_by_role("link", name="Notifications").click()
    new_number = page.get_by_label("Adresse e-mail ou numéro de mobile")
    page.get_by_label("SMS").check()
    new_number.fill("pas un numéro")
    page.get_by_role("button", name="Recevoir un code").click()
    assert "numéro de mobile invalide" in _alert(page)
    assert new_number.input_value() == "pas un numéro"  # kept, to be corrected
    assert new_number.get_attribute("aria-invalid") == "true"
    assert page.get_by_label("SMS").is_checked()
    new_number.fill("06 12 34 56 78")
    page.get_by_role("button", name="Recevoir un code").click()
    assert "+33612345678" in page.get_by_role("main").inner_text()
    page.get_by_label("Code reçu").fill("000000")
    page.get_by_role("button", name="Confirmer").click()
    assert refusal("bad_code") in _alert(page)
    assert page.get_by_label("Code reçu").is_visible()  # asked again, nothing changed yet
    assert contact_of(server) == ("email", EMAIL)
    code = sms.code_for("+33612345678", "vous prévienne ici")
    page.get_by_label("Code reçu").fill(code)
    page.get_by_role("button", name="Confirmer").click()
    assert _notice(page) == "contact changé"
    assert "+33612345678" in page.get_by_role("main").inner_text()
    told = mailbox.latest(EMAIL, "Le contact de votre DMP a changé")
    assert "dernier envoyé ici" in told.get_content()


def test_creating_ones_dmp_online_with_the_vitale_serial_and_a_code(
    page: Page, server: Server, mailbox: Mailbox
) -> None:
    page.goto(f"{server.url}/patient/connexion")
    page.get_by_role("link", name="Créer mon DMP en ligne").click()
    assert page.get_by_text("Jamais, même avec votre accord", exact=False).is_visible()
    page.get_by_label("Numéro de sécurité sociale").fill(JEANNE)
    fill_birth_date(page, "birth", aged("1979-03-28"))
    serial = page.get_by_label("Numéro de série de votre carte Vitale", exact=False)
    serial.fill("7901234560")  # not her card's
    page.get_by_label("Adresse e-mail ou numéro de mobile").fill(EMAIL)
    page.get_by_label("J'ai lu la note d'information", exact=False).check()
    page.get_by_role("button", name="Recevoir un code").click()
    assert _alert(page).startswith("ces informations ne correspondent pas")
    server.clock.advance(seconds=61)
    page.get_by_label("Numéro de série de votre carte Vitale", exact=False).fill("7901234561")
    page.get_by_label("J'ai lu la note d'information", exact=False).check()
    page.get_by_role("button", name="Recevoir un code").click()
    assert EMAIL in page.get_by_role("main").inner_text()
    _shot(page, "08-creation-code")
    page.get_by_label("Code reçu").fill(mailbox.code_for(EMAIL, subject="Créez votre DMP"))
    page.get_by_role("button", name="Créer mon DMP").click()
    page.wait_for_url("**/patient/dossier")
    assert (
        "en ligne, après lecture de la note d'information" in page.get_by_role("main").inner_text()
    )


def test_closing_then_reopening_the_record(
    page: Page, server: Server, pharmacist: Professional, jeanne: dict[str, str]
) -> None:
    kiosk = OnlineCentral(signed_kiosk_client(server))
    token = login(server, pharmacist)
    _activate(page, server, jeanne)
    page.get_by_role("link", name="Qui peut lire").click()
    page.get_by_role("button", name="Fermer mon dossier").click()
    page.get_by_role("button", name="Confirmer", exact=True).click()
    assert _notice(page) == "dossier fermé"
    assert page.get_by_role("heading", name="Votre dossier est fermé").is_visible()
    with pytest.raises(CentralRefusedError) as refused:
        kiosk.open_record(token, JEANNE, mode=AccessMode.NORMAL, reason_code=None, reason_text=None)
    assert refused.value.reason == "dmp_closed"
    page.get_by_role("link", name="Mon dossier").click()
    assert "votre dossier est fermé" in _notice(page).lower()
    page.get_by_role("link", name="Le rouvrir").click()
    page.get_by_role("button", name="Rouvrir mon dossier").click()
    page.get_by_role("button", name="Confirmer", exact=True).click()
    assert _notice(page) == "dossier rouvert"
    summary = kiosk.open_record(
        token, JEANNE, mode=AccessMode.NORMAL, reason_code=None, reason_text=None
    )
    assert summary.sections  # the content kept


def test_a_masked_report_leaves_the_pharmacists_summary_and_stays_with_its_author(
    page: Page,
    server: Server,
    pharmacist: Professional,
    physician: Professional,
    jeanne: dict[str, str],
) -> None:
    kiosk = OnlineCentral(signed_kiosk_client(server))
    report = "Compte rendu : consultation diabétologie"

    def reads(who: Professional) -> set[str]:
        summary = kiosk.open_record(
            login(server, who), JEANNE, mode=AccessMode.NORMAL, reason_code=None, reason_text=None
        )
        return {d.title for _, docs in summary.sections for d in docs}

    assert report in reads(pharmacist)
    _activate(page, server, jeanne)
    page.get_by_role("button", name=f"Masquer « {report} » aux professionnels").click()
    page.get_by_role("button", name="Confirmer", exact=True).click()
    assert _notice(page) == "document masqué aux professionnels"
    assert page.get_by_role("button", name=f"Ne plus masquer « {report} »").is_visible()
    assert report not in reads(pharmacist)
    assert report in reads(physician)  # its author


def test_naming_the_treating_doctor_by_rpps_shows_his_name(
    page: Page, server: Server, physician: Professional, jeanne: dict[str, str]
) -> None:
    _activate(page, server, jeanne)
    page.get_by_role("link", name="Qui peut lire").click()
    page.get_by_label("Numéro RPPS du médecin", exact=False).fill("101 0045 7828")
    page.get_by_role("button", name="Désigner").click()
    page.get_by_role("button", name="Confirmer", exact=True).click()
    assert _notice(page) == "médecin traitant désigné"
    row = page.get_by_role("row", name="médecin traitant")
    assert "médecin" in row.inner_text() and "RPPS" not in row.inner_text()
    page.get_by_role("button", name="Bloquer Helene MORVAN, médecin").click()
    page.get_by_role("button", name="Confirmer", exact=True).click()
    assert _alert(page) == refusal("treating_doctor_cannot_be_blocked")


def test_the_log_says_what_happened_in_french_and_in_paris_time(
    page: Page, server: Server, jeanne: dict[str, str]
) -> None:
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from central.audit.models import AuditEntry
    from tests.support.central import make_professional
    from tests.support.dmp import operator_sets, present

    nurse = make_professional(id_nat="810100999977", nom="LE BRIS", prenom="ANNA")
    token = login(server, nurse)
    kiosk = OnlineCentral(signed_kiosk_client(server))
    with pytest.raises(CentralRefusedError):  # not authorised yet
        kiosk.open_record(token, JEANNE, mode=AccessMode.NORMAL, reason_code=None, reason_text=None)
    present(server, token, JEANNE)
    agreed = operator_sets(
        server, token, JEANNE, "810100999977", "authorise", patient_agreement=True
    )
    assert agreed.status_code == 204, agreed.text
    _activate(page, server, jeanne)
    page.get_by_role("link", name="Qui a lu").click()
    text = page.get_by_role("main").inner_text()
    assert "s'est déclaré autorisé avec votre accord" in text
    assert "accès refusé : vous ne l'avez pas autorisé" in text
    assert "a lu votre carte Vitale" in text and "a ajouté un document" in text
    assert "accès normal" not in text
    with server.state.sessions() as db:
        at = db.scalars(
            select(AuditEntry.at).where(AuditEntry.action == "professional_authorise")
        ).one()
    paris = at.astimezone(ZoneInfo("Europe/Paris"))
    month = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre")[paris.month - 1]  # fmt: skip
    day = "1er" if paris.day == 1 else str(paris.day)
    assert f"{day} {month} {paris.year} à {paris.hour} h {paris.minute:02d}" in text


def test_a_locked_access_sheet_says_to_wait_or_to_ask_the_counter(
    page: Page, server: Server, jeanne: dict[str, str]
) -> None:
    """Five wrong provisional codes lock the sheet for a while, not for good: the page says
    how long and that the counter can print a new code; afterwards the code works."""
    page.goto(f"{server.url}/patient/connexion")
    for code in ["00000000"] * 5 + [jeanne["activation_code"]]:
        page.get_by_label("Identifiant").fill(jeanne["access_identifier"])
        page.get_by_label("Code provisoire (8 chiffres)").fill(code)
        fill_birth_date(page, "activation_birth", jeanne["birth_date"])
        page.get_by_role("button", name="Activer mon accès").click()
    notice = _alert(page)
    assert "réessayez dans 15 minutes" in notice and "au comptoir un nouveau code" in notice
    server.clock.advance(minutes=16)
    _activate(page, server, jeanne)
