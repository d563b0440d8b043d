"""Widgets for the hardware the kiosk runs on: a touch screen, sometimes a keyboard.

An on-screen keyboard for the fields that ask for one, overlays that cover the window
(busy, "are you still there?", privacy), a clickable status line, kinetic scrolling, and
the filter that turns any input into activity and swallows taps while a command is busy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QScroller,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "KEYBOARD_KINDS",
    "KEYBOARD_PROPERTY",
    "BusyOverlay",
    "IdleWarning",
    "InputGuard",
    "OnScreenKeyboard",
    "Overlay",
    "PrivacyScreen",
    "StatusLine",
    "make_kinetic",
    "owned_by",
    "scroll_areas",
    "scroll_to_top",
]

KEYBOARD_PROPERTY = "keyboard"  # QLineEdit dynamic property: which keyboard it wants
KEYBOARD_KINDS = ("text", "email", "digits", "phone")
KEY_SIZE = 60  # px: a fingertip

# French AZERTY, and every letter a French name needs.
_TEXT_ROWS = ("azertyuiop", "qsdfghjklm", "wxcvbn'-", "éèêëàâçîïôùûüœ")
_EMAIL_ROWS = ("1234567890", "azertyuiop", "qsdfghjklm", "wxcvbn@.-_")
_DIGIT_ROWS = ("123", "456", "789")


def owned_by(window: QWidget, widget: QWidget) -> bool:
    """Whether `widget` is `window` or inside it, popups (a combo box's list) included."""
    current: QWidget | None = widget
    while current is not None:
        if current is window:
            return True
        current = current.parentWidget()
    return False


def _key_button(label: str, name: str, on_click: Callable[[], None]) -> QPushButton:
    button = QPushButton(label)
    button.setObjectName(name)
    # Keys never take the focus: it stays on the field they type into.
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setMinimumSize(KEY_SIZE, KEY_SIZE)
    button.setAutoRepeat(label == "⌫")
    button.clicked.connect(on_click)
    return button


class OnScreenKeyboard(QFrame):
    """The window's keyboard, docked at its bottom: shown while a field that asks for one
    (property "keyboard": text, email, digits, phone) has the focus."""

    shown = Signal(bool)  # the window makes room (True) or takes it back (False)

    def __init__(self, host: QWidget) -> None:
        super().__init__()
        self.setObjectName("keyboard")
        self.host = host
        self.kind: str | None = None
        self.target: QLineEdit | None = None
        self._shift = False
        self._letters: list[QPushButton] = []
        self._rows = QVBoxLayout(self)
        self._rows.setContentsMargins(10, 6, 10, 6)
        self._rows.setSpacing(5)
        self.hide()
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            raise RuntimeError("the keyboard needs a QApplication")
        app.focusChanged.connect(self._focus_changed)

    # -- showing ---------------------------------------------------------------------------

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is None or not owned_by(self.host, new) or owned_by(self, new):
            return  # the focus left the window, or went to a key: nothing changes
        kind = new.property(KEYBOARD_PROPERTY) if isinstance(new, QLineEdit) else None
        if isinstance(new, QLineEdit) and kind in KEYBOARD_KINDS:
            self.open_for(new, str(kind))
        else:
            self.close_keyboard()

    def open_for(self, field: QLineEdit, kind: str) -> None:
        """Show the layout `kind` for `field`."""
        self.target = field
        if kind != self.kind:
            self._build(kind)
        self.show()
        self.shown.emit(True)
        # The screen above shrinks: keep the field in sight.
        parent = field.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(field)

    def close_keyboard(self) -> None:
        """Hide (the "Masquer" key, a step change, the focus elsewhere)."""
        self.target = None
        if not self.isHidden():
            self.hide()
            self.shown.emit(False)

    def _hide_key(self) -> None:
        target = self.target
        self.close_keyboard()
        if target is not None:
            target.clearFocus()  # a tap on the field brings the keyboard back

    # -- layouts ---------------------------------------------------------------------------

    def _build(self, kind: str) -> None:
        while self._rows.count():
            item = self._rows.takeAt(0)
            if item is not None and (row := item.layout()) is not None:
                while row.count():
                    child = row.takeAt(0)
                    if child is not None and (widget := child.widget()) is not None:
                        widget.hide()  # gone now, deleted once back in the event loop
                        widget.deleteLater()
                row.deleteLater()
        self.kind = kind
        self._shift = False
        self._letters = []
        if kind == "text":
            rows: Sequence[str] = _TEXT_ROWS
        elif kind == "email":
            rows = _EMAIL_ROWS
        else:
            rows = _DIGIT_ROWS
        digits = kind in ("digits", "phone")
        for i, chars in enumerate(rows):
            keys = [self._char_key(c) for c in chars]
            if i == 0 and not digits:
                keys.append(_key_button("⌫", "kb-backspace", self._backspace))
            self._add_row(keys, grid=digits)
        special: list[QPushButton] = []
        if kind == "text":
            special.append(_key_button("Maj", "kb-shift", self._toggle_shift))
            special.append(_key_button("espace", "kb-space", lambda: self._type(" ")))
        elif kind == "phone":
            special.append(self._char_key("+"))
        if digits:
            if kind == "digits":
                special.append(_key_button("⌫", "kb-backspace", self._backspace))
            special.append(self._char_key("0"))
            if kind == "phone":
                special.append(_key_button("⌫", "kb-backspace", self._backspace))
            self._add_row(special, grid=True)
            special = []
        special.append(_key_button("Entrée", "kb-enter", self._enter))
        special.append(_key_button("Masquer", "kb-hide", self._hide_key))
        self._add_row(special, grid=digits)

    def _add_row(self, keys: list[QPushButton], *, grid: bool) -> None:
        row = QHBoxLayout()
        row.setSpacing(5)
        if grid:  # a pad: keys as wide as a phone's, centred
            row.addStretch()
        for key in keys:
            if grid:
                key.setMinimumWidth(KEY_SIZE * 2)
            row.addWidget(key, 3 if key.objectName() == "kb-space" else 1)
        if grid:
            row.addStretch()
        self._rows.addLayout(row)

    def _char_key(self, char: str) -> QPushButton:
        button = _key_button(char, f"kb-{char}", lambda: self._type(char))
        if char.isalpha():
            self._letters.append(button)
        return button

    # -- typing ----------------------------------------------------------------------------

    def _toggle_shift(self) -> None:
        self._set_shift(not self._shift)

    def _set_shift(self, on: bool) -> None:
        self._shift = on
        for key in self._letters:
            key.setText(key.text().upper() if on else key.text().lower())

    def _type(self, char: str) -> None:
        if self._shift:
            char = char.upper()
            self._set_shift(False)  # one capital, as on a phone
        self._send(Qt.Key.Key_Space if char == " " else Qt.Key.Key_unknown, char)

    def _backspace(self) -> None:
        self._send(Qt.Key.Key_Backspace)

    def _enter(self) -> None:
        self._send(Qt.Key.Key_Return)

    def _send(self, key: Qt.Key, text: str = "") -> None:
        target = self.target
        if target is None or not target.isVisible():
            return
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text)
            QApplication.sendEvent(target, event)


class Overlay(QFrame):
    """Covers its window whole, following its size; hidden until `cover()`."""

    def __init__(self, window: QWidget, name: str) -> None:
        super().__init__(window)
        self.setObjectName(name)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        window.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() is QEvent.Type.Resize and isinstance(watched, QWidget):
            self.setGeometry(watched.rect())
        return False

    def cover(self) -> None:
        """Show over everything in the window."""
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()


def _box(overlay: QWidget, name: str) -> QVBoxLayout:
    """A centred panel on an overlay; returns the panel's layout."""
    outer = QVBoxLayout(overlay)
    panel = QFrame()
    panel.setObjectName(name)
    panel.setMaximumWidth(760)
    outer.addStretch()
    outer.addWidget(panel, alignment=Qt.AlignmentFlag.AlignHCenter)
    outer.addStretch()
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(40, 32, 40, 32)
    layout.setSpacing(20)
    return layout


def _wrapped(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


class BusyOverlay(Overlay):
    """A long wait says what it waits for ("Vérification du code porteur…")."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window, "busy")
        self.label = _wrapped("", "busy-label")
        _box(self, "busy-panel").addWidget(self.label)


class IdleWarning(Overlay):
    """Asks "Êtes-vous toujours là ?", with the seconds left before the patient is wiped."""

    def __init__(self, window: QWidget, on_continue: Callable[[], None]) -> None:
        super().__init__(window, "idle")
        box = _box(self, "idle-panel")
        box.addWidget(_wrapped("Êtes-vous toujours là ?", "idle-title"))
        self.countdown = _wrapped("", "idle-countdown")
        box.addWidget(self.countdown)
        self.button = QPushButton("Oui, je continue")
        self.button.setObjectName("still-here")
        self.button.setMinimumHeight(88)
        self.button.clicked.connect(on_continue)
        box.addWidget(self.button)

    def show_seconds(self, seconds: int) -> None:
        """Say how long is left, and cover the screen."""
        self.countdown.setText(
            f"Sans action de votre part, les données du patient seront effacées dans {seconds} s."
        )
        if not self.isVisible():
            self.cover()


class PrivacyScreen(Overlay):
    """A neutral screen over the whole window, no patient data, until touched."""

    touched = Signal()

    def __init__(self, window: QWidget) -> None:
        super().__init__(window, "privacy")
        layout = QVBoxLayout(self)
        layout.addWidget(_wrapped("Écran masqué — touchez pour revenir", "privacy-label"))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        event.accept()
        self.hide()
        self.touched.emit()


class StatusLine(QLabel):
    """The sync line; a tap on it opens the list of refused actions."""

    clicked = Signal()

    def __init__(self) -> None:
        super().__init__("")
        self.setWordWrap(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        event.accept()
        self.clicked.emit()


def scroll_areas(root: QWidget) -> list[QAbstractScrollArea]:
    """The scroll areas of a screen (a combo box's own list is left to the combo box)."""
    return [
        area
        for area in root.findChildren(QAbstractScrollArea)
        if not any(isinstance(p, QComboBox) for p in _parents(area))
    ]


def _parents(widget: QWidget) -> list[QWidget]:
    parents = []
    current = widget.parentWidget()
    while current is not None:
        parents.append(current)
        current = current.parentWidget()
    return parents


def make_kinetic(area: QAbstractScrollArea, on_drag: Callable[[], None]) -> None:
    """A finger drags the content and flicks it (touch screens send a mouse); `on_drag` is
    told when someone scrolls. Harmless when done twice."""
    viewport = area.viewport()
    if QScroller.hasScroller(viewport):
        return
    QScroller.grabGesture(viewport, QScroller.ScrollerGestureType.LeftMouseButtonGesture)
    if isinstance(area, QAbstractItemView):  # item by item would jump under the finger
        area.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        area.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    scroller = QScroller.scroller(viewport)

    def state(new: QScroller.State) -> None:
        # The gesture eats the moves: the window's filter never sees a drag.
        if new in (QScroller.State.Pressed, QScroller.State.Dragging):
            on_drag()

    scroller.stateChanged.connect(state)


def scroll_to_top(area: QAbstractScrollArea) -> None:
    """Back to the start, a flick in progress stopped."""
    if QScroller.hasScroller(area.viewport()):
        QScroller.scroller(area.viewport()).stop()
    for bar in (area.verticalScrollBar(), area.horizontalScrollBar()):
        bar.setValue(bar.minimum())


_TAPS = frozenset(
    {
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.TouchBegin,
        QEvent.Type.KeyPress,
    }
)
_INPUT = _TAPS | {QEvent.Type.MouseMove, QEvent.Type.TouchUpdate, QEvent.Type.Wheel}


class InputGuard(QObject):
    """An application event filter for one window: any input in it is activity; while
    `busy()` says so, taps and keys are swallowed (a double tap acts once)."""

    def __init__(
        self, window: QWidget, *, busy: Callable[[], bool], on_input: Callable[[], None]
    ) -> None:
        super().__init__(window)
        self.window_, self.busy, self.on_input = window, busy, on_input
        self.swallowed = 0  # taps dropped while busy (tests, diagnostics)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in _INPUT or not isinstance(watched, QWidget):
            return False
        if kind is QEvent.Type.MouseMove and not (
            isinstance(event, QMouseEvent) and event.buttons()
        ):
            return False  # a pointer passing by is nobody
        if not owned_by(self.window_, watched):
            return False
        self.on_input()
        if kind in _TAPS and self.busy():
            self.swallowed += 1
            return True
        return False
