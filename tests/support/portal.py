"""Driving the portal's forms in Chromium as a person does: the access sheet, the birth date
in three boxes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from playwright.sync_api import Page

from central.dmp.models import CareLine
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


def care_lines(server: Server, ins: str, today: dt.date) -> None:
    """The health insurance's lines for a record, written as its feed stores them: one of
    each nature within 24 months, and one from 25 months ago that the history no longer
    shows."""
    rows = [
        (10, "pharmacie", "CIP13", "3400935955838", "Metformine 500 mg, 30 comprimés", 2),
        (40, "consultation", "NGAP", "G", "Consultation de médecine générale", 1),
        (41, "biologie", "NABM", "1577", "Hémoglobine glyquée (HbA1c)", 1),
        (95, "imagerie", "CCAM", "ZBQK002", "Radiographie du thorax", 1),
        (130, "soins_infirmiers", "NGAP", "AMI", "Soin infirmier à domicile", 3),
        (200, "kinesitherapie", "NGAP", "AMK", "Rééducation du genou", 10),
        (320, "dentaire", "CCAM", "HBJD001", "Détartrage des dents", 1),
        (500, "hospitalisation", "CCAM", "HFFC018", "Cholécystectomie par cœlioscopie", 1),
        (760, "pharmacie", "CIP13", "3400930000000", "Ligne de plus de 24 mois", 1),
    ]
    with server.state.sessions() as db, db.begin():
        for number, (days, nature, system, code, label, quantity) in enumerate(rows):
            db.add(
                CareLine(
                    dmp_ins=ins,
                    line_id=f"{ins}-{number}",
                    care_date=today - dt.timedelta(days=days),
                    nature=nature,
                    code_system=system,
                    code=code,
                    label=label,
                    quantity=quantity,
                    executant="Pharmacie du Port, Lorient" if system == "CIP13" else "Dr DURAND",
                    received_at=dt.datetime.now(dt.UTC),
                )
            )
