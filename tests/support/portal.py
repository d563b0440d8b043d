"""Driving the portal's forms in Chromium as a person does: the access sheet, the birth date
in three boxes."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.support.central import Professional, Server, login
from tests.support.dmp import JEANNE, PHARMACIST, PHYSICIAN, add_doc, create

__all__ = ["JEANNE_EMAIL", "activate", "fill_birth_date", "jeanne_record"]

JEANNE_EMAIL = "jeanne.bernard@example.org"


def fill_birth_date(page: Page, prefix: str, birth_date: str) -> None:
    """Type a "YYYY-MM-DD" birth date into the day, month and year boxes named `prefix`."""
    year, month, day = birth_date.split("-")
    page.locator(f"#{prefix}_day").fill(day)
    page.locator(f"#{prefix}_month").fill(month)
    page.locator(f"#{prefix}_year").fill(year)


def activate(page: Page, url: str, created: dict[str, Any], *, wait_for: str = "dossier") -> None:
    """First log-in with a record's access sheet and its person's birth date."""
    page.goto(f"{url}/patient/connexion")
    form = page.locator("form[action='/patient/activation']")
    form.get_by_label("Identifiant").fill(created["access_identifier"])
    form.get_by_label("Code provisoire (8 chiffres)").fill(created["activation_code"])
    fill_birth_date(page, "activation_birth", created["birth_date"])
    form.get_by_role("button", name="Activer mon accès").click()
    page.wait_for_url(f"**/patient/{wait_for}")


def jeanne_record(
    server: Server, pharmacist: Professional, physician: Professional, *, allergy: bool = False
) -> dict[str, Any]:
    """Jeanne's DMP as the portal's tests know it: her pharmacist and her doctor authorised,
    an e-mail contact, her doctor's treatment and report (and allergy, when asked)."""
    created = create(
        server,
        login(server, pharmacist),
        JEANNE,
        authorised_professionals=[PHARMACIST, PHYSICIAN],
        contact={"channel": "email", "address": JEANNE_EMAIL},
    )
    doctor = login(server, physician)
    add_doc(server, doctor, JEANNE, "medications", "Metformine 500 mg")
    if allergy:
        add_doc(server, doctor, JEANNE, "pathologies_allergies", "Allergie : pénicilline")
    add_doc(server, doctor, JEANNE, "reports", "Compte rendu : consultation diabétologie")
    return created
