"""The real kiosk app on a desk and a touch screen: real cards, real central service.

A PIN typed on a keyboard logs in, and a wrong one does not move the pad; typing on a form
keeps the patient past the idle time (its wipe once nobody types is
test_kiosk_app's test_idle_timeout_forgets_the_patient).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from kiosk.core import NoticeCode, Step
from kiosk.core.workflow import LONG_READING_FACTOR
from kiosk.ui.app import Kiosk
from tests.support.counter import AgedFixtures
from tests.support.pcsc import card_in_slot
from tests.support.ui import KioskFactory, tap, wait_not_busy, wait_step


def _type(qtbot: QtBot, kiosk: Kiosk, keys: str, *, enter: bool = False) -> None:
    """Type on the desk keyboard: the keys go where the focus is, as they would."""
    wait_not_busy(qtbot, kiosk)
    target = QApplication.focusWidget() or kiosk.window
    qtbot.keyClicks(target, keys)
    if enter:
        qtbot.keyClick(target, Qt.Key.Key_Return)


def _pad(kiosk: Kiosk) -> list[QPoint]:
    QApplication.processEvents()
    screen = kiosk.window.screens[Step.PIN]
    keys = [screen.findChild(QAbstractButton, f"key-{k}") for k in ("1", "5", "Valider")]
    return [k.mapTo(kiosk.window, QPoint(0, 0)) for k in keys if k is not None]


def test_a_pin_typed_on_the_keyboard_and_a_wrong_one_that_moves_nothing(
    qtbot: QtBot, make_kiosk: KioskFactory, aged: AgedFixtures
) -> None:
    kiosk = make_kiosk()
    kiosk.window.activateWindow()
    with card_in_slot(aged.cards / "cps-medecin.json", slot=1):
        wait_step(qtbot, kiosk, Step.PIN)
        assert QApplication.focusWidget() is kiosk.window.screens[Step.PIN]
        before = _pad(kiosk)
        assert len(before) == 3
        _type(qtbot, kiosk, "9999", enter=True)

        def wrong() -> None:
            view = kiosk.window.view
            assert view is not None and view.notice is not None
            assert view.notice.code is NoticeCode.PIN_WRONG

        qtbot.waitUntil(wrong, timeout=10_000)
        assert kiosk.window.notice.text()
        assert _pad(kiosk) == before  # the next attempt hits the same keys
        _type(qtbot, kiosk, "1234", enter=True)
        wait_step(qtbot, kiosk, Step.READY)


def test_typing_on_a_form_keeps_the_patient_past_the_idle_time(
    qtbot: QtBot, make_kiosk: KioskFactory, aged: AgedFixtures
) -> None:
    idle_s = 2
    # The consent form is read at the patient's pace: it gets a longer idle time.
    limit = idle_s * LONG_READING_FACTOR
    kiosk = make_kiosk(idle_s=idle_s)
    kiosk.window.activateWindow()
    with card_in_slot(aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        wait_step(qtbot, kiosk, Step.PIN)
        _type(qtbot, kiosk, "1234", enter=True)
        wait_step(qtbot, kiosk, Step.READY)
        with card_in_slot(aged.cards / "vitale-adulte-seul.json", slot=0):
            wait_step(qtbot, kiosk, Step.HOLDERS)
            for name, step in (
                ("holder-0", Step.PATIENT),
                ("create", Step.INFORMATION),
                ("accept", Step.CONSENT),
            ):
                tap(qtbot, kiosk, name)
                wait_step(qtbot, kiosk, step)
            screen = kiosk.window.stack.currentWidget()
            assert isinstance(screen, QWidget)
            field = screen.findChild(QLineEdit, "address")
            assert field is not None
            field.setFocus()
            end = time.monotonic() + limit + 3
            while time.monotonic() < end:  # a slow typist: a key every half second
                qtbot.keyClicks(field, "a")
                qtbot.wait(500)
                view = kiosk.window.view
                assert view is not None and view.step is Step.CONSENT, view and view.notice
            assert view.patient is not None
            assert field.text().startswith("a" * 2 * limit)
