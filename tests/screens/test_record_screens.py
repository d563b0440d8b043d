"""The summary's two lists and the document viewer, drawn offscreen from the real workflow
over fakes (the real document reader: PDFium pages, a CDA read with defusedxml)."""

from __future__ import annotations

import os

from pytestqt.qtbot import QtBot

from dmpcommon.vocabulary import CareNature
from kiosk.core import Step
from kiosk.core.ports import CareLine
from kiosk.ui.screens import SummaryScreen, ViewerScreen
from kiosk.ui.viewer import CareTable
from tests.screens.test_counter_screens import Counterside
from tests.support.records import CDA_ID, PDF_ID, open_summary, record_counter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_the_summary_lists_care_and_documents_and_a_pdf_opens_readable(qtbot: QtBot) -> None:
    counter, central = record_counter()
    counter.login()
    side = Counterside(qtbot, counter)
    open_summary(counter, central)
    side.draw()
    summary = side.screen
    assert isinstance(summary, SummaryScreen)
    assert summary.documents_tab.text() == "Documents (5)"
    assert summary.history_tab.text() == "Soins remboursés (3)"
    meta = [label.text() for label in summary.body.findChildren(type(summary.heading))]
    assert "Compte rendu de consultation · 02/04/2031 · Dr KERGOAT · PDF" in meta
    assert "Compte rendu de biologie · 02/04/2031 · Dr KERGOAT · CDA structuré" in meta
    side.tap(qtbot, "history-tab")
    assert summary.care.isVisible() and not summary.documents.isVisible()
    assert summary.care.rows() == [  # newest first, in French
        ("02/05/2031", "Pharmacie", "DOLIPRANE (× 2)", "Pha"),
        ("12/03/2031", "Consultation", "Consultation", "Dr X"),
        ("04/01/2031", "Biologie", "Hémoglobine glyquée", "Labo"),
    ]
    assert all(summary.care.rowHeight(row) >= 44 for row in range(3))  # a finger's row
    side.tap(qtbot, "documents-tab")
    side.tap(qtbot, f"open-{PDF_ID}")
    assert side.busy[-1] == "Ouverture du document…"
    viewer = side.screen
    assert isinstance(viewer, ViewerScreen) and viewer.step is Step.VIEWER
    (page,) = viewer.pane.page_labels
    assert page.isVisible()
    image = page.pixmap().toImage()
    assert image.width() == 860 and 1210 < image.height() < 1225  # A4 across the viewer
    # The title's ink where the PDF puts it (50 pt from the left, 52 pt from the top), white
    # paper around it.
    ink = sum(
        1 for y in range(60, 90) for x in range(70, 400) if image.pixelColor(x, y).lightness() < 100
    )
    assert ink > 300, ink
    assert (
        image.pixelColor(5, 5).lightness() == 255 and image.pixelColor(850, 1200).lightness() == 255
    )
    assert viewer.pane.pages.verticalScrollBar().maximum() > 0  # taller than the screen: it scrolls
    side.tap(qtbot, "back")  # "Retour au résumé"
    assert side.screen is summary and not viewer.pane.page_labels
    side.tap(qtbot, f"open-{CDA_ID}")
    shown = viewer.pane.text.toPlainText()
    assert "Résultats" in shown and "HbA1c 6,8 % <normale 4-6>" in shown  # escaped, not markup
    assert "<" not in viewer.pane.text.toHtml().split("HbA1c", 1)[1].split("</p>")[0].replace(
        "<br", ""
    )


def test_a_failed_fetch_says_so_and_retry_shows_the_pages_then_finish_clears(
    qtbot: QtBot,
) -> None:
    counter, central = record_counter()
    counter.login()
    side = Counterside(qtbot, counter)
    open_summary(counter, central)
    side.draw()
    central.fail = "offline"
    side.tap(qtbot, f"open-{PDF_ID}")
    viewer = side.screen
    assert isinstance(viewer, ViewerScreen)
    assert viewer.failure_text.text().startswith("Document non reçu : le service central ne")
    assert side.visible("retry") and not viewer.pane.isVisible()
    central.fail = None
    side.tap(qtbot, "retry")
    assert len(viewer.pane.page_labels) == 1 and viewer.pane.isVisible()
    assert not viewer.failure.isVisible()
    side.tap(qtbot, "finish")
    assert side.screen.step is Step.READY
    assert not viewer.pane.page_labels and viewer.heading.text() == ""
    assert isinstance(side.screens[Step.SUMMARY], SummaryScreen)
    assert side.screens[Step.SUMMARY].plain_text() == ""  # type: ignore[attr-defined]


def test_a_long_care_line_is_shown_whole_on_a_taller_row(qtbot: QtBot) -> None:
    """No tooltip to hover on a touch screen: a line's wrapped text grows its row."""
    table = CareTable()
    qtbot.addWidget(table)
    table.resize(900, 400)
    place = "Centre hospitalier universitaire de Rennes, service d'imagerie médicale, " * 3
    table.show_lines(
        (
            CareLine(
                "2031-05-02", CareNature.PHARMACY, "CIP13", "3400935955838", "DOLIPRANE", 1, "Pha"
            ),
            CareLine("2031-03-12", CareNature.IMAGING, "CCAM", "ZBQK002", "Radiographie", 1, place),
        )
    )
    table.show()
    qtbot.waitExposed(table)
    assert table.rowHeight(0) >= 44
    assert table.rowHeight(1) > table.rowHeight(0)  # lines of text, none clipped
