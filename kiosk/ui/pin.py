"""The PIN pad: the operator's card code, typed on screen or on a keyboard (the digits never
leave this widget until "Valider", then are wiped)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout

from kiosk.core import CounterView, Step
from kiosk.ui.screens import Screen, big_button, text, title
from kiosk.ui.worker import Submit

__all__ = ["CHECKING_PIN", "PinScreen"]

CHECKING_PIN = "Vérification du code porteur…"
_MAX_DIGITS = 8


class PinScreen(Screen):
    """A PIN pad: the digits stay in this widget until "Valider", then are wiped."""

    step = Step.PIN

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.submit_busy = submit
        self._pin = ""
        # The screen holds the focus, so digits typed on a desk keyboard reach it.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.layout_.addWidget(title("Code porteur de votre carte professionnelle"))
        self.tries = text("", "lead")
        self.layout_.addWidget(self.tries)
        self.display = text("", "pin")
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.layout_.addWidget(self.display)
        grid = QGridLayout()
        grid.setSpacing(12)
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "Effacer", "0", "Valider"]
        for i, key in enumerate(keys):
            button = big_button(key, f"key-{key}")
            button.setMinimumSize(140, 80)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a tap leaves the focus here
            button.clicked.connect(lambda _=False, k=key: self._key(k))
            grid.addWidget(button, i // 3, i % 3)
        self.layout_.addLayout(grid)
        self.layout_.addStretch()

    def _key(self, key: str) -> None:
        if key == "Effacer":
            self._pin = ""
        elif key == "Valider":
            pin, self._pin = self._pin, ""
            if pin:
                self.submit_busy(lambda s: s.submit_pin(pin), busy=CHECKING_PIN)
        elif len(self._pin) < _MAX_DIGITS:
            self._pin += key
        self.display.setText("●" * len(self._pin))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """A desk keyboard: digits, Backspace, Enter = "Valider", Escape = "Effacer"."""
        key, typed = event.key(), event.text()
        if len(typed) == 1 and typed in "0123456789":  # not "²", which isdigit() accepts
            self._key(typed)
        elif key == Qt.Key.Key_Backspace:
            self._pin = self._pin[:-1]
            self.display.setText("●" * len(self._pin))
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._key("Valider")
        elif key == Qt.Key.Key_Escape:
            self._key("Effacer")
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def type_pin(self, pin: str) -> None:
        """Tap the digits then "Valider" (what the operator's finger does; screenshots)."""
        for digit in pin:
            self._key(digit)
        self._key("Valider")

    def draw(self, view: CounterView) -> None:
        self._pin = ""
        self.display.setText("")
        tries = view.pin_tries_left
        if tries is None:
            self.tries.setText("")
        elif tries == 1:
            self.tries.setText("Dernier essai avant le blocage de la carte.")
        else:
            self.tries.setText(f"{tries} essais avant le blocage de la carte.")
