"""The window on its hardware, without cards: a real runner over the fake workflow.

Busy commands, the fixed notice area, the on-screen keyboard, kinetic scrolling, a desk
keyboard, activity and the idle warning, the status line, the operator bar, long names.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QScroller,
    QWidget,
)
from pytestqt.qtbot import QtBot

from kiosk.core import CounterView, CounterWorkflow, Notice, NoticeCode, OperatorView, Step
from kiosk.messages import describe_notice
from kiosk.sync.client import SyncState
from kiosk.sync.queue import QueueStatus
from kiosk.ui.pin import CHECKING_PIN, PinScreen
from kiosk.ui.widgets import scroll_areas
from kiosk.ui.window import NOTICE_HEIGHT, KioskWindow, PrintSettings, sync_line
from kiosk.ui.worker import WorkflowRunner
from tests.support.fakes import FakeClock, make_counter

OPERATOR = OperatorView("DURAND", "marie", "Pharmacie du Port, Lorient", True, False)
REFUSED = {
    "seq": 7,
    "action_id": "0190-aaaa",
    "type": "dmp_created",
    "reason": "dmp_exists",
    "created_at": "2026-12-03T13:05:00.123456+00:00",  # 14:05 in Paris, in winter
    "subject": "J. B.",
}


@dataclass
class Rig:
    window: KioskWindow
    runner: WorkflowRunner
    workflow: CounterWorkflow
    clock: FakeClock
    activity: list[float]

    def button(self, name: str, root: QWidget | None = None) -> QAbstractButton:
        found = (root or self.window).findChild(QAbstractButton, name)
        assert found is not None, name
        return found


@pytest.fixture
def rig(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    counter = make_counter()
    activity: list[float] = []
    clock = FakeClock()
    monkeypatch.setattr(counter.workflow, "activity", lambda: activity.append(clock.now))
    runner = WorkflowRunner(counter.workflow)
    window = KioskWindow(runner, PrintSettings(portal_url="https://portail.test"), clock=clock)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    # The runner emits its workflow's first view once; after it, the views these tests
    # draw by hand stay (the fake workflow itself stays on the welcome screen).
    with qtbot.waitSignal(runner.changed, timeout=2_000):
        runner.submit(lambda _w: None)
    yield Rig(window, runner, counter.workflow, clock, activity)
    runner.stop()


def _status(*, pending: int = 0, rejected: tuple[dict[str, Any], ...] = ()) -> QueueStatus:
    return QueueStatus(pending, 4.0 if pending else None, 3, list(rejected), None)


# -- busy ------------------------------------------------------------------------------------


def test_a_busy_command_shows_its_label_and_swallows_a_double_tap(qtbot: QtBot, rig: Rig) -> None:
    rig.window.draw(CounterView(step=Step.PIN, pin_tries_left=3))
    pin = rig.window.screens[Step.PIN]
    assert isinstance(pin, PinScreen)
    release = threading.Event()
    rig.runner.submit(lambda _w: release.wait(10), busy=CHECKING_PIN)
    assert rig.runner.busy_label == CHECKING_PIN  # at once, before the worker runs it
    key = rig.button("key-5", pin)
    qtbot.mouseClick(key, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(key, Qt.MouseButton.LeftButton)
    assert pin.display.text() == "" and rig.window.guard.swallowed == 2
    assert not rig.window.busy.isVisible()  # not in the first 300 ms: no flicker
    qtbot.waitUntil(rig.window.busy.isVisible, timeout=2_000)
    assert rig.window.busy.label.text() == CHECKING_PIN
    assert rig.window.busy.geometry() == rig.window.rect()
    release.set()
    qtbot.waitUntil(lambda: rig.runner.busy_label is None, timeout=2_000)
    assert not rig.window.busy.isVisible()
    qtbot.mouseClick(key, Qt.MouseButton.LeftButton)  # no longer busy: it types
    assert pin.display.text() == "●"


def test_unlabelled_commands_never_block_and_a_failing_one_leaves_the_runner_alive(
    qtbot: QtBot, rig: Rig
) -> None:
    release = threading.Event()
    rig.runner.submit(lambda _w: release.wait(10))
    assert rig.runner.busy_label is None

    def boom(_w: CounterWorkflow) -> None:
        raise RuntimeError("bug")

    rig.runner.submit(boom, busy="Interrogation du service central…")
    release.set()
    qtbot.waitUntil(lambda: rig.runner.busy_label is None, timeout=2_000)
    qtbot.waitUntil(
        lambda: rig.window.view is not None and rig.window.view.notice is not None,
        timeout=2_000,
    )
    assert rig.window.view is not None and rig.window.view.notice is not None
    assert rig.window.view.notice.code is NoticeCode.UNEXPECTED
    done = threading.Event()
    rig.runner.submit(lambda _w: done.set())
    assert done.wait(2)


# -- the notice area -------------------------------------------------------------------------


def test_a_wrong_pin_notice_does_not_move_the_pad(qtbot: QtBot, rig: Rig) -> None:
    rig.window.draw(CounterView(step=Step.PIN, pin_tries_left=3))
    keys = [rig.button(f"key-{k}") for k in ("1", "5", "Valider")]

    def where() -> list[QPoint]:
        QApplication.processEvents()
        return [k.mapTo(rig.window, QPoint(0, 0)) for k in keys]

    before = where()
    wrong = Notice(NoticeCode.PIN_WRONG, tries_left=2)
    rig.window.draw(CounterView(step=Step.PIN, pin_tries_left=2, notice=wrong))
    assert rig.window.notice.text() == describe_notice(wrong)
    assert where() == before
    rig.window.draw(CounterView(step=Step.PIN, pin_tries_left=2))
    assert where() == before


def test_every_notice_fits_its_reserved_area(qtbot: QtBot, rig: Rig) -> None:
    for code in NoticeCode:
        for notice in (Notice(code), Notice(code, "kiosk_flagged", tries_left=1)):
            rig.window.draw(CounterView(step=Step.READY, notice=notice))
            label = rig.window.notice
            assert label.height() == NOTICE_HEIGHT
            margins = label.contentsMargins()
            width = label.width() - margins.left() - margins.right()
            needed = label.fontMetrics().boundingRect(
                0, 0, width, 10_000, Qt.TextFlag.TextWordWrap, label.text()
            )
            assert needed.height() <= NOTICE_HEIGHT, (code, label.text())


# -- the on-screen keyboard ------------------------------------------------------------------


def _consent_field(rig: Rig, name: str, kind: str) -> QLineEdit:
    rig.window.draw(CounterView(step=Step.CONSENT, operator=OPERATOR))
    field = rig.window.screens[Step.CONSENT].findChild(QLineEdit, name)
    assert field is not None
    field.setProperty("keyboard", kind)
    return field


def test_the_keyboard_types_a_french_name_into_the_focused_field(qtbot: QtBot, rig: Rig) -> None:
    field = _consent_field(rig, "doctor", "text")
    keyboard = rig.window.keyboard
    assert not keyboard.isVisible()
    field.setFocus()
    qtbot.waitUntil(keyboard.isVisible, timeout=2_000)
    assert not rig.window.sync.isVisible()  # its room goes to the screen while typing
    for name in ("kb-shift", "kb-l", "kb-é", "kb-a", "kb-space", "kb-shift", "kb-d", "kb-'",
                 "kb-h", "kb-œ", "kb-backspace", "kb-ô", "kb--", "kb-ç"):  # fmt: skip
        key = rig.button(name, keyboard)
        assert key.width() >= 60 and key.height() >= 60, name
        qtbot.mouseClick(key, Qt.MouseButton.LeftButton)
    assert field.text() == "Léa D'hô-ç"
    assert field.hasFocus()  # keys never take the focus
    entered: list[bool] = []
    field.returnPressed.connect(lambda: entered.append(True))
    qtbot.mouseClick(rig.button("kb-enter", keyboard), Qt.MouseButton.LeftButton)
    assert entered == [True]
    qtbot.mouseClick(rig.button("kb-hide", keyboard), Qt.MouseButton.LeftButton)
    assert not keyboard.isVisible() and not field.hasFocus()
    assert rig.window.sync.isVisible()


def test_the_email_and_phone_layouts_and_no_keyboard_for_other_fields(
    qtbot: QtBot, rig: Rig
) -> None:
    address = _consent_field(rig, "address", "email")
    keyboard = rig.window.keyboard
    address.setFocus()
    qtbot.waitUntil(keyboard.isVisible, timeout=2_000)
    for char in "a@b.c-d_1":
        qtbot.mouseClick(rig.button(f"kb-{char}", keyboard), Qt.MouseButton.LeftButton)
    assert address.text() == "a@b.c-d_1"
    doctor = rig.window.screens[Step.CONSENT].findChild(QLineEdit, "doctor")
    assert doctor is not None
    doctor.setProperty("keyboard", "phone")
    doctor.setFocus()
    qtbot.waitUntil(lambda: keyboard.kind == "phone", timeout=2_000)
    assert (
        keyboard.findChild(QAbstractButton, "kb-a") is None
        or not rig.button("kb-a", keyboard).isVisible()
    )
    for char in "+33612":
        qtbot.mouseClick(rig.button(f"kb-{char}", keyboard), Qt.MouseButton.LeftButton)
    assert doctor.text() == "+33612"
    doctor.setProperty("keyboard", None)
    address.setFocus()
    doctor.setFocus()  # a field that asks for no keyboard
    qtbot.waitUntil(lambda: not keyboard.isVisible(), timeout=2_000)


# -- scrolling -------------------------------------------------------------------------------


def test_scroll_areas_are_kinetic_with_wide_bars_and_start_at_the_top(
    qtbot: QtBot, rig: Rig
) -> None:
    rig.window.draw(CounterView(step=Step.CONSENT, operator=OPERATOR))
    areas = scroll_areas(rig.window.screens[Step.CONSENT])
    assert areas
    for area in areas:
        assert QScroller.hasScroller(area.viewport())
        assert area.verticalScrollBar().sizeHint().width() >= 40
    area = areas[0]
    rig.window.resize(1024, 500)  # a form taller than the screen
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0, timeout=2_000)
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    rig.window.draw(CounterView(step=Step.READY, operator=OPERATOR))  # the next patient...
    rig.window.draw(CounterView(step=Step.CONSENT, operator=OPERATOR))
    assert area.verticalScrollBar().value() == 0


# -- a desk keyboard -------------------------------------------------------------------------


def test_the_pin_typed_on_a_keyboard(qtbot: QtBot, rig: Rig) -> None:
    rig.window.draw(CounterView(step=Step.PIN, pin_tries_left=3))
    pin = rig.window.screens[Step.PIN]
    assert isinstance(pin, PinScreen)
    sent: list[tuple[str | None, str]] = []

    class Spy:
        def submit_pin(self, value: str) -> None:
            sent.append((None, value))

    pin.submit_busy = lambda command, busy=None: sent.append((busy, str(command(Spy()))))  # type: ignore[arg-type,method-assign,func-returns-value]
    assert QApplication.focusWidget() is pin
    qtbot.keyClicks(pin, "12²9")
    qtbot.keyClick(pin, Qt.Key.Key_Backspace)
    qtbot.keyClick(pin, Qt.Key.Key_Escape)  # "Effacer"
    assert pin.display.text() == ""
    qtbot.keyClicks(pin, "4321")
    assert pin.display.text() == "●●●●"
    qtbot.keyClick(pin, Qt.Key.Key_Return)
    assert sent == [(None, "4321"), (CHECKING_PIN, "None")]


def test_enter_presses_the_focused_button_and_escape_goes_back(qtbot: QtBot, rig: Rig) -> None:
    rig.window.draw(CounterView(step=Step.INFORMATION, operator=OPERATOR))
    screen = rig.window.screens[Step.INFORMATION]
    pressed: list[str] = []
    for name in ("accept", "back"):
        button = rig.button(name, screen)
        button.clicked.disconnect()
        button.clicked.connect(lambda _=False, n=name: pressed.append(n))
    accept = rig.button("accept", screen)
    accept.setFocus()
    qtbot.keyClick(accept, Qt.Key.Key_Return)
    qtbot.keyClick(accept, Qt.Key.Key_Escape)
    assert pressed == ["accept", "back"]
    rig.window.show_admin()
    qtbot.keyClick(rig.window.admin, Qt.Key.Key_Escape)  # the admin list's "Retour"
    assert rig.window.stack.currentWidget() is screen


# -- activity and the idle warning -----------------------------------------------------------


def test_input_is_activity_at_most_every_two_seconds(qtbot: QtBot, rig: Rig) -> None:
    field = _consent_field(rig, "address", "")
    field.setFocus()
    for _ in range(5):
        qtbot.keyClick(field, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: len(rig.activity) == 1, timeout=2_000)
    rig.clock.advance(2.1)
    qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(rig.activity) == 2, timeout=2_000)
    assert field.text() == "aaaaa"  # counted, never swallowed when nothing is busy


def test_the_idle_warning_counts_down_and_yes_keeps_the_patient(qtbot: QtBot, rig: Rig) -> None:
    rig.window.draw(CounterView(step=Step.PATIENT, operator=OPERATOR, idle_warning_s=12))
    idle = rig.window.idle
    assert idle.isVisible() and idle.geometry() == rig.window.rect()
    assert "Êtes-vous toujours là ?" in [w.text() for w in idle.findChildren(QLabel)]
    assert "12 s" in idle.countdown.text()
    rig.window.draw(CounterView(step=Step.PATIENT, operator=OPERATOR, idle_warning_s=11))
    assert "11 s" in idle.countdown.text()
    qtbot.mouseClick(rig.button("still-here"), Qt.MouseButton.LeftButton)
    assert not idle.isVisible()
    qtbot.waitUntil(lambda: len(rig.activity) >= 1, timeout=2_000)
    rig.window.draw(CounterView(step=Step.PATIENT, operator=OPERATOR))
    assert not idle.isVisible()


# -- the status line and the refused actions -------------------------------------------------


def test_the_status_line_tells_the_truth() -> None:
    online = SyncState(online=True)
    assert sync_line(_status(), online, now=0, operator=True) == (
        "sync-ok",
        "Tout est transmis au service central",
    )
    name, line = sync_line(_status(rejected=(REFUSED,)), online, now=0, operator=True)
    assert (name, line) == ("sync-refused", "1 action refusée — voir la liste")
    name, line = sync_line(_status(pending=2), online, now=0, operator=True)
    assert name == "sync-pending" and line.startswith("2 actions en attente")
    slow = SyncState(online=True, request_started=100.0)
    assert sync_line(_status(pending=1), slow, now=102.0, operator=True)[0] == "sync-pending"
    name, line = sync_line(_status(pending=1), slow, now=103.5, operator=True)
    assert name == "sync-slow" and line.startswith("Service central lent…")
    offline = SyncState(online=False)
    name, line = sync_line(_status(pending=1, rejected=(REFUSED,)), offline, now=0, operator=False)
    assert name == "sync-offline" and "Hors ligne — 1 action en attente" in line
    assert line.startswith("1 action refusée — connectez-vous")


def test_the_sync_loop_says_when_its_request_left() -> None:
    from types import SimpleNamespace

    from kiosk.sync.client import SyncClient

    sending, release = threading.Event(), threading.Event()
    rows = [SimpleNamespace(envelope=b"e", signature=b"s")]

    class Store:
        def pending(self, limit: int) -> list[Any]:
            return rows

        def record_outcomes(self, outcomes: list[Any]) -> None:
            rows.clear()

    class Transport:
        def send_batch(self, kiosk_id: str, batch: list[Any]) -> list[dict[str, Any]]:
            sending.set()
            release.wait(5)
            return [{"seq": 1, "outcome": "accepted"}]

    client = SyncClient(Store(), Transport(), "kiosk")  # type: ignore[arg-type]
    worker = threading.Thread(target=client.sync_once)
    worker.start()
    assert sending.wait(5)
    assert client.state.request_started is not None  # a hang shows as "lent", not green
    release.set()
    worker.join(5)
    assert client.state.request_started is None


def test_a_refused_action_turns_the_line_red_and_is_listed_in_french(
    qtbot: QtBot, rig: Rig
) -> None:
    rig.window.draw(CounterView(step=Step.READY, operator=OPERATOR))
    rig.window.show_status(_status(rejected=(REFUSED,)), SyncState(online=True))
    assert rig.window.sync.objectName() == "sync-refused"
    assert rig.window.sync.text() == "1 action refusée — voir la liste"
    assert rig.window.sync.palette().window().color().red() > 150  # drawn red
    qtbot.mouseClick(rig.window.sync, Qt.MouseButton.LeftButton)
    assert rig.window.stack.currentWidget() is rig.window.admin
    assert rig.window.admin.isVisible()
    assert rig.window.admin.rows() == [
        "Création du DMP\n"
        "Le 03/12/2026 à 14:05, pour le patient J. B.\n"
        "Motif : ce patient a déjà un DMP"
    ]
    # A new view of the same step (a tick, a notice) leaves the list on screen.
    rig.window.draw(CounterView(step=Step.READY, operator=OPERATOR, online=False))
    assert rig.window.stack.currentWidget() is rig.window.admin
    qtbot.mouseClick(rig.button("back", rig.window.admin), Qt.MouseButton.LeftButton)
    assert rig.window.stack.currentWidget() is rig.window.screens[Step.READY]


# -- the operator bar, privacy, long names ---------------------------------------------------


def test_logout_and_the_privacy_screen(qtbot: QtBot, rig: Rig) -> None:
    rig.window.draw(CounterView(step=Step.WELCOME))
    assert not rig.button("logout").isVisible() and not rig.button("mask").isVisible()
    rig.window.draw(CounterView(step=Step.PATIENT, operator=OPERATOR))
    logged_out = threading.Event()
    rig.workflow.sign_out = logged_out.set  # type: ignore[method-assign]
    qtbot.mouseClick(rig.button("logout"), Qt.MouseButton.LeftButton)
    assert logged_out.wait(2)
    qtbot.waitUntil(lambda: rig.runner.busy_label is None, timeout=2_000)
    before = len(rig.activity)
    rig.clock.advance(5)
    qtbot.mouseClick(rig.button("mask"), Qt.MouseButton.LeftButton)
    privacy = rig.window.privacy
    assert privacy.isVisible() and privacy.geometry() == rig.window.rect()
    grabbed = rig.window.grab().toImage()
    assert grabbed.pixelColor(500, 700) == grabbed.pixelColor(10, 10)  # nothing but the mask
    qtbot.waitUntil(lambda: len(rig.activity) > before, timeout=2_000)  # masking is activity
    masked = len(rig.activity)
    rig.clock.advance(5)
    qtbot.mouseClick(privacy, Qt.MouseButton.LeftButton)
    assert not privacy.isVisible()
    qtbot.waitUntil(lambda: len(rig.activity) > masked, timeout=2_000)


def test_a_long_name_wraps_and_never_widens_the_window(qtbot: QtBot, rig: Rig) -> None:
    long = OperatorView(
        "DE LA " + " ".join(["TOUR-MONTAGNE"] * 9),
        "marie-" + "-".join(["anne"] * 10),
        "Pharmacie " + "de la Grande Rue " * 4,
        True,
        False,
    )
    assert len(long.nom) >= 120
    for step in (Step.READY, Step.PATIENT, Step.PIN):
        rig.window.draw(CounterView(step=step, operator=long))
        QApplication.processEvents()
        assert rig.window.width() == 1024
        assert rig.window.minimumSizeHint().width() <= 1024
        assert "TOUR-MONTAGNE, Pharmacie" in rig.window.operator.text()
