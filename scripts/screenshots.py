"""Screenshots of every kiosk screen, from the real app offscreen (docs/screens/*.png).

Needs pcscd with the vpcd reader (`make system`). Starts the central service on a temporary
SQLite database, enrols a kiosk, and walks the counter with the virtual cards.
Run: `QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication, QPushButton  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from central.config import Settings  # noqa: E402
from central.dmp.models import CareLine  # noqa: E402
from central.migrate import upgrade  # noqa: E402
from dmpcommon.actions import DmpCreated  # noqa: E402
from dmpcommon.information import INFORMATION_VERSION  # noqa: E402
from dmpcommon.vocabulary import CounterDocument, IdentityDocument  # noqa: E402
from kiosk.core import Change, Step  # noqa: E402
from kiosk.core.ports import Delivery  # noqa: E402
from kiosk.settings import load_settings  # noqa: E402
from kiosk.ui.app import Kiosk, build_kiosk  # noqa: E402
from tests.support.aged import write_aged_fixtures  # noqa: E402
from tests.support.central import fixture_professional, login, start_server  # noqa: E402
from tests.support.counter import enrolled_home  # noqa: E402
from tests.support.dmp import add_doc, create  # noqa: E402
from tests.support.documents import cda_structured, file_in, report_pdf  # noqa: E402
from tests.support.pcsc import card_in_slot, start_pcscd  # noqa: E402

OUT = ROOT / "docs" / "screens"
CARDS = ROOT / "fixtures" / "cards"  # replaced by aged copies in main()
REPORT_ID = ""  # the PDF report opened on the kiosk, once filed
ENDOCRINOLOGY_PDF = report_pdf(
    "Compte rendu de consultation d'endocrinologie",
    [
        "Dr Hélène MORVAN, Cabinet médical du Quai - Paimpol",
        "",
        "Motif : suivi d'une hypothyroïdie traitée depuis 2019.",
        "Clinique : poids stable, pas de signe de surdosage, fréquence cardiaque 72/min.",
        "Biologie du 12 novembre : TSH 2,1 mUI/L (0,4 - 4,0).",
        "",
        "Conclusion : équilibre satisfaisant.",
        "Poursuite de la lévothyroxine 75 µg, 1 comprimé le matin à jeun.",
        "Contrôle de la TSH dans 6 mois, puis consultation dans un an.",
        "",
        "Allergie connue : pénicilline (urticaire, 2019).",
    ],
)
THYROID_CDA = cda_structured(
    "Bilan thyroïdien",
    [("Résultats", "TSH 2,1 mUI/L (0,4 - 4,0)"), ("Conclusion", "Bilan dans les normes.")],
    loinc="11502-2",
)
# The health insurance's lines for the screenshot, written straight into the database: a
# sample of reimbursed care (dates before the day the script runs).
CARE = (
    (9, "pharmacie", "CIP13", "3400936386709", "LEVOTHYROX 75 µg, comprimé sécable", 1),
    (9, "consultation", "NGAP", "G", "Consultation du médecin généraliste", 1),
    (24, "biologie", "NABM", "1208", "Dosage de la TSH", 1),
    (61, "pharmacie", "CIP13", "3400935955838", "DOLIPRANE 1000 mg, comprimé", 2),
    (61, "consultation", "NGAP", "CS", "Consultation du spécialiste (endocrinologie)", 1),
    (130, "imagerie", "CCAM", "KCQM001", "Échographie de la thyroïde", 1),
    (190, "soins_infirmiers", "NGAP", "AMI 1", "Prise de sang à domicile", 1),
    (240, "kinesitherapie", "NGAP", "AMK 7.5", "Rééducation de l'épaule", 10),
    (300, "dentaire", "CCAM", "HBJD001", "Détartrage des dents", 1),
    (410, "pharmacie", "CIP13", "3400936386709", "LEVOTHYROX 75 µg, comprimé sécable", 3),
    (520, "hospitalisation", "CCAM", "GHS", "Hospitalisation de jour (CHU de Rennes)", 1),
    (690, "biologie", "NABM", "1208", "Dosage de la TSH", 1),
)


def add_care_lines(settings: Settings, ins: str) -> None:
    """The care history of the screenshot's patient (the insurance feed's rows, directly)."""
    engine = create_engine(settings.database_url)
    now = dt.datetime.now(dt.UTC)
    executants = {
        "pharmacie": "Pharmacie du Port, Lorient",
        "consultation": "Dr Hélène MORVAN",
        "biologie": "Laboratoire Bio Bretagne, Lorient",
        "imagerie": "Centre d'imagerie du Scorff",
        "soins_infirmiers": "Cabinet infirmier de Keryado",
        "kinesitherapie": "Cabinet de kinésithérapie du Ter",
        "dentaire": "Dr Gwenaëlle LE GOFF",
        "hospitalisation": "CHU de Rennes",
    }
    with Session(engine) as db, db.begin():
        for number, (days, nature, system, code, label, quantity) in enumerate(CARE, start=1):
            db.add(
                CareLine(
                    dmp_ins=ins,
                    line_id=f"ECRAN-{number:03d}",
                    care_date=dt.date.today() - dt.timedelta(days=days),
                    nature=nature,
                    code_system=system,
                    code=code,
                    label=label,
                    quantity=quantity,
                    executant=executants[nature],
                    received_at=now,
                )
            )
    engine.dispose()


def pump_until(app: QApplication, done: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("the kiosk did not get there")
        app.processEvents()
        time.sleep(0.01)


def main() -> None:
    start_pcscd()
    app = QApplication([])
    OUT.mkdir(parents=True, exist_ok=True)
    global CARDS
    with tempfile.TemporaryDirectory() as tmp:
        CARDS, identities = write_aged_fixtures(Path(tmp) / "aged", dt.date.today())
        settings = Settings(
            db=f"sqlite:///{tmp}/central.db", home=Path(tmp) / "central", identities=identities
        )
        upgrade(settings.database_url)
        server = start_server(settings)
        token = login(server, fixture_professional("899700218896"))
        doctor = login(server, fixture_professional("810100457828"))
        create(
            server,
            token,
            "284027511234577",
            authorised_professionals=["899700218896", "810100457828"],
        )
        create(server, token, "279035121518989", authorised_professionals=["899700218896"])
        for category, title in (
            ("medications", "Lévothyroxine 75 µg, 1 cp le matin"),
            ("pathologies_allergies", "Allergie : pénicilline (urticaire, 2019)"),
            ("exam_results", "TSH : 2,1 mUI/L"),
        ):
            add_doc(server, doctor, "284027511234577", category, title)
        global REPORT_ID
        REPORT_ID = add_doc(
            server,
            doctor,
            "284027511234577",
            "reports",
            "Compte rendu de consultation d'endocrinologie",
            loinc="11488-4",
            file=file_in(ENDOCRINOLOGY_PDF, "application/pdf", "cr-endocrinologie.pdf"),
        )["id"]
        add_doc(
            server,
            doctor,
            "284027511234577",
            "exam_results",
            "Bilan thyroïdien",
            loinc="11502-2",
            days_ago=20,
            file=file_in(THYROID_CDA, "text/xml", "bilan-thyroidien.xml"),
        )
        add_care_lines(settings, "284027511234577")
        home = enrolled_home(server, Path(tmp) / "kiosk")
        kiosk = build_kiosk(
            load_settings(home=home, portal_url=f"{server.url}/patient", sheet_dir=tmp)
        )
        kiosk.window.resize(1024, 768)
        kiosk.window.show()
        try:
            walk(app, kiosk)
        finally:
            kiosk.stop()
            server.stop()


def walk(app: QApplication, kiosk: Kiosk) -> None:
    window = kiosk.window

    def at(step: Step) -> None:
        pump_until(app, lambda: window.view is not None and window.view.step is step)
        pump_until(app, lambda: kiosk.runner.busy_label is None)
        app.processEvents()

    def shot(name: str) -> None:
        pump_until(app, lambda: bool(window.sync.text()))  # the sync line has spoken
        for _ in range(20):
            app.processEvents()
        window.grab().save(str(OUT / f"{name}.png"))
        print(f"docs/screens/{name}.png")

    def run(command: Callable[..., object]) -> None:
        kiosk.runner.submit(command)

    shot("01-welcome")
    with card_in_slot(CARDS / "cps-pharmacienne-lorient.json", slot=1):
        at(Step.PIN)
        window.screens[Step.PIN]._key("1")  # type: ignore[attr-defined]  # noqa: SLF001
        window.screens[Step.PIN]._key("2")  # type: ignore[attr-defined]  # noqa: SLF001
        shot("02-pin")
        window.screens[Step.PIN]._key("Effacer")  # type: ignore[attr-defined]  # noqa: SLF001
        window.screens[Step.PIN].type_pin("1234")  # type: ignore[attr-defined]
        at(Step.READY)
        shot("03-ready")
        with card_in_slot(CARDS / "vitale-parent-deux-enfants.json", slot=0):
            at(Step.HOLDERS)
            shot("04-holders")
            run(lambda s: s.choose_holder(1))
            at(Step.PATIENT)
            shot("05-patient-no-dmp")
            run(lambda s: s.start_creation())
            at(Step.REPRESENTATIVE)
            shot("06-representative")
            run(lambda s: s.choose_representative(0))
            at(Step.INFORMATION)
            shot("07-information")
            run(lambda s: s.accept_information(INFORMATION_VERSION))
            at(Step.CONSENT)
            run(lambda s: s.update_form(consent=True))
            pump_until(app, lambda: bool(window.view and window.view.form.consent))
            window.screens[Step.CONSENT].draw(window.view)  # type: ignore[arg-type]
            shot("08-consent")
            run(lambda s: s.create())
            at(Step.CREATED)
            # The screen says "DMP créé" once the service acknowledged the creation.
            pump_until(app, lambda: bool(window.view and window.view.creation is Delivery.ACCEPTED))
            shot("09-created")
            run(lambda s: s.other_holder())  # the mother next, the card still in
            at(Step.HOLDERS)
            run(lambda s: s.choose_holder(0))
            at(Step.PATIENT)
            shot("10-patient-dmp")
            run(lambda s: s.ask_identity_check())
            at(Step.IDENTITY_CHECK)
            shot("11-identity-check")
            run(lambda s: s.check_identity(IdentityDocument.ID_CARD))
            at(Step.PATIENT)
            run(lambda s: s.open_record())
            at(Step.SUMMARY)
            summary = window.screens[Step.SUMMARY]
            opener = summary.findChild(QPushButton, f"open-{REPORT_ID}")
            summary.documents.ensureWidgetVisible(opener)  # type: ignore[attr-defined]
            shot("12-summary")
            summary.show_page(1)  # type: ignore[attr-defined]
            shot("18-summary-care-history")
            summary.show_page(0)  # type: ignore[attr-defined]
            run(lambda s: s.open_document(REPORT_ID))
            at(Step.VIEWER)
            shot("19-document-pdf")
            run(lambda s: s.close_document())
            at(Step.SUMMARY)
            run(lambda s: s.back())
            at(Step.PATIENT)
            run(lambda s: s.start_change(Change.DOCUMENT, CounterDocument.VACCINATION))
            at(Step.DOCUMENT)
            shot("13-document")
            run(lambda s: s.back())
            at(Step.PATIENT)
            run(lambda s: s.finish())
            at(Step.READY)
        at(Step.READY)
        run(lambda s: s.start_search())
        at(Step.SEARCH)
        shot("14-search")
        run(lambda s: s.back())
        at(Step.READY)
    at(Step.WELCOME)
    with card_in_slot(CARDS / "cps-medecin.json", slot=1):
        at(Step.PIN)
        window.screens[Step.PIN].type_pin("1234")  # type: ignore[attr-defined]
        at(Step.READY)
        with card_in_slot(CARDS / "vitale-adulte-seul.json", slot=0):  # not authorised on it
            at(Step.HOLDERS)
            run(lambda s: s.choose_holder(0))
            at(Step.PATIENT)
            run(lambda s: s.ask_confirmation(Change.AUTHORISE))
            at(Step.CONFIRM)
            shot("15-patient-authorises")
            run(lambda s: s.back())
            at(Step.PATIENT)
            run(lambda s: s.ask_break_glass())
            at(Step.BREAK_GLASS)
            shot("16-break-glass")
            run(lambda s: s.back())
            at(Step.PATIENT)
            # A creation for a patient who has a DMP, as an offline kiosk would have queued
            # it: the service refuses it, the line turns red and the list says why.
            kiosk.queue.enqueue(
                DmpCreated(
                    ins="279035121518989",
                    consent=True,
                    information_version=INFORMATION_VERSION,
                    access_identifier="ABCDEFGH23",
                    activation_code="12345678",
                ),
                session_id=kiosk.runner.workflow._operator.session_id,  # type: ignore[union-attr]  # noqa: SLF001
                subject="J. B.",
            )
            kiosk.sync.wake()
            pump_until(app, lambda: "refusée" in window.sync.text())
            run(lambda s: s.finish())
            at(Step.READY)
            window.show_admin()
            shot("17-admin")
        at(Step.READY)


if __name__ == "__main__":
    main()
