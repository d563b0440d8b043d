"""The patient's access sheet: printed through Qt print support (a PDF file in the demo).

It tells how to reach the record online, the identifier and the provisional activation code,
and the emergency choices made. No health data, no NIR.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from PySide6.QtGui import QPageSize, QTextDocument
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

from kiosk.core import AccessSheet

__all__ = ["print_sheet", "sheet_html"]


_BIG = "font-size:20pt"


def _yes(value: bool) -> str:
    return "oui" if value else "non"


def _choices(sheet: AccessSheet) -> str:
    """The emergency choices made at creation (a new code's sheet does not know them)."""
    return f"""<h2>Vos choix en cas d'urgence</h2>
<ul>
<li>Accès du médecin régulateur du SAMU : {_yes(sheet.etreat)}</li>
<li>Accès d'urgence d'un professionnel (« bris de glace », tracé) : {_yes(sheet.btg)}</li>
<li>Documents masqués visibles dans ces urgences : {_yes(sheet.masked)}</li>
</ul>"""


def sheet_html(sheet: AccessSheet, *, portal_url: str) -> str:
    """The sheet as HTML (what is printed)."""
    # A creation's sheet is printed before the service answers: it promises the creation, not
    # that it is done. A new code is printed once the service gave it: it works at once.
    activation = (
        "Nouveau code : l'ancien ne fonctionne plus. Votre accès est actif : connectez-vous "
        "dès maintenant."
        if sheet.reissued
        else "Votre dossier est en cours de création : votre accès est actif dès qu'elle est "
        "faite, en général dans la minute. Réessayez un peu plus tard si le code est refusé."
        if sheet.online
        else "La borne était hors ligne : votre accès sera activé dès son retour en ligne "
        "(en général dans l'heure). Réessayez plus tard si le code est refusé."
    )
    patient = html.escape(f"{sheet.nom} {sheet.prenom.capitalize()}")
    return f"""
<h1>Votre Dossier Médical Partagé</h1>
<p>{patient} — fiche remise le {dt.date.today().strftime("%d/%m/%Y")}</p>
<h2>Accéder à votre DMP en ligne</h2>
<p>Rendez-vous sur <b>{html.escape(portal_url)}</b>, choisissez « Première connexion »,
et saisissez :</p>
<table cellpadding="6">
<tr><td>Identifiant</td><td><b style="{_BIG}">{html.escape(sheet.identifier)}</b></td></tr>
<tr><td>Code provisoire</td><td><b style="{_BIG}">{html.escape(sheet.activation_code)}</b></td></tr>
</table>
<p>{activation} Le code provisoire ne sert qu'une fois ; ensuite, vous recevrez un code à usage
unique par SMS ou e-mail à chaque connexion, au contact de votre DMP. Sans contact, ajoutez-en
un dans « Notifications » dès cette première connexion.</p>
{"" if sheet.reissued else _choices(sheet)}
<p>En ligne, à tout moment, vous pouvez changer ces choix, voir qui a consulté votre dossier,
masquer un document, bloquer un professionnel ou fermer votre DMP.</p>
"""


def print_sheet(
    sheet: AccessSheet, *, portal_url: str, printer: str | None, pdf_dir: Path | None
) -> Path | None:
    """Print on the named printer (or the default one), or write a PDF into `pdf_dir`."""
    document = QTextDocument()
    document.setHtml(sheet_html(sheet, portal_url=portal_url))
    out = QPrinter(QPrinter.PrinterMode.HighResolution)
    out.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    path: Path | None = None
    if pdf_dir is not None:
        pdf_dir.mkdir(parents=True, exist_ok=True)
        path = pdf_dir / f"fiche-dmp-{dt.datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.pdf"
        out.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        out.setOutputFileName(str(path))
    elif printer:
        out.setPrinterName(printer)
    elif QPrinterInfo.defaultPrinter().isNull():
        return None
    document.print_(out)
    return path
