"""The kiosk window: the operator bar, a notice area, the step's screen, the sync line, the
on-screen keyboard, and overlays (busy, "are you still there?", privacy)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.core import CounterView, CounterWorkflow, Step
from kiosk.messages import describe_action, describe_notice, describe_refusal
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
from kiosk.ui.sheet import PrintResult, SheetLayout, print_access_sheet
from kiosk.ui.widgets import (
    BusyOverlay,
    IdleWarning,
    InputGuard,
    OnScreenKeyboard,
    PrivacyScreen,
    StatusLine,
    make_kinetic,
    owned_by,
    scroll_areas,
    scroll_to_top,
)
from kiosk.ui.worker import WorkflowRunner

__all__ = [
    "STYLE",
    "AdminScreen",
    "KioskWindow",
    "PrintSettings",
    "StatusPoller",
    "paris_time",
    "start_ticking",
    "sync_line",
]

log = logging.getLogger(__name__)

# The focus ring: 4 px of dark orange, contrasting with the blue borders and white fields.
_FOCUS = "#c2410c"
STYLE = f"""
QWidget {{ font-size: 20px; }}
QLabel#title {{ font-size: 34px; font-weight: bold; color: #10316b; }}
QLabel#lead {{ font-size: 24px; }}
QLabel#section {{ font-weight: bold; margin-top: 8px; }}
QLabel#hint {{ font-size: 17px; color: #444; margin-left: 52px; }}
QLabel#warning {{ color: #8a1c00; font-weight: bold; }}
QLabel#pin {{ font-size: 44px; letter-spacing: 12px; min-height: 60px; }}
QLabel#notice {{ background: #fff4c2; color: #3d2e00; padding: 6px 18px; font-size: 20px; }}
QLabel#notice-long {{ background: #fff4c2; color: #3d2e00; padding: 4px 18px; font-size: 16px; }}
QLabel#notice-empty {{ background: transparent; }}
QLabel#operator {{ color: #10316b; font-weight: bold; }}
QLabel#sync-ok {{ background: #1f7a3a; color: white; padding: 8px 24px; }}
QLabel#sync-pending, QLabel#sync-slow {{ background: #b35c00; color: white; padding: 8px 24px; }}
QLabel#sync-offline, QLabel#sync-refused {{ background: #a31515; color: white;
                                            padding: 8px 24px; }}
QPushButton {{ font-size: 24px; padding: 12px 20px; border-radius: 10px;
              background: #e7eefb; border: 2px solid #10316b; }}
QPushButton:pressed {{ background: #c4d4f5; }}
QPushButton[compact="true"] {{ font-size: 20px; padding: 6px 8px; }}
QPushButton#create, QPushButton#accept, QPushButton#confirm, QPushButton#still-here
    {{ background: #10316b; color: white; }}
QPushButton#logout, QPushButton#mask {{ font-size: 20px; padding: 8px 16px; }}
QPushButton:focus {{ border: 4px solid {_FOCUS}; padding: 10px 18px; }}
QPushButton#logout:focus, QPushButton#mask:focus {{ padding: 6px 14px; }}
QCheckBox, QRadioButton {{ font-size: 22px; spacing: 14px; padding: 2px;
                          border: 4px solid transparent; border-radius: 6px; }}
QCheckBox:focus, QRadioButton:focus {{ border-color: {_FOCUS}; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: 34px; height: 34px; }}
QLineEdit, QComboBox {{ font-size: 22px; padding: 8px; min-height: 40px;
                       border: 2px solid #6b7280; border-radius: 6px; background: white; }}
QLineEdit:focus, QComboBox:focus {{ border: 4px solid {_FOCUS}; padding: 6px; }}
QScrollBar:vertical {{ width: 44px; }}
QScrollBar:horizontal {{ height: 44px; }}
QScrollBar::handle:vertical {{ min-height: 80px; }}
QScrollBar::handle:horizontal {{ min-width: 80px; }}
QFrame#keyboard {{ background: #d9dfea; border-top: 2px solid #10316b; }}
QFrame#keyboard QPushButton {{ font-size: 26px; padding: 4px; border-radius: 8px;
                              background: white; border: 1px solid #6b7280; }}
QFrame#keyboard QPushButton:pressed {{ background: #c4d4f5; }}
QFrame#busy {{ background: rgba(255, 255, 255, 170); }}
QFrame#idle {{ background: rgba(16, 49, 107, 150); }}
QFrame#busy-panel, QFrame#idle-panel {{ background: white; border: 3px solid #10316b;
                                        border-radius: 16px; }}
QLabel#busy-label {{ font-size: 28px; color: #10316b; }}
QLabel#idle-title {{ font-size: 36px; font-weight: bold; color: #10316b; }}
QLabel#idle-countdown {{ font-size: 24px; }}
QFrame#privacy {{ background: #2b3445; }}
QLabel#privacy-label {{ color: white; font-size: 32px; }}
QFrame#refused-row {{ background: white; border: 1px solid #aab4c5; border-radius: 10px; }}
QLabel#refused-what {{ font-weight: bold; font-size: 22px; }}
QLabel#hint-plain {{ font-size: 17px; color: #444; }}
QFrame#doc-row {{ background: white; border: 1px solid #aab4c5; border-radius: 10px; }}
QLabel#doc-title {{ font-weight: bold; }}
QLabel#doc-meta {{ font-size: 17px; color: #374151; }}
QLabel#viewer-title {{ font-size: 26px; font-weight: bold; color: #10316b; }}
QPushButton:checked {{ background: #10316b; color: white; }}
QTableWidget#care-history {{ font-size: 18px; alternate-background-color: #eef2f8;
                            background: white; gridline-color: #d1d5db; }}
QHeaderView::section {{ font-size: 17px; font-weight: bold; padding: 6px;
                       background: #e7eefb; border: 0; border-bottom: 2px solid #10316b; }}
QScrollArea#document-pages {{ background: #6b7280; }}
QWidget#document-pages-body {{ background: #6b7280; }}
"""


@dataclass(frozen=True, slots=True)
class PrintSettings:
    """Where access sheets go: a printer (None: the default one), or PDF files (demo)."""

    portal_url: str
    printer: str | None = None
    pdf_dir: Path | None = None
    layout: SheetLayout = "a4"


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


PARIS = ZoneInfo("Europe/Paris")  # the counter's time, summer and winter
SLOW_S = 3.0  # a sync request in flight longer than this: "Service central lent…"
BUSY_SHOWN_AFTER_MS = 300  # a quicker command shows nothing: no flicker
ACTIVITY_EVERY_S = 2.0  # input tells the workflow at most this often
NOTICE_HEIGHT = 72  # px reserved for the notice, shown or not: nothing below it moves
LOGGING_OUT = "Déconnexion…"


def paris_time(iso: str | None) -> str:
    """An ISO time (UTC) as the counter reads it: "03/12/2026 à 14:05"."""
    try:
        moment = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return "date inconnue"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def sync_line(
    status: QueueStatus, sync: SyncState, *, now: float, operator: bool
) -> tuple[str, str]:
    """The status line's style name and words: green only when online with nothing pending
    and nothing refused; red when offline, refused, or an action was refused; amber while
    actions wait or the service is slow."""
    waiting = _count(status.pending, "action en attente", "actions en attente")
    if sync.refusal is not None:
        name, line = "sync-offline", f"Refusé : {describe_refusal(sync.refusal)} — {waiting}"
    elif sync.online is False:
        name, line = "sync-offline", f"Hors ligne — {waiting}"
    elif sync.request_started is not None and now - sync.request_started > SLOW_S:
        name, line = "sync-slow", f"Service central lent… — {waiting}"
    elif status.pending:
        age = int(status.oldest_pending_age_s or 0)
        name, line = "sync-pending", f"{waiting}, la plus ancienne depuis {age} s"
    else:
        name, line = "sync-ok", "Tout est transmis au service central"
    if status.rejected:
        refused = _count(len(status.rejected), "action refusée", "actions refusées")
        head = f"{refused} — " + ("voir la liste" if operator else "connectez-vous pour la voir")
        line = head if name == "sync-ok" else f"{head} · {line}"
        if name != "sync-offline":
            name = "sync-refused"
    return name, line


def refused_row(item: dict[str, Any]) -> tuple[str, str, str]:
    """A refused action, in French: what, when and for whom, why (and what to do)."""
    what = describe_action(str(item.get("type") or ""))
    when = f"Le {paris_time(item.get('created_at'))}"
    subject = item.get("subject")
    if subject:
        when += f", pour le patient {subject}"
    why = describe_refusal(str(item.get("reason") or ""))
    return what, when, f"Motif : {why}"


def _restyle(widget: QWidget, name: str) -> None:
    if widget.objectName() != name:
        widget.setObjectName(name)
        widget.setStyleSheet("")  # re-applies the window's style for the new name


class AdminScreen(QWidget):
    """Actions the central service refused: what, when, for whom, why; big rows."""

    def __init__(self, on_back: Callable[[], None]) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 24, 48, 24)
        layout.setSpacing(16)
        layout.addWidget(title("Actions refusées par le service central"))
        self.area = QScrollArea()
        self.area.setObjectName("rejected")
        self.area.setWidgetResizable(True)
        self.area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._body = QWidget()
        self._rows = QVBoxLayout(self._body)
        self._rows.setSpacing(12)
        self.area.setWidget(self._body)
        layout.addWidget(self.area, stretch=1)
        back = big_button("Retour", "back")
        back.clicked.connect(on_back)
        layout.addWidget(back)
        self._shown: list[dict[str, Any]] | None = None

    def show_status(self, status: QueueStatus) -> None:
        """List the refused actions (rebuilt only when they change: the scroll stays)."""
        if status.rejected == self._shown:
            return
        self._shown = list(status.rejected)
        while self._rows.count():
            item = self._rows.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.deleteLater()
        for entry in status.rejected:
            row = QFrame()
            row.setObjectName("refused-row")
            lines = QVBoxLayout(row)
            lines.setContentsMargins(20, 14, 20, 14)
            for line, name in zip(refused_row(entry), ("refused-what", "", ""), strict=True):
                lines.addWidget(text(line, name))
            self._rows.addWidget(row)
        if not status.rejected:
            self._rows.addWidget(text("Aucune action refusée.", "lead"))
        self._rows.addStretch()

    def rows(self) -> list[str]:
        """Each row's text, a line each (tests, screenshots)."""
        rows = []
        for frame in self._body.findChildren(QFrame, "refused-row"):
            rows.append("\n".join(label.text() for label in frame.findChildren(QLabel)))
        return rows


class _Pages(QStackedWidget):
    """The screens' stack: whatever a screen holds, it gets the room left and never asks
    for more (a long name or a tall form does not grow the window nor squeeze the bars)."""

    def __init__(self) -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def hasHeightForWidth(self) -> bool:
        return False  # wrapped labels inside would otherwise set the window's height


class KioskWindow(QMainWindow):
    """One window, one screen per step; drawn only from views delivered by the runner."""

    def __init__(
        self,
        runner: WorkflowRunner,
        printing: PrintSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Borne DMP")
        self.setStyleSheet(STYLE)
        self.runner = runner
        self.printing = printing
        self.clock = clock
        self.view: CounterView | None = None
        self.printed: list[Path] = []
        self._printed_for: str | None = None
        self.last_status: QueueStatus | None = None
        self._last_sync: SyncState | None = None
        self._admin_open = False
        self._last_activity: float | None = None
        self._idle_dismissed: float | None = None
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        top = QHBoxLayout()
        top.setContentsMargins(24, 8, 24, 8)
        self.operator = QLabel("")
        self.operator.setObjectName("operator")
        self.operator.setWordWrap(True)
        # A 120-character name wraps; it never widens the window.
        self.operator.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top.addWidget(self.operator, stretch=1)
        self.logout_button = QPushButton("Se déconnecter")
        self.logout_button.setObjectName("logout")
        self.logout_button.setMinimumHeight(56)
        self.logout_button.clicked.connect(self.logout)
        self.mask_button = QPushButton("Masquer l'écran")
        self.mask_button.setObjectName("mask")
        self.mask_button.setMinimumHeight(56)
        self.mask_button.clicked.connect(self.hide_screen)
        top.addWidget(self.mask_button)
        top.addWidget(self.logout_button)
        layout.addLayout(top)
        self.notice = text("", "notice-empty")
        self.notice.setFixedHeight(NOTICE_HEIGHT)  # the same, notice or not: no layout shift
        self.notice.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        self.notice.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.notice)
        self.stack = _Pages()
        layout.addWidget(self.stack, stretch=1)
        self.sync = StatusLine()
        self.sync.setObjectName("sync-pending")
        self.sync.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.sync.clicked.connect(self._status_tapped)
        layout.addWidget(self.sync)
        self.keyboard = OnScreenKeyboard(self)
        # While typing, the keyboard takes the sync line's room: the field stays in sight.
        self.keyboard.shown.connect(lambda shown: self.sync.setVisible(not shown))
        layout.addWidget(self.keyboard)
        self.setCentralWidget(central)
        # Over everything, in this order from the bottom: privacy, idle warning, busy.
        self.privacy = PrivacyScreen(self)
        self.privacy.touched.connect(self._activity_now)
        self.idle = IdleWarning(self, self.still_here)
        self.busy = BusyOverlay(self)
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(BUSY_SHOWN_AFTER_MS)
        self._busy_timer.timeout.connect(self._show_busy)
        runner.busy_changed.connect(self._busy_changed)
        self.guard = InputGuard(
            self, busy=lambda: runner.busy_label is not None, on_input=self.report_activity
        )

        submit = runner.submit
        self.screens: dict[Step, Screen] = {}
        for screen_type in SCREENS:
            self._add(screen_type(submit))
        self._add(PinScreen(submit))
        self._add(ReadyScreen(submit, self.show_admin))
        self._add(CreatedScreen(submit, self.print_sheet))
        self.admin = AdminScreen(self.close_admin)
        self.stack.addWidget(self.admin)
        for page in (*self.screens.values(), self.admin):
            for area in scroll_areas(page):
                make_kinetic(area, self.report_activity)
        _tab_focus_only(self)
        runner.changed.connect(self.draw)
        self.draw(runner.workflow.view())

    def _add(self, screen: Screen) -> None:
        self.screens[screen.step] = screen
        self.stack.addWidget(screen)

    @property
    def current_screen(self) -> Screen:
        return self.screens[self.view.step if self.view else Step.WELCOME]

    # -- the application's input -------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.guard)  # once: Qt does not add a filter twice
        super().showEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.guard)
        super().closeEvent(event)

    def report_activity(self) -> None:
        """Someone touched, typed or scrolled: the idle clock restarts (at most every 2 s)."""
        now = self.clock()
        if self._last_activity is not None and now - self._last_activity < ACTIVITY_EVERY_S:
            return
        self._activity_now()

    def _activity_now(self) -> None:
        self._last_activity = self.clock()
        self.runner.submit(_activity)

    def still_here(self) -> None:
        """The "Oui, je continue" button: the idle clock restarts, the warning goes."""
        self._idle_dismissed = self.clock()
        self.idle.hide()
        self._activity_now()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """A desk keyboard: Enter presses the focused button, Escape goes back."""
        key = event.key()
        if self.privacy.isVisible():
            self.privacy.hide()  # a key unmasks, like a touch; it does nothing else
            self._activity_now()
        elif self.idle.isVisible() and key in _ENTER + (Qt.Key.Key_Escape,):
            self.still_here()
        elif key in _ENTER and isinstance(focused := QApplication.focusWidget(), QAbstractButton):
            if owned_by(self, focused) and focused.isVisible() and focused.isEnabled():
                focused.click()
        elif key == Qt.Key.Key_Escape and self.keyboard.isVisible():
            self.keyboard.close_keyboard()
        elif key == Qt.Key.Key_Escape:
            page = self.stack.currentWidget()
            back = page.findChild(QAbstractButton, "back") if page is not None else None
            if back is not None and back.isVisible() and back.isEnabled():
                back.click()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # -- drawing -----------------------------------------------------------------------------

    def draw(self, view: CounterView) -> None:
        """Draw a view from the workflow (on the UI thread, by signal)."""
        entering = self.view is None or self.view.step is not view.step
        self.view = view
        screen = self.screens[view.step]
        for other in self.screens.values():
            if other is not screen:
                other.clear()  # nothing of the patient stays behind in a hidden screen
        if entering:
            self._admin_open = False
            self.keyboard.close_keyboard()
        if entering or not screen.keeps_input:
            screen.draw(view)  # a form being filled in is not reset by a notice
        else:
            screen.refresh(view)  # but its fields' errors are said beside them
        self.stack.setCurrentWidget(self.admin if self._admin_open else screen)
        if entering:
            for area in scroll_areas(screen):  # each screen starts at its top
                make_kinetic(area, self.report_activity)
                scroll_to_top(area)
            _tab_focus_only(screen)
            focused = QApplication.focusWidget()
            if isinstance(focused, QAbstractButton) and owned_by(self, focused):
                focused.clearFocus()  # a ring left on the last screen's button misleads
            if view.step is Step.PIN:
                screen.setFocus()  # digits typed on a keyboard go to the pad
        self.operator.setText(operator_label(view.operator) if view.operator else "")
        self.logout_button.setVisible(view.operator is not None)
        self.mask_button.setVisible(view.operator is not None)
        # A notice about a field is said beside that field, on the form.
        in_bar = view.notice is not None and not (screen.keeps_input and view.notice.field)
        self._draw_notice(describe_notice(view.notice) if view.notice and in_bar else "")
        self._draw_idle(view.idle_warning_s)
        if view.step is Step.CREATED and view.sheet and self._printed_for != view.sheet.identifier:
            self._printed_for = view.sheet.identifier
            self.print_sheet()
        if view.sheet is None:
            self._printed_for = None
        if self.last_status is not None and self._last_sync is not None:
            self.show_status(self.last_status, self._last_sync)  # "voir la liste" or not

    def _draw_notice(self, line: str) -> None:
        self.notice.setText(line)
        name = "notice-empty"
        if line:
            name = "notice"
            width = max(1, self.notice.width() - 36)
            if (
                self.notice.fontMetrics()
                .boundingRect(0, 0, width, 10_000, Qt.TextFlag.TextWordWrap, line)
                .height()
                > NOTICE_HEIGHT - 12
            ):
                name = "notice-long"  # a smaller font, never a taller bar
        _restyle(self.notice, name)

    def _draw_idle(self, seconds: int | None) -> None:
        dismissed = self._idle_dismissed
        # A tick queued before "Oui, je continue" still carries the warning: not again.
        recently = dismissed is not None and self.clock() - dismissed < ACTIVITY_EVERY_S
        if seconds is None or recently:
            self.idle.hide()
        else:
            self.idle.show_seconds(seconds)
            self._restack()

    def _restack(self) -> None:
        for overlay in (self.privacy, self.idle, self.busy):
            if overlay.isVisible():
                overlay.raise_()

    def _busy_changed(self, label: object) -> None:
        if label is None:
            self._busy_timer.stop()
            self.busy.hide()
        elif self.busy.isVisible():
            self.busy.label.setText(str(label))
        elif not self._busy_timer.isActive():
            self._busy_timer.start()

    def _show_busy(self) -> None:
        label = self.runner.busy_label
        if label is not None:
            self.busy.label.setText(label)
            self.busy.cover()
            self._restack()

    # -- the operator bar --------------------------------------------------------------------

    def logout(self) -> None:
        """The "Se déconnecter" button: the operator's session ends, the card may stay in."""
        self.runner.submit(_logout, busy=LOGGING_OUT)

    def hide_screen(self) -> None:
        """The "Masquer l'écran" button: a neutral screen until someone touches it."""
        self.keyboard.close_keyboard()
        self.privacy.cover()
        self.privacy.setFocus()  # keys go to the mask, not to a hidden field
        self._restack()
        self._activity_now()

    # -- printing, the refused actions, the status line ----------------------------------------

    def print_sheet(self, with_information: bool = False) -> PrintResult | None:
        """Print the patient's sheet (and receipt; the information text on request); the
        screen says what came out, and offers another way when nothing did."""
        sheet = self.view.sheet if self.view else None
        if sheet is None:
            return None
        result = print_access_sheet(
            sheet,
            portal_url=self.printing.portal_url,
            printer=self.printing.printer,
            pdf_dir=self.printing.pdf_dir,
            layout=self.printing.layout,
            with_information=with_information,
        )
        if result.path is not None:
            self.printed.append(result.path)
        created = self.screens[Step.CREATED]
        if isinstance(created, CreatedScreen):
            created.show_print(result, portal_url=self.printing.portal_url)
        return result

    def show_admin(self) -> None:
        """The refused actions' list, until "Retour" or the next step."""
        if self.last_status is not None:
            self.admin.show_status(self.last_status)
        self._admin_open = True
        self.stack.setCurrentWidget(self.admin)
        scroll_to_top(self.admin.area)

    def close_admin(self) -> None:
        self._admin_open = False
        self.stack.setCurrentWidget(self.current_screen)

    def _status_tapped(self) -> None:
        # The list names patients by their initials: for a logged-in operator only.
        if self.view is not None and self.view.operator is not None:
            self.show_admin()

    def show_status(self, status: QueueStatus, sync: SyncState) -> None:
        """The sync line, from the queue and the sync loop (see `sync_line`)."""
        self.last_status, self._last_sync = status, sync
        operator = self.view is not None and self.view.operator is not None
        name, line = sync_line(status, sync, now=self.clock(), operator=operator)
        self.sync.setText(line)
        _restyle(self.sync, name)
        if self._admin_open:
            self.admin.show_status(status)


_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def _tab_focus_only(root: QWidget) -> None:
    """Buttons take the focus from Tab, not from a finger: the focus ring shows where the
    desk keyboard is, never on the button just tapped."""
    for button in root.findChildren(QAbstractButton):
        if button.focusPolicy() is Qt.FocusPolicy.StrongFocus:
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)


def _activity(workflow: CounterWorkflow) -> None:
    workflow.activity()


def _logout(workflow: CounterWorkflow) -> None:
    workflow.sign_out()


def start_ticking(runner: WorkflowRunner, parent: QObject) -> QTimer:
    """The idle clock: a tick command every second (one queued at most: a long command
    does not leave a pile of ticks behind it)."""
    queued = threading.Event()

    def tick(workflow: CounterWorkflow) -> None:
        queued.clear()
        workflow.tick()

    def due() -> None:
        if not queued.is_set():
            queued.set()
            runner.submit(tick)

    timer = QTimer(parent)
    timer.setInterval(1000)
    timer.timeout.connect(due)
    timer.start()
    return timer
