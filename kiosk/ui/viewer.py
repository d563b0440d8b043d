"""What the summary and the document viewer draw: the care history as a table of touch-sized
rows, and a document's content (PDF pages, a CDA's sections, a text, an image).

Everything here is drawn from values the workflow made on its own thread (pages already
rendered, a CDA already read): the UI thread only turns pixels into pixmaps. `clear()` drops
every pixel and character, so that nothing of the patient stays in a hidden widget.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.ports import CareLine, CdaDocument, DocumentContent, PageImage
from kiosk.messages import NATURE_LABELS

__all__ = ["ROW_HEIGHT", "CareTable", "DocumentPane", "escape", "page_pixmap", "short_date"]

ROW_HEIGHT = 48  # a finger's row (44 px at least)
_CARE_COLUMNS = ("Date", "Nature", "Soin", "Par")


def escape(value: object) -> str:
    """Plain text made safe inside the rich text Qt draws."""
    return (
        str(value)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def short_date(iso: str) -> str:
    """ "2026-11-03" as "03/11/2026"."""
    parts = iso[:10].split("-")
    return "/".join(reversed(parts)) if len(parts) == 3 else iso


def care_cells(line: CareLine) -> tuple[str, str, str, str]:
    """A care line's cells: date, nature, what (× quantity when more than one), who."""
    what = line.label if line.quantity <= 1 else f"{line.label} (× {line.quantity})"
    return short_date(line.care_date), NATURE_LABELS[line.nature], what, line.executant


class CareTable(QTableWidget):
    """The care history: one row a line, newest first, read only, scrolled by a finger."""

    def __init__(self) -> None:
        super().__init__(0, len(_CARE_COLUMNS))
        self.setObjectName("care-history")
        self.setHorizontalHeaderLabels(list(_CARE_COLUMNS))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalHeader().setVisible(False)
        # As tall as a row's wrapped text needs (a long label, a long place), never below a
        # finger's 48 px: nothing clipped, and no tooltip to hover on a touch screen.
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setMinimumSectionSize(ROW_HEIGHT)
        self.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(3, 240)

    def show_lines(self, lines: tuple[CareLine, ...]) -> None:
        self.setRowCount(0)
        self.setRowCount(len(lines))
        for row, line in enumerate(lines):
            for column, value in enumerate(care_cells(line)):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.setItem(row, column, item)

    def rows(self) -> list[tuple[str, ...]]:
        """Each row's cells (tests, screenshots)."""
        return [
            tuple(
                (item.text() if (item := self.item(row, column)) else "")
                for column in range(self.columnCount())
            )
            for row in range(self.rowCount())
        ]

    def clear_lines(self) -> None:
        self.setRowCount(0)


def page_pixmap(page: PageImage) -> QPixmap:
    """A rendered page as a pixmap (its pixels copied: the image owns them)."""
    image = QImage(page.pixels, page.width, page.height, page.stride, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


def cda_html(cda: CdaDocument) -> str:
    """A CDA's sections as rich text: titles and paragraphs, every string escaped."""
    parts = [f"<h2>{escape(cda.title)}</h2>"] if cda.title else []
    for section in cda.sections:
        level = min(section.level + 2, 5)
        if section.title:
            parts.append(f"<h{level}>{escape(section.title)}</h{level}>")
        for paragraph in section.paragraphs:
            parts.append(f"<p>{escape(paragraph).replace(chr(10), '<br>')}</p>")
    if cda.text is not None:
        parts.append(f"<pre>{escape(cda.text)}</pre>")
    if not cda.sections and cda.text is None:
        parts.append("<p><i>Document sans contenu lisible.</i></p>")
    return "".join(parts)


class DocumentPane(QStackedWidget):
    """One document's content: pages to scroll, a text to read, or an image."""

    def __init__(self) -> None:
        super().__init__()
        self.pages = QScrollArea()
        self.pages.setObjectName("document-pages")
        self.pages.setWidgetResizable(True)
        self.pages.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self._pages_body = QWidget()
        self._pages_body.setObjectName("document-pages-body")
        self._page_layout = QVBoxLayout(self._pages_body)
        self._page_layout.setSpacing(12)
        self._page_layout.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.pages.setWidget(self._pages_body)
        self.text = QTextBrowser()
        self.text.setObjectName("document-text")
        self.text.setOpenLinks(False)  # a link in a document goes nowhere from a kiosk
        self.image = QScrollArea()
        self.image.setObjectName("document-image")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._image_label = QLabel()
        self.image.setWidget(self._image_label)
        for widget in (self.pages, self.text, self.image):
            self.addWidget(widget)
        self.page_labels: list[QLabel] = []

    def show_content(self, content: DocumentContent) -> None:
        self.clear_content()
        if content.pages:
            for number, page in enumerate(content.pages, start=1):
                label = QLabel()
                label.setObjectName(f"page-{number}")
                label.setPixmap(page_pixmap(page))
                label.setFixedSize(page.width, page.height)
                self._page_layout.addWidget(label)
                self.page_labels.append(label)
            if content.page_count > len(content.pages):
                note = QLabel(
                    f"Document de {content.page_count} pages : les {len(content.pages)} "
                    "premières sont affichées ici."
                )
                note.setObjectName("pages-cut")
                self._page_layout.addWidget(note)
            self.setCurrentWidget(self.pages)
        elif content.cda is not None:
            self.text.setHtml(cda_html(content.cda))
            self.setCurrentWidget(self.text)
        elif content.text is not None:
            self.text.setPlainText(content.text)
            self.setCurrentWidget(self.text)
        elif content.image is not None:
            pixmap = QPixmap()
            if not pixmap.loadFromData(content.image):
                self.text.setPlainText("Image illisible.")
                self.setCurrentWidget(self.text)
                return
            self._image_label.setPixmap(pixmap)
            self._image_label.resize(pixmap.size())
            self.setCurrentWidget(self.image)

    def clear_content(self) -> None:
        """Every page, character and pixel dropped."""
        for label in self.page_labels:
            label.clear()
            label.setParent(None)
            label.deleteLater()
        self.page_labels.clear()
        while self._page_layout.count():
            item = self._page_layout.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.setParent(None)
                widget.deleteLater()
        self.text.clear()
        self._image_label.clear()
