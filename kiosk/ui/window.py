"""The kiosk window: the operator bar, a notice line, the step's screen, the sync status."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.core import CounterView, Step
from kiosk.messages import describe_notice, describe_refusal
from kiosk.sync.client import SyncState
from kiosk.sync.queue import QueueStatus, QueueStore
from kiosk.ui.pin import PinScreen
from kiosk.ui.screens import (
    SCREENS,
    CreatedScreen,
    ReadyScreen,
    Screen,
    big_button,
    operator_label,
    text,
    title,
)
from kiosk.ui.sheet import print_sheet
from kiosk.ui.worker import WorkflowRunner

__all__ = ["STYLE", "KioskWindow", "PrintSettings", "StatusPoller", "start_ticking"]

log = logging.getLogger(__name__)

STYLE = """
QWidget { font-size: 20px; }
QLabel#title { font-size: 34px; font-weight: bold; color: #10316b; }
QLabel#lead { font-size: 24px; }
QLabel#section { font-weight: bold; margin-top: 8px; }
QLabel#hint { font-size: 17px; color: #444; margin-left: 52px; }
QLabel#warning { color: #8a1c00; font-weight: bold; }
QLabel#pin { font-size: 44px; letter-spacing: 12px; min-height: 60px; }
QLabel#notice { background: #fff4c2; color: #3d2e00; padding: 12px; font-size: 22px; }
QLabel#operator { color: #10316b; font-weight: bold; }
QLabel#sync-ok { background: #1f7a3a; color: white; padding: 8px; }
QLabel#sync-pending { background: #b35c00; color: white; padding: 8px; }
QLabel#sync-offline { background: #a31515; color: white; padding: 8px; }
QPushButton { font-size: 24px; padding: 12px 20px; border-radius: 10px;
              background: #e7eefb; border: 2px solid #10316b; }
QPushButton:pressed { background: #c4d4f5; }
QPushButton#create, QPushButton#accept, QPushButton#confirm { background: #10316b; color: white; }
QCheckBox, QRadioButton { font-size: 22px; spacing: 14px; padding: 6px; }
QCheckBox::indicator, QRadioButton::indicator { width: 34px; height: 34px; }
QLineEdit, QComboBox { font-size: 22px; padding: 10px; min-height: 40px; }
"""


@dataclass(frozen=True, slots=True)
class PrintSettings:
    """Where access sheets go: a printer (None: the default one), or PDF files (demo)."""

    portal_url: str
    printer: str | None = None
    pdf_dir: Path | None = None


class StatusPoller(QObject):
    """Reads the queue's status every second on its own thread (the UI never touches disk)."""

    status = Signal(object, object)  # QueueStatus, SyncState

    def __init__(
        self, store: QueueStore, sync_state: Callable[[], SyncState], period_s: float = 1.0
    ) -> None:
        super().__init__()
        self.store, self.sync_state, self.period_s = store, sync_state, period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-status", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.status.emit(self.store.status(), self.sync_state())
            except Exception:  # the disk: say nothing new this second, try again
                log.exception("queue status unreadable")
            self._stop.wait(self.period_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class AdminScreen(QWidget):
    """Actions the central service refused, with their reasons."""

    def __init__(self, on_back: Callable[[], None]) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 32, 48, 32)
        layout.addWidget(title("Actions refusées par le service central"))
        self.list = QListWidget()
        self.list.setObjectName("rejected")
        layout.addWidget(self.list, stretch=1)
        back = big_button("Retour", "back")
        back.clicked.connect(on_back)
        layout.addWidget(back)

    def show_status(self, status: QueueStatus) -> None:
        self.list.clear()
        for item in status.rejected:
            reason = describe_refusal(str(item["reason"] or ""))
            self.list.addItem(f"n° {item['seq']} — {item['type']} : {reason}")
        if not status.rejected:
            self.list.addItem("Aucune action refusée.")


class KioskWindow(QMainWindow):
    """One window, one screen per step; drawn only from views delivered by the runner."""

    def __init__(self, runner: WorkflowRunner, printing: PrintSettings) -> None:
        super().__init__()
        self.setWindowTitle("Borne DMP")
        self.setStyleSheet(STYLE)
        self.runner = runner
        self.printing = printing
        self.view: CounterView | None = None
        self.printed: list[Path] = []
        self._printed_for: str | None = None
        self.last_status: QueueStatus | None = None
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.setContentsMargins(24, 12, 24, 0)
        self.operator = QLabel("")
        self.operator.setObjectName("operator")
        top.addWidget(self.operator, stretch=1)
        self.sync = QLabel("")
        self.sync.setObjectName("sync-pending")
        top.addWidget(self.sync)
        layout.addLayout(top)
        self.notice = text("", "notice")
        self.notice.setVisible(False)
        layout.addWidget(self.notice)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, stretch=1)
        self.setCentralWidget(central)

        submit = runner.submit
        self.screens: dict[Step, Screen] = {}
        for screen_type in SCREENS:
            self._add(screen_type(submit))
        self._add(PinScreen(submit))
        self._add(ReadyScreen(submit, self.show_admin))
        self._add(CreatedScreen(submit, self.print_sheet))
        self.admin = AdminScreen(lambda: self.draw(self.view) if self.view else None)
        self.stack.addWidget(self.admin)
        runner.changed.connect(self.draw)
        self.draw(runner.workflow.view())

    def _add(self, screen: Screen) -> None:
        self.screens[screen.step] = screen
        self.stack.addWidget(screen)

    @property
    def current_screen(self) -> Screen:
        return self.screens[self.view.step if self.view else Step.WELCOME]

    def draw(self, view: CounterView) -> None:
        """Draw a view from the workflow (on the UI thread, by signal)."""
        entering = self.view is None or self.view.step is not view.step
        self.view = view
        screen = self.screens[view.step]
        for other in self.screens.values():
            if other is not screen:
                other.clear()  # nothing of the patient stays behind in a hidden screen
        if entering or not screen.keeps_input:
            screen.draw(view)  # a form being filled in is not reset by a notice
        self.stack.setCurrentWidget(screen)
        self.operator.setText(operator_label(view.operator) if view.operator else "")
        self.notice.setText(describe_notice(view.notice) if view.notice else "")
        self.notice.setVisible(bool(view.notice))
        if view.step is Step.CREATED and view.sheet and self._printed_for != view.sheet.identifier:
            self._printed_for = view.sheet.identifier
            self.print_sheet()
        if view.sheet is None:
            self._printed_for = None

    def print_sheet(self) -> None:
        sheet = self.view.sheet if self.view else None
        if sheet is None:
            return
        path = print_sheet(
            sheet,
            portal_url=self.printing.portal_url,
            printer=self.printing.printer,
            pdf_dir=self.printing.pdf_dir,
        )
        if path is not None:
            self.printed.append(path)

    def show_admin(self) -> None:
        if self.last_status is not None:
            self.admin.show_status(self.last_status)
        self.stack.setCurrentWidget(self.admin)

    def show_status(self, status: QueueStatus, sync: SyncState) -> None:
        """The sync line: green only when the service acknowledged everything; red with the
        reason when it refuses this kiosk's queue."""
        self.last_status = status
        if sync.refusal is not None:
            name = "sync-offline"
            line = f"Refusé : {describe_refusal(sync.refusal)} — {status.pending} en attente"
        elif sync.online is False:
            name, line = "sync-offline", f"Hors ligne — {status.pending} action(s) en attente"
        elif status.pending:
            age = int(status.oldest_pending_age_s or 0)
            name = "sync-pending"
            line = f"{status.pending} action(s) en attente, la plus ancienne depuis {age} s"
        else:
            name, line = "sync-ok", "Tout est transmis au service central"
        if status.rejected:
            line += f" — {len(status.rejected)} refusée(s)"
        self.sync.setText(line)
        if self.sync.objectName() != name:
            self.sync.setObjectName(name)
            self.sync.setStyleSheet("")  # re-applies the window's style for the new name


def start_ticking(runner: WorkflowRunner, parent: QObject) -> QTimer:
    """The idle clock: a tick command every second."""
    timer = QTimer(parent)
    timer.setInterval(1000)
    timer.timeout.connect(lambda: runner.submit(lambda s: s.tick()))
    timer.start()
    return timer
