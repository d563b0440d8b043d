"""The counter's screens over the real workflow and fakes of its ports: each tap a finger
makes, each screen drawn from the view it gets, offscreen and without threads, cards or
network (the same screens in the real app: tests/ui). Fast: the whole module in seconds."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QStackedWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from dmpcommon.actions import (
    AuthorisationGranted,
    DmpCreated,
    DocumentAdded,
    IdentityChecked,
    Representative,
)
from dmpcommon.vocabulary import CounterDocument, DmpStatus, IdentityDocument
from kiosk.core import CounterView, CounterWorkflow, NoticeCode, Step
from kiosk.core.ports import Delivery
from kiosk.ui.screens import SCREENS, CreatedScreen, ReadyScreen, Screen, first_names
from kiosk.ui.sheet import PrintResult
from tests.support.fakes import ADULT, BAD_KEY, CHILD, PHARMACIST, TODAY, Counter, make_counter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ADULT_INS = "279035121518989"
CHILD_INS = "115063523804211"


class Counterside:
    """The screens in a stack, each command run at once on the workflow, then drawn."""

    def __init__(self, qtbot: QtBot, counter: Counter) -> None:
        self.counter = counter
        self.stack = QStackedWidget()
        qtbot.addWidget(self.stack)
        self.stack.resize(1024, 700)
        self.screens: dict[Step, Screen] = {}
        self.busy: list[str | None] = []
        for kind in SCREENS:
            self._add(kind(self.submit))
        self._add(ReadyScreen(self.submit, lambda: None))
        self._add(CreatedScreen(self.submit, lambda: None))
        self.view: CounterView | None = None
        self.stack.show()
        self.draw()

    def _add(self, screen: Screen) -> None:
        self.screens[screen.step] = screen
        self.stack.addWidget(screen)

    @property
    def workflow(self) -> CounterWorkflow:
        return self.counter.workflow

    def submit(self, command: Callable[[CounterWorkflow], object], busy: str | None = None) -> None:
        self.busy.append(busy)
        command(self.workflow)
        self.draw()

    def draw(self) -> None:
        view = self.workflow.view()
        entering = self.view is None or self.view.step is not view.step
        self.view = view
        if view.step is Step.PIN:
            return
        screen = self.screens[view.step]
        for other in self.screens.values():
            if other is not screen:
                other.clear()
        if entering or not screen.keeps_input:
            screen.draw(view)
        else:
            screen.refresh(view)
        self.stack.setCurrentWidget(screen)

    @property
    def screen(self) -> Screen:
        current = self.stack.currentWidget()
        assert isinstance(current, Screen)
        return current

    def tap(self, qtbot: QtBot, name: str) -> None:
        control = self.screen.findChild(QAbstractButton, name)
        assert control is not None and control.isVisible(), f"no visible {name!r} on {self.view}"
        point = None
        if isinstance(control, QCheckBox | QRadioButton):
            point = QPoint(min(20, control.width() // 2), control.height() // 2)
        qtbot.mouseClick(control, Qt.MouseButton.LeftButton, pos=point or control.rect().center())

    def type(self, qtbot: QtBot, name: str, value: str) -> None:
        edit = self.screen.findChild(QLineEdit, name)
        assert edit is not None and edit.isVisible(), name
        assert edit.property("keyboard"), f"{name}: no on-screen keyboard asked for"
        edit.clear()
        if value.isascii():
            qtbot.keyClicks(edit, value)
        else:  # QTest types ASCII keys only: an accent comes as the keyboard's text does
            edit.insert(value)

    def visible(self, name: str) -> bool:
        control = self.screen.findChild(QWidget, name)
        return control is not None and control.isVisible()

    def label(self, name: str) -> str:
        label = self.screen.findChild(QLabel, name)
        assert label is not None, name
        return label.text()

    def texts(self) -> str:
        return " | ".join(
            label.text() for label in self.screen.findChildren(QLabel) if label.isVisible()
        )


@pytest.fixture
def side(qtbot: QtBot) -> Iterator[Counterside]:
    counter = make_counter()
    counter.login()
    yield Counterside(qtbot, counter)


def _patient(side: Counterside, qtbot: QtBot, *, status: DmpStatus | None = None) -> None:
    side.counter.central.qualifies(ADULT, ADULT_INS)
    if status is not None:
        side.counter.central.dmps[ADULT_INS] = status
    side.counter.vitale(ADULT)
    side.draw()
    side.tap(qtbot, "holder-0")
    assert side.view is not None and side.view.step is Step.PATIENT


def test_names_keep_their_accents_and_hyphens() -> None:
    assert first_names("MARIE-HÉLÈNE") == "Marie-Hélène"
    assert first_names("JEAN PIERRE D'ARC") == "Jean Pierre D'Arc"


def test_the_patient_authorises_then_the_summary_opens_with_allergies_first(
    side: Counterside, qtbot: QtBot
) -> None:
    _patient(side, qtbot, status=DmpStatus.VALID)
    assert side.busy[-1] == "Interrogation du service central…"  # a live call: said busy
    text = side.texts()
    assert "Identité récupérée du répertoire national (INS)" in text and "née le" in text
    assert "femme" in text and "code INSEE" in text  # the strict traits
    assert not side.visible("open") and side.visible("authorise-self")
    side.tap(qtbot, "authorise-self")
    assert side.screen.step is Step.CONFIRM and "tracée" in side.label("lead")
    side.tap(qtbot, "confirm")
    assert side.counter.queue.of(AuthorisationGranted)
    assert "en attente" in side.label("change") and not side.visible("open")
    side.counter.central.authorised[ADULT_INS] = {PHARMACIST.id_nat}
    side.counter.queue.answer_all()
    side.workflow.tick()
    side.draw()
    assert side.label("change").startswith("Fait") and side.visible("open")
    side.tap(qtbot, "open")
    assert side.screen.step is Step.SUMMARY
    assert side.label("allergies").startswith("Aucune allergie")
    side.tap(qtbot, "back")  # "Retour au patient"
    assert side.screen.step is Step.PATIENT


def test_a_refusal_is_said_with_its_reason(side: Counterside, qtbot: QtBot) -> None:
    _patient(side, qtbot, status=DmpStatus.VALID)
    side.tap(qtbot, "authorise-self")
    side.tap(qtbot, "confirm")
    side.counter.queue.answer_all(Delivery.REJECTED, "blocked_by_patient")
    side.workflow.tick()
    side.draw()
    assert side.label("change") == (
        "Refusé (autorisation) : le patient a bloqué votre accès à ce DMP : lui seul peut lever "
        "ce blocage, dans son espace en ligne."
    )


def test_a_vaccination_form_with_its_errors_beside_the_fields(
    side: Counterside, qtbot: QtBot
) -> None:
    side.counter.central.authorised[ADULT_INS] = {PHARMACIST.id_nat}
    _patient(side, qtbot, status=DmpStatus.VALID)
    side.tap(qtbot, "add-document")
    assert side.screen.step is Step.DOCUMENT
    side.tap(qtbot, "confirm")  # nothing chosen, nothing typed
    assert side.visible("error-kind") and side.screen.step is Step.DOCUMENT
    side.tap(qtbot, f"kind-{CounterDocument.VACCINATION.value}")
    side.type(qtbot, "title", "Vaccin grippe")
    side.tap(qtbot, "confirm")
    assert side.visible("error-content") and not side.visible("error-kind")
    edit = side.screen.findChild(QLineEdit, "title")
    assert edit is not None and edit.text() == "Vaccin grippe"  # what was typed stays
    side.type(qtbot, "content", "Influvac Tetra, lot 4421")
    side.type(qtbot, "document_date", "17/05/2031")
    side.tap(qtbot, "confirm")
    assert side.counter.queue.of(DocumentAdded) == [
        DocumentAdded(
            ins=ADULT_INS,
            kind=CounterDocument.VACCINATION,
            title="Vaccin grippe",
            content="Influvac Tetra, lot 4421",
            document_date=TODAY.isoformat(),
        )
    ]
    assert side.screen.step is Step.PATIENT


def test_an_identity_document_checked_makes_the_ins_qualified(
    side: Counterside, qtbot: QtBot
) -> None:
    _patient(side, qtbot)
    side.tap(qtbot, "check-identity")
    side.tap(qtbot, "confirm")  # nothing chosen: nothing done
    assert side.screen.step is Step.IDENTITY_CHECK
    side.tap(qtbot, f"document-{IdentityDocument.PASSPORT.value}")
    side.tap(qtbot, "confirm")
    assert "INS qualifiée — pièce contrôlée : passeport" in side.texts()
    assert side.counter.queue.of(IdentityChecked)


def test_a_minor_with_the_other_parent(side: Counterside, qtbot: QtBot) -> None:
    side.counter.central.qualifies(CHILD, CHILD_INS)
    side.counter.vitale(CHILD)  # a card with the child alone
    side.draw()
    side.tap(qtbot, "holder-0")
    side.tap(qtbot, "create")
    assert side.screen.step is Step.REPRESENTATIVE and "Aucun adulte" in side.texts()
    assert "mineur" in side.texts()
    side.type(qtbot, "rep_nom", "Le Goff")
    side.type(qtbot, "rep_prenom", "Marie-Hélène")
    side.type(qtbot, "rep_birth_date", "02/03/1980")
    side.tap(qtbot, "confirm")  # no document chosen
    assert side.visible("error-rep_document")
    side.tap(qtbot, f"rep-document-{IdentityDocument.ID_CARD.value}")
    side.tap(qtbot, "confirm")
    assert side.screen.step is Step.INFORMATION
    side.tap(qtbot, "accept")
    assert "Représentant légal : LE GOFF Marie-Hélène" in side.texts()
    side.tap(qtbot, "consent")
    side.tap(qtbot, "create")
    [created] = side.counter.queue.of(DmpCreated)
    assert isinstance(created, DmpCreated) and created.representative == Representative(
        nom="LE GOFF",
        prenom="Marie-Hélène",
        birth_date="1980-03-02",
        identity_document=IdentityDocument.ID_CARD,
    )


def test_break_glass_has_no_reason_chosen_in_advance(side: Counterside, qtbot: QtBot) -> None:
    _patient(side, qtbot, status=DmpStatus.VALID)
    side.tap(qtbot, "break-glass")
    radios = side.screen.findChildren(QRadioButton)
    assert radios and not any(r.isChecked() for r in radios)
    side.type(qtbot, "reason-text", "aaaaa")
    side.tap(qtbot, "confirm")
    assert side.visible("error-reason") and side.counter.central.opened == []


def test_offline_the_create_button_says_provisional(qtbot: QtBot) -> None:
    counter = make_counter(online=False)
    counter.login()
    side = Counterside(qtbot, counter)
    counter.vitale(ADULT)
    side.draw()
    side.tap(qtbot, "holder-0")
    control = side.screen.findChild(QAbstractButton, "create")
    assert control is not None and control.text() == "Créer (fiche provisoire)"
    assert "Hors ligne : on ne sait pas si ce patient a déjà un DMP" in side.texts()


def test_every_screen_fits_the_window_with_a_long_name(qtbot: QtBot) -> None:
    long = ADULT.__class__(
        "DE LA TOUR D'AUVERGNE-LAURAGUAIS-" + "X" * 60,
        "MARIE-HÉLÈNE " * 6,
        ADULT.birth_date,
        ADULT.nir,
        True,
    )
    counter = make_counter()
    counter.login()
    counter.central.qualifies(long, ADULT_INS)
    counter.central.dmps[ADULT_INS] = DmpStatus.VALID
    side = Counterside(qtbot, counter)
    counter.vitale(long)
    side.draw()
    side.tap(qtbot, "holder-0")
    for step in (Step.PATIENT, Step.CONFIRM):
        if step is Step.CONFIRM:
            side.tap(qtbot, "authorise-self")
        assert side.screen.minimumSizeHint().width() <= 1024, step


def test_a_print_that_failed_is_said_and_the_code_can_be_shown(
    side: Counterside, qtbot: QtBot
) -> None:
    _patient(side, qtbot)
    side.tap(qtbot, "create")
    side.tap(qtbot, "accept")
    side.tap(qtbot, "consent")
    side.tap(qtbot, "create")
    created = side.screen
    assert isinstance(created, CreatedScreen) and side.view is not None
    sheet = side.view.sheet
    assert sheet is not None
    created.show_print(
        PrintResult(printed=False, problem="no_printer"), portal_url="https://p.test"
    )
    assert "n'a pas été imprimée : aucune imprimante" in side.label("printing")
    assert sheet.activation_code[:4] not in side.label("code")  # not shown unasked
    side.tap(qtbot, "show-code")
    shown = side.label("code")
    assert sheet.activation_code[:4] in shown and sheet.identifier[:4] in shown
    created.show_print(PrintResult(printed=True), portal_url="https://p.test")
    assert side.label("printing") == "Fiche d'accès imprimée : remettez-la au patient."
    assert not side.visible("show-code")


def test_a_holder_whose_nir_is_wrong_is_marked_before_any_tap(qtbot: QtBot) -> None:
    counter = make_counter()
    counter.login()
    side = Counterside(qtbot, counter)
    counter.vitale(ADULT, BAD_KEY)
    side.draw()
    bad = side.screen.findChild(QAbstractButton, "holder-1")
    good = side.screen.findChild(QAbstractButton, "holder-0")
    assert bad is not None and bad.text().endswith("numéro de sécurité sociale erroné")
    assert good is not None and "erroné" not in good.text()
    side.tap(qtbot, "holder-1")
    assert side.screen.step is Step.HOLDERS and side.view is not None
    assert side.view.notice is not None and side.view.notice.code is NoticeCode.NIR_INVALID
    assert counter.queue.types() == ["operator_session_opened"]  # nothing of hers sent
