"""The demo card tray: the fixture cards, and buttons to insert or remove them in a vpcd slot.

Slot 0 is the patient's reader (Carte Vitale), slot 1 the professional's (CPS/CPE). The
emulated cards run in this process: closing the tray removes them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from drivers.image import CardImage, ImageError, load_image
from drivers.vpcd import VirtualCardLink, insert_card

__all__ = ["CardTray", "main"]

CARDS = Path(__file__).resolve().parents[1] / "fixtures" / "cards"
SLOTS = ("Lecteur patient (0)", "Lecteur professionnel (1)")


class CardTray(QWidget):
    """One row per card: insert in slot 0 or 1; one "retirer" per slot."""

    def __init__(self, folder: Path = CARDS) -> None:
        super().__init__()
        self.setWindowTitle("Cartes de démonstration")
        self.links: dict[int, VirtualCardLink] = {}
        self.images: list[CardImage] = []
        for path in sorted(folder.glob("*.json")):
            try:
                self.images.append(load_image(path))
            except ImageError:
                continue
        layout = QVBoxLayout(self)
        self.status = [QLabel(f"{name} : vide") for name in SLOTS]
        for slot, label in enumerate(self.status):
            line = QGridLayout()
            line.addWidget(label, 0, 0)
            remove = QPushButton("Retirer")
            remove.setObjectName(f"remove-{slot}")
            remove.clicked.connect(lambda _=False, s=slot: self.remove(s))
            line.addWidget(remove, 0, 1)
            layout.addLayout(line)
        grid = QGridLayout()
        for row, image in enumerate(self.images):
            grid.addWidget(QLabel(image.label), row, 0)
            stem = image.path.stem if image.path else str(row)
            for slot in (0, 1):
                button = QPushButton(f"Insérer ({slot})")
                button.setObjectName(f"insert-{stem}-{slot}")
                button.clicked.connect(lambda _=False, i=image, s=slot: self.insert(i, s))
                grid.addWidget(button, row, 1 + slot)
        layout.addLayout(grid)

    def insert(self, image: CardImage, slot: int) -> None:
        """Put the card in the slot (what was there is pulled out first)."""
        self.remove(slot)
        try:
            self.links[slot] = insert_card(image, slot=slot, reconnect=True)
        except ConnectionError as exc:
            self.status[slot].setText(f"{SLOTS[slot]} : vpcd injoignable ({exc})")
            return
        self.status[slot].setText(f"{SLOTS[slot]} : {image.label}")

    def remove(self, slot: int) -> None:
        link = self.links.pop(slot, None)
        if link is not None:
            link.remove()
        self.status[slot].setText(f"{SLOTS[slot]} : vide")

    def closeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        for slot in list(self.links):
            self.remove(slot)
        super().closeEvent(event)  # type: ignore[arg-type]


def main() -> int:
    """`python -m drivers tray`."""
    app = QApplication(sys.argv[:1])
    tray = CardTray()
    tray.resize(720, 640)
    tray.show()
    print(f"tray: {len(tray.images)} cartes", flush=True)
    try:
        return app.exec()
    finally:
        for slot in list(tray.links):
            tray.remove(slot)
