"""What the counter prints for the patient, through Qt print support (a PDF file in the demo):

- the access sheet: the portal's address and a QR code to it, the identifier and the
  provisional activation code grouped for reading, the code's last day, the counter, and that
  nobody will ever ask for the code. No health data, no NIR;
- with a creation, the consent receipt: when, by whom, on which information text, at which
  counter and operator, the emergency choices;
- on request, the information notice (`dmpcommon.information`).

Two layouts: an A4 sheet, or an 80 mm receipt ticket (one ticket per document, as long as
its text). Body text is 12 pt at least in both. Printing says what happened (`PrintResult`):
the screen offers to try again or to show the code when nothing came out.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import segno
from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import QFont, QImage, QPageLayout, QPageSize, QPainter, QTextDocument
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

from dmpcommon.identifiers import ACTIVATION_CODE_DAYS
from dmpcommon.information import INFORMATION_TEXT, INFORMATION_VERSION
from kiosk.core import AccessSheet

__all__ = [
    "ACTIVATION_PATH",
    "PrintProblem",
    "PrintResult",
    "SheetLayout",
    "activation_url",
    "grouped",
    "information_html",
    "print_access_sheet",
    "print_sheet",
    "receipt_html",
    "sheet_html",
]

SheetLayout = Literal["a4", "ticket"]
# no_portal: no portal address known (a kiosk not enrolled); no_printer: none named or none
# by default; print_failed: the print system refused the job; pdf_unwritable: the PDF folder
# or file cannot be written.
PrintProblem = Literal["no_portal", "no_printer", "print_failed", "pdf_unwritable"]

# The portal's page with the "Première connexion" form (central/portal/login.py). It reads no
# identifier from its address: the QR code opens the page and the patient types both. Never
# the activation code in the QR code: a photo of the sheet would then be a key.
ACTIVATION_PATH = "/connexion"

_FONT = "DejaVu Sans"  # Debian's fonts-dejavu-core, installed by the bootstrap
_MONO = "DejaVu Sans Mono"  # the identifier and the code: every character apart
_MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
).split()
_QR_RESOURCE = "dmp:qr"


@dataclass(frozen=True, slots=True)
class PrintResult:
    """What came of a print: `printed` when the job was handed to the printer or the PDF
    written (its `path`); otherwise the `problem`, for the screen to offer another way."""

    printed: bool
    path: Path | None = None
    problem: PrintProblem | None = None


@dataclass(frozen=True, slots=True)
class _Layout:
    page: QPageSize | None  # None: 80 mm wide, as long as the text
    margin_mm: float
    width_mm: float
    h1_pt: int
    h2_pt: int
    code_pt: int
    qr_mm: float
    side_by_side: bool  # the QR code beside the address (A4) or under it (ticket)


_LAYOUTS: dict[str, _Layout] = {
    "a4": _Layout(QPageSize(QPageSize.PageSizeId.A4), 15, 210, 22, 16, 26, 38, True),
    "ticket": _Layout(None, 4, 80, 16, 14, 20, 34, False),
}


def activation_url(portal_url: str) -> str:
    """The portal's first log-in page, where the sheet sends the patient (and its QR code)."""
    return portal_url.rstrip("/") + ACTIVATION_PATH


def grouped(text: str, size: int = 4) -> str:
    """Characters in groups for reading aloud and typing: "ABCDEFGH23" -> "ABCD EFGH 23"."""
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


def _french_date(day: dt.date) -> str:
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {_MONTHS[day.month - 1]} {day.year}"


def _day(iso: str, fallback: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(iso)
    except ValueError:
        return fallback


def _yes(value: bool) -> str:
    return "oui" if value else "non"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_NO_BREAK = {"« ": "«\u00a0", " »": "\u00a0»", " :": "\u00a0:", " ;": "\u00a0;", " ?": "\u00a0?"}


def _french(text: str) -> str:
    """French spacing that never breaks a line before ":", "?" or inside « »."""
    for plain, tied in _NO_BREAK.items():
        text = text.replace(plain, tied)
    return text


def _patient(sheet: AccessSheet) -> str:
    return _e(f"{sheet.prenom.title()} {sheet.nom.upper()}")


def _style(layout: _Layout) -> str:
    # Qt's rich text knows a subset of CSS: sizes in pt, margins, borders of tables.
    return f"""<style>
body {{ font-family: '{_FONT}'; font-size: 12pt; }}
.h1 {{ font-size: {layout.h1_pt}pt; font-weight: bold; margin: 0 0 6pt 0; }}
.h2 {{ font-size: {layout.h2_pt}pt; font-weight: bold; margin: 12pt 0 4pt 0; }}
p, li {{ font-size: 12pt; margin: 3pt 0; }}
.code {{ font-family: '{_MONO}'; font-size: {layout.code_pt}pt; font-weight: bold; }}
.label {{ font-size: 12pt; }}
.warn {{ font-size: 14pt; font-weight: bold; }}
.banner {{ font-size: {layout.h1_pt + 4}pt; font-weight: bold; }}
</style>"""


def _heading(text: str) -> str:
    return f'<p class="h2">{_e(text)}</p>'


def _choices(sheet: AccessSheet) -> str:
    return f"""<ul>
<li>Accès du médecin régulateur du SAMU : <b>{_yes(sheet.etreat)}</b></li>
<li>Accès d'urgence d'un professionnel (« bris de glace », tracé) : <b>{_yes(sheet.btg)}</b></li>
<li>Documents masqués visibles dans ces urgences : <b>{_yes(sheet.masked)}</b></li>
</ul>"""


def _provisional(sheet: AccessSheet, *, receipt: bool) -> str:
    if not sheet.provisional:
        return ""
    what = "ce consentement" if receipt else "ce code"
    return f"""<table border="3" cellpadding="6" width="100%"><tr><td>
<p class="banner">PROVISOIRE</p>
<p>Le kiosque était hors ligne : il n'a pas pu vérifier si vous avez déjà un DMP. Si vous en
avez déjà un, cette création sera refusée et {what} ne servira pas : votre DMP existant reste
tel quel, avec vos codes habituels. Sinon, votre accès sera activé dès le retour en ligne du
kiosque (en général dans l'heure).</p>
</td></tr></table>"""


def _status(sheet: AccessSheet) -> str:
    """When the code starts working: the sheet is printed before the service answers."""
    if sheet.reissued:
        # Printed at once, applied when the queued action reaches the service.
        when = (
            "dès que le service central l'a enregistré, en général dans la minute"
            if sheet.online
            else "dès le retour en ligne du kiosque, en général dans l'heure"
        )
        return (
            f"<p><b>Nouveau code provisoire</b> : il remplace l'ancien {when} ; ensuite, "
            "l'ancien ne fonctionne plus. Réessayez un peu plus tard si ce code est refusé.</p>"
        )
    if sheet.provisional:
        return ""  # the banner says it
    if sheet.online:
        return (
            "<p>Votre dossier est en cours de création : votre accès est actif dès qu'elle est "
            "faite, en général dans la minute. Réessayez un peu plus tard si le code est "
            "refusé.</p>"
        )
    return (
        "<p>Le kiosque était hors ligne : votre accès sera activé dès son retour en ligne (en "
        "général dans l'heure). Réessayez plus tard si le code est refusé.</p>"
    )


def _holder_line(sheet: AccessSheet, issued: dt.date) -> str:
    where = f" à {_e(sheet.counter)}" if sheet.counter else ""
    line = f"Dossier de <b>{_patient(sheet)}</b> — fiche remise le {_french_date(issued)}{where}"
    if sheet.representative:
        line += (
            f"<br>à <b>{_e(sheet.representative)}</b>, son représentant légal : c'est lui ou "
            "elle qui se connecte pour ce mineur"
        )
    return f"<p>{line}.</p>"


def _expiry(sheet: AccessSheet, issued: dt.date) -> str:
    if sheet.expires_on:
        last = _day(sheet.expires_on, issued + dt.timedelta(days=ACTIVATION_CODE_DAYS))
        return f"valable jusqu'au <b>{_french_date(last)}</b> inclus, une seule fois"
    return f"valable {ACTIVATION_CODE_DAYS} jours, une seule fois"


def _codes(sheet: AccessSheet, layout: _Layout) -> str:
    identifier = f'<span class="code">{_e(grouped(sheet.identifier))}</span>'
    code = f'<span class="code">{_e(grouped(sheet.activation_code))}</span>'
    if layout.side_by_side:
        return f"""<table cellpadding="4">
<tr><td class="label">Identifiant</td><td>{identifier}</td></tr>
<tr><td class="label">Code provisoire</td><td>{code}</td></tr>
</table>"""
    return f"""<p class="label">Identifiant</p><p>{identifier}</p>
<p class="label">Code provisoire</p><p>{code}</p>"""


def _address(portal_url: str, layout: _Layout) -> str:
    url = _e(activation_url(portal_url))
    qr_px = round(layout.qr_mm / 25.4 * 96)  # rich text sizes images in 96 dpi pixels
    image = f'<img src="{_QR_RESOURCE}" width="{qr_px}" height="{qr_px}">'
    words = (
        "<p>Ouvrez cette adresse, rubrique « Première connexion » :</p>"
        f'<p class="warn">{url}</p>'
        "<p>ou photographiez ce code QR avec votre téléphone.</p>"
    )
    if layout.side_by_side:
        return f'<table cellpadding="4"><tr><td>{image}</td><td>{words}</td></tr></table>'
    return f'{words}<p align="center">{image}</p>'


def _parent(sheet: AccessSheet) -> str:
    if not sheet.representative:
        return ""
    return (
        " Représentant légal dont la carte Vitale a été lue au comptoir : connectez-vous "
        "ensuite avec votre propre numéro de sécurité sociale et votre date de naissance, "
        "vous y retrouverez les dossiers de vos enfants jusqu'à leurs 18 ans."
    )


def _never_share(sheet: AccessSheet) -> str:
    typed = "Seul le représentant légal le tape" if sheet.representative else "Vous seul le tapez"
    return f"""<table border="2" cellpadding="6" width="100%"><tr><td>
<p class="warn">Ne communiquez jamais ce code.</p>
<p>Personne ne vous le demandera : ni le DMP, ni l'Assurance Maladie, ni votre pharmacie, ni
votre assurance ou votre mutuelle ; ni par téléphone, ni par SMS, ni par e-mail. {typed}, sur
le site ci-dessus. Quelqu'un vous le demande ? C'est une escroquerie : ne le donnez pas.</p>
</td></tr></table>"""


def sheet_html(
    sheet: AccessSheet,
    *,
    portal_url: str,
    layout: SheetLayout = "a4",
    today: dt.date | None = None,
) -> str:
    """The access sheet as rich text (what is printed)."""
    shape = _LAYOUTS[layout]
    issued = _day(sheet.issued_on, today or dt.date.today())
    title = "Votre nouveau code provisoire" if sheet.reissued else "Votre accès à votre DMP"
    choices = (
        ""
        if sheet.reissued  # a new code's sheet does not know the choices
        else _heading("Vos choix en cas d'urgence") + _choices(sheet)
    )
    return f"""{_style(shape)}
<p class="h1">{title}</p>
{_provisional(sheet, receipt=False)}
{_holder_line(sheet, issued)}
<p class="h2">1. Allez sur le site de votre DMP</p>
{_address(portal_url, shape)}
<p class="h2">2. Saisissez</p>
{_codes(sheet, shape)}
<p>Code provisoire {_expiry(sheet, issued)}. La date de naissance
{"du mineur" if sheet.representative else "du titulaire"} vous sera aussi demandée.</p>
{_status(sheet)}
{_never_share(sheet)}
<p class="h2">3. Ensuite</p>
<p>À chaque connexion, vous recevrez un code à usage unique par SMS ou e-mail, au contact de
votre DMP. Sans contact, le site vous en demande un dès la première connexion.{_parent(sheet)}</p>
{choices}
<p>En ligne, à tout moment, vous pouvez changer ces choix, voir qui a consulté votre dossier,
masquer un document, bloquer un professionnel ou fermer votre DMP.</p>
"""


def receipt_html(sheet: AccessSheet, *, at: dt.datetime, layout: SheetLayout = "a4") -> str:
    """The consent receipt (with a creation only): when, by whom, on which information."""
    shape = _LAYOUTS[layout]
    day = _day(sheet.issued_on, at.date())
    when = f"le {_french_date(day)} à {at.hour} h {at.minute:02d}"
    if sheet.representative:
        by = (
            f"<b>{_e(sheet.representative)}</b>, représentant légal de {_patient(sheet)} "
            "(mineur), pour son compte"
        )
    else:
        by = f"<b>{_patient(sheet)}</b>, titulaire du dossier"
    # The kiosk shows one information text, this one: a sheet that does not say which was
    # read was read on it.
    version = sheet.information_version or INFORMATION_VERSION
    where = _e(sheet.counter) if sheet.counter else "—"
    operator = _e(sheet.operator) if sheet.operator else "—"
    return f"""{_style(shape)}
<p class="h1">Récépissé de consentement</p>
{_provisional(sheet, receipt=True)}
<p>Création du Dossier Médical Partagé de <b>{_patient(sheet)}</b>.</p>
<table cellpadding="3">
<tr><td>Date et heure</td><td><b>{when}</b></td></tr>
<tr><td>Consentement donné par</td><td>{by}</td></tr>
<tr><td>Après lecture de</td><td>la note d'information, version <b>{_e(version)}</b></td></tr>
<tr><td>Recueilli à</td><td>{where}</td></tr>
<tr><td>Par</td><td>{operator}</td></tr>
</table>
<p class="h2">Choix faits pour les urgences</p>
{_choices(sheet)}
<p>Consentement donné à l'écran, sans signature. Vous pouvez le retirer à tout moment en
fermant votre DMP, en ligne ou au comptoir ; vos choix se changent en ligne. Conservez ce
récépissé.</p>
"""


def _is_heading(paragraph: str) -> bool:
    return "\n" not in paragraph and len(paragraph) < 60 and paragraph[-1] not in ".;:!?)"


def _paragraph(paragraph: str) -> str:
    """A paragraph of the notice: its "– " lines as a list, the others as text."""
    if _is_heading(paragraph):
        return _heading(paragraph)
    parts: list[str] = []
    items: list[str] = []
    for line in paragraph.splitlines():
        if line.startswith("– "):
            items.append(f"<li>{_e(line[2:])}</li>")
            continue
        if items:
            parts.append("<ul>" + "".join(items) + "</ul>")
            items = []
        parts.append(f"<p>{_e(line)}</p>")
    if items:
        parts.append("<ul>" + "".join(items) + "</ul>")
    return "\n".join(parts)


def information_html(*, layout: SheetLayout = "a4") -> str:
    """The information notice, as the patient read it on screen, and its version."""
    title, *paragraphs = INFORMATION_TEXT.strip().split("\n\n")
    body = "\n".join(_paragraph(paragraph) for paragraph in paragraphs)
    return f"""{_style(_LAYOUTS[layout])}
<p class="h1">{_e(title)}</p>
<p>Version {_e(INFORMATION_VERSION)}</p>
{body}
"""


def _qr_image(data: str) -> QImage:
    """The QR code as a crisp black-and-white image (8 pixels a module, 4 modules of margin)."""
    code = segno.make(data, error="m", micro=False)
    rows = [bytes(row) for row in code.matrix_iter(scale=1, border=4)]
    size = len(rows)
    image = QImage(size, size, QImage.Format.Format_Grayscale8)
    image.fill(255)
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                image.setPixel(x, y, 0)
    return image.scaled(size * 8, size * 8, mode=Qt.TransformationMode.FastTransformation)


def _document(text: str, printer: QPrinter, width_px: float, qr: QImage) -> QTextDocument:
    """Rich text laid out for the printer: point sizes become the printer's own dots."""
    document = QTextDocument()
    document.documentLayout().setPaintDevice(printer)
    document.setDefaultFont(QFont(_FONT, 12))
    document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(_QR_RESOURCE), qr)
    document.setHtml(text)
    document.setTextWidth(width_px)
    return document


def _page_layout(shape: _Layout, height_mm: float | None = None) -> QPageLayout:
    margins = QMarginsF(shape.margin_mm, shape.margin_mm, shape.margin_mm, shape.margin_mm)
    size = shape.page or QPageSize(
        QSizeF(shape.width_mm, height_mm or 200), QPageSize.Unit.Millimeter, "Ticket 80 mm"
    )
    return QPageLayout(size, QPageLayout.Orientation.Portrait, margins, QPageLayout.Unit.Millimeter)


def _paint(printer: QPrinter, shape: _Layout, texts: Sequence[str], qr: QImage) -> bool:
    """Every document from a new page (a ticket each, as long as its text); False if the
    print system refused on the way."""
    dpi = printer.resolution()
    width_px = (shape.width_mm - 2 * shape.margin_mm) / 25.4 * dpi
    documents = [_document(text, printer, width_px, qr) for text in texts]
    heights = [
        # 2 mm of slack: a ticket cut one line short would lose the last one.
        document.size().height() / dpi * 25.4 + 2 * shape.margin_mm + 2
        for document in documents
    ]
    if shape.page is None and not printer.setPageLayout(_page_layout(shape, heights[0])):
        return False
    painter = QPainter()
    if not painter.begin(printer):
        return False
    try:
        for index, document in enumerate(documents):
            if index and shape.page is None:
                printer.setPageLayout(_page_layout(shape, heights[index]))
            if index and not printer.newPage():
                return False
            if shape.page is None:
                document.drawContents(painter)
                continue
            area = printer.pageLayout().paintRectPixels(dpi)
            document.setPageSize(QSizeF(area.width(), area.height()))
            for page in range(document.pageCount()):
                if page and not printer.newPage():
                    return False
                painter.save()
                painter.translate(0, -page * area.height())
                document.drawContents(
                    painter, QRectF(0, page * area.height(), area.width(), area.height())
                )
                painter.restore()
    finally:
        ended = painter.end()
    return ended


def print_access_sheet(
    sheet: AccessSheet,
    *,
    portal_url: str,
    printer: str | None,
    pdf_dir: Path | None,
    layout: SheetLayout = "a4",
    with_information: bool = False,
    now: dt.datetime | None = None,
) -> PrintResult:
    """Print the access sheet, with the consent receipt for a creation and the information
    notice if asked, on the named printer (or the default one), or as one PDF file in
    `pdf_dir`; say what came of it."""
    if not portal_url:
        return PrintResult(printed=False, problem="no_portal")
    at = now or dt.datetime.now()
    texts = [sheet_html(sheet, portal_url=portal_url, layout=layout, today=at.date())]
    if not sheet.reissued:
        texts.append(receipt_html(sheet, at=at, layout=layout))
    if with_information:
        texts.append(information_html(layout=layout))
    texts = [_french(text) for text in texts]
    out = QPrinter(QPrinter.PrinterMode.HighResolution)
    path: Path | None = None
    if pdf_dir is not None:
        path = pdf_dir / f"fiche-dmp-{at.strftime('%Y%m%d-%H%M%S-%f')}.pdf"
        try:
            pdf_dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            return PrintResult(printed=False, problem="pdf_unwritable")
        out.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        out.setOutputFileName(str(path))
    elif printer:
        if QPrinterInfo.printerInfo(printer).isNull():
            return PrintResult(printed=False, problem="no_printer")
        out.setPrinterName(printer)
    elif QPrinterInfo.defaultPrinter().isNull():
        return PrintResult(printed=False, problem="no_printer")
    shape = _LAYOUTS[layout]
    if shape.page is not None:
        out.setPageLayout(_page_layout(shape))
    painted = _paint(out, shape, texts, _qr_image(activation_url(portal_url)))
    if path is not None:
        # Qt only warns when it cannot write the file: look at what is on disk.
        if not (painted and path.is_file() and path.stat().st_size > 0):
            path.unlink(missing_ok=True)
            return PrintResult(printed=False, problem="pdf_unwritable")
        return PrintResult(printed=True, path=path)
    if not painted:
        return PrintResult(printed=False, problem="print_failed")
    return PrintResult(printed=True)  # handed to the print system: it may still jam


def print_sheet(
    sheet: AccessSheet, *, portal_url: str, printer: str | None, pdf_dir: Path | None
) -> Path | None:
    """The former call, for callers not yet reading `PrintResult`: the PDF written, if any.
    Prefer `print_access_sheet`, which says when nothing came out."""
    return print_access_sheet(sheet, portal_url=portal_url, printer=printer, pdf_dir=pdf_dir).path
