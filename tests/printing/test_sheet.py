"""The printed access sheet, read back as a patient's phone and eyes would: the PDF Qt writes
is read by pdfminer.six (text, and the size of every character from the text operators),
rendered by PDFium and its QR code decoded by zxing-cpp. Offscreen Qt, no card, no reader."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import replace
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTPage, LTTextContainer
from pytestqt.qtbot import QtBot

from dmpcommon.information import INFORMATION_VERSION
from kiosk.core import AccessSheet
from kiosk.ui.sheet import PrintResult, activation_url, print_access_sheet, print_sheet

PORTAL = "https://dmp.exemple.test/patient"
NOW = dt.datetime(2026, 12, 3, 14, 5)  # the counter's clock, injected
ADULT = AccessSheet(
    "BERNARD",
    "JEANNE",
    "ABCDEFGH23",
    "12345678",
    True,
    False,
    True,
    True,
    issued_on="2026-12-03",
    expires_on="2027-01-02",
    counter="Pharmacie du Port, Lorient",
    operator="Marie DUPONT",
    information_version=INFORMATION_VERSION,
)
MINOR = replace(ADULT, prenom="LÉO", representative="Jeanne BERNARD")
MM_PER_PT = 25.4 / 72


def _print(
    sheet: AccessSheet, folder: Path, layout: str = "a4", *, information: bool = False
) -> Path:
    result = print_access_sheet(
        sheet,
        portal_url=PORTAL,
        printer=None,
        pdf_dir=folder,
        layout="ticket" if layout == "ticket" else "a4",
        with_information=information,
        now=NOW,
    )
    assert result.printed and result.problem is None and result.path is not None, result
    return result.path


def _pages(path: Path) -> list[LTPage]:
    return list(extract_pages(path))


def _chars(page: LTPage) -> list[LTChar]:
    found: list[LTChar] = []
    todo: list[object] = [page]
    while todo:
        item = todo.pop()
        if isinstance(item, LTChar):
            found.append(item)
        elif hasattr(item, "__iter__"):
            todo.extend(item)
    return found


def _text(page: LTPage) -> str:
    """The page's words on one line (ligatures undone, line breaks as spaces)."""
    boxes = [item.get_text() for item in page if isinstance(item, LTTextContainer)]
    return " ".join(unicodedata.normalize("NFKC", " ".join(boxes)).split())


def _qr_codes(path: Path) -> list[str]:
    """Every QR code on every page, rendered at 200 dpi as a printer would put it."""
    texts = []
    document = pypdfium2.PdfDocument(path)
    try:
        for page in document:
            bitmap = page.render(scale=200 / 72, grayscale=True)
            pixels = memoryview(bitmap.buffer).cast("B", (bitmap.height, bitmap.stride))
            texts += [code.text for code in zxingcpp.read_barcodes(pixels)]
    finally:
        document.close()
    return texts


@pytest.mark.parametrize("layout", ["a4", "ticket"])
def test_a_creation_prints_the_sheet_the_receipt_and_on_request_the_information(
    qtbot: QtBot, tmp_path: Path, layout: str
) -> None:
    path = _print(ADULT, tmp_path, layout, information=True)
    pages = _pages(path)
    texts = [_text(page) for page in pages]
    sheet = next(text for text in texts if "Ne communiquez jamais ce code" in text)
    receipt = next(text for text in texts if "Récépissé de consentement" in text)
    assert any("Note d'information sur le Dossier Médical Partagé" in text for text in texts)
    # The sheet: grouped for reading, the code's last day in French, where it was given.
    assert "ABCD EFGH 23" in sheet and "1234 5678" in sheet
    assert "2 janvier 2027" in sheet and "Pharmacie du Port, Lorient" in sheet
    assert activation_url(PORTAL) in sheet.replace("/ ", "/")  # a ticket wraps it
    assert "ni le DMP, ni l'Assurance Maladie, ni votre pharmacie" in sheet
    assert "PROVISOIRE" not in sheet and "représentant légal" not in sheet
    # The receipt: when, by whom, on what, where, who took it, the choices.
    assert "3 décembre 2026 à 14 h 05" in receipt and "Jeanne BERNARD" in receipt
    assert f"version {INFORMATION_VERSION}" in receipt and "Marie DUPONT" in receipt
    assert "Accès du médecin régulateur du SAMU : oui" in receipt
    assert "« bris de glace », tracé) : non" in receipt
    # Nothing under 12 pt, on any page: sizes are the text operators' (Tf and matrices).
    sizes = [char.size for page in pages for char in _chars(page) if char.get_text().strip()]
    assert len(sizes) > 2000 and min(sizes) >= 11.99, min(sizes)
    assert max(sizes) >= 19.9  # the identifier and the code, large
    # The QR code opens the portal's first log-in page, and never carries the code.
    codes = _qr_codes(path)
    assert codes == [activation_url(PORTAL)]
    assert all(ADULT.activation_code not in code for code in codes)
    if layout == "ticket":
        widths = {round(page.width * MM_PER_PT) for page in pages}
        assert widths == {80} and len(pages) == 3  # one ticket per document
    else:
        assert {(round(p.width * MM_PER_PT), round(p.height * MM_PER_PT)) for p in pages} == {
            (210, 297)
        }


@pytest.mark.parametrize("layout", ["a4", "ticket"])
def test_a_minors_sheet_and_receipt_name_the_legal_representative(
    qtbot: QtBot, tmp_path: Path, layout: str
) -> None:
    sheet, receipt = (_text(page) for page in _pages(_print(MINOR, tmp_path, layout)))
    assert "Léo BERNARD" in sheet and "Jeanne BERNARD, son représentant légal" in sheet
    assert "Seul le représentant légal le tape" in sheet
    assert "Jeanne BERNARD, représentant légal de Léo BERNARD (mineur)" in receipt
    # The way back in afterwards is the parent's own number, and the child's birth date now.
    words = " ".join(sheet.split())
    assert "avec votre propre numéro de sécurité sociale" in words
    assert "La date de naissance du mineur vous sera aussi demandée" in words


def test_a_provisional_sheet_says_so_and_what_it_means(qtbot: QtBot, tmp_path: Path) -> None:
    offline = replace(ADULT, online=False, provisional=True)
    for layout in ("a4", "ticket"):
        sheet, receipt = (
            _text(page) for page in _pages(_print(offline, tmp_path / layout, layout))
        )
        assert "PROVISOIRE" in sheet and "PROVISOIRE" in receipt
        assert "cette création sera refusée" in sheet and "ce code ne servira pas" in sheet


def test_a_new_codes_sheet_says_the_old_code_is_void_and_has_no_receipt(
    qtbot: QtBot, tmp_path: Path
) -> None:
    new_code = replace(ADULT, activation_code="87654321", reissued=True)
    (page,) = _pages(_print(new_code, tmp_path))
    text = _text(page)
    assert "l'ancien ne fonctionne plus" in text and "8765 4321" in text
    assert "Vos choix en cas d'urgence" not in text  # not known to a new code's sheet


def test_a_sheet_without_its_last_day_says_how_long_the_code_works(
    qtbot: QtBot, tmp_path: Path
) -> None:
    (sheet, _receipt) = (
        _text(page) for page in _pages(_print(replace(ADULT, expires_on=""), tmp_path))
    )
    assert "valable 30 jours" in sheet


def test_a_print_that_came_to_nothing_says_why(qtbot: QtBot, tmp_path: Path) -> None:
    def attempt(**where: object) -> PrintResult:
        return print_access_sheet(
            ADULT,
            portal_url=where.pop("portal_url", PORTAL),  # type: ignore[arg-type]
            printer=where.pop("printer", None),  # type: ignore[arg-type]
            pdf_dir=where.pop("pdf_dir", None),  # type: ignore[arg-type]
            now=NOW,
        )

    assert attempt(printer="Imprimante inexistante") == PrintResult(False, None, "no_printer")
    blocker = tmp_path / "un-fichier"
    blocker.write_text("pas un dossier", "utf-8")
    unwritable = PrintResult(False, None, "pdf_unwritable")
    assert attempt(pdf_dir=blocker / "fiches") == unwritable  # the folder cannot be made
    # The folder exists but takes no file, even from root: Qt's own refusal is seen too.
    assert attempt(pdf_dir=Path("/proc/self")) == unwritable
    assert attempt(portal_url="", pdf_dir=tmp_path) == PrintResult(False, None, "no_portal")
    assert list(tmp_path.iterdir()) == [blocker]  # no half-written PDF left behind


def test_the_former_call_still_returns_the_pdf(qtbot: QtBot, tmp_path: Path) -> None:
    path = print_sheet(ADULT, portal_url=PORTAL, printer=None, pdf_dir=tmp_path)
    assert path is not None and path.read_bytes().startswith(b"%PDF")
