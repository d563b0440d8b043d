"""The patient's record downloaded: a document as a file with a safe name, or the whole record
as one ZIP with an index in French (index.html, and documents.csv and soins.csv for a
spreadsheet), each document's file beside it.

The ZIP is written as it is sent: one file's bytes in memory at a time (a record of many
20 MB files never sits whole in the service's memory), each read back from the database with
its hash checked when its turn comes. A file found corrupt half-way cuts the download short
(the archive is then unreadable, never silently incomplete)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from urllib.parse import quote

from sqlalchemy.orm import Session

from central.actors import Actor
from central.dmp.access import RecordAccess
from central.dmp.files import MimeType
from central.dmp.schemas import CareLineOut, DocumentOut
from central.notify.messages import PARIS
from central.patient import record
from central.patient.labels import (
    CATEGORY_LABELS,
    NATURE_LABELS,
    document_type,
    file_kind,
    file_size,
    french_date,
)
from central.patient.schemas import PatientRecord

__all__ = [
    "archive_name",
    "content_disposition",
    "content_type",
    "download_name",
    "record_zip",
    "whole_record",
]

_EXTENSIONS = {
    MimeType.PDF.value: ".pdf",
    MimeType.CDA.value: ".xml",
    MimeType.TEXT.value: ".txt",
    MimeType.JPEG.value: ".jpg",
    MimeType.PNG.value: ".png",
}
# Already compressed: stored as they are, not deflated again.
_STORED = {MimeType.PDF.value, MimeType.JPEG.value, MimeType.PNG.value}
_SLUG_MAX = 60


def _slug(text: str) -> str:
    """Letters, digits and dashes only: no path, no quote, no control character."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:_SLUG_MAX].rstrip("-") or "document"


def download_name(doc: DocumentOut) -> str:
    """A document's file name: its date of care and title, the extension of its type
    ("2026-11-15-compte-rendu-de-consultation.pdf"; a text is a .txt)."""
    return f"{doc.document_date}-{_slug(doc.title)}{_EXTENSIONS.get(doc.mime_type, '.bin')}"


def content_type(mime_type: str) -> str:
    """The Content-Type a document's file is sent with (a text says it is UTF-8)."""
    if mime_type in (MimeType.TEXT.value, MimeType.CDA.value):
        return f"{mime_type}; charset=utf-8"
    return mime_type


def content_disposition(name: str, *, inline: bool = False) -> str:
    """The Content-Disposition of a file sent: saved under `name` (already safe, see
    download_name), or shown in the page for an image."""
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"


def archive_name(now: dt.datetime) -> str:
    """The whole record's file name, of the day in Paris: "dmp-2026-12-03.zip"."""
    return f"dmp-{now.astimezone(PARIS).date().isoformat()}.zip"


class _Pipe(io.RawIOBase):
    """What the ZIP writer writes, taken away in chunks as they come (not seekable: the
    writer then puts each file's sizes after its bytes)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def whole_record(
    db: Session,
    actor: Actor,
    access: RecordAccess,
    sessions: Callable[[], Session],
    now: dt.datetime,
) -> Iterator[bytes]:
    """The patient's own record as one ZIP, in chunks: what this session may see is listed
    now, through the one read path; each file is read later, as its turn comes, in a short
    session of its own (`sessions`: an SQLite transaction locks the database while open)."""
    listed = record.exported_documents(db, actor, access, now)
    data = record.read_record(db, actor, now)
    shown = {d.id: d for docs in data.documents.values() for d in docs}
    documents = [shown[d.id] for d in listed if d.id in shown]

    def read(document_id: str) -> bytes:
        with sessions() as reading:
            return record.file_of(reading, actor, document_id)

    return record_zip(data, documents, read, now=now)


def record_zip(
    record: PatientRecord,
    documents: Sequence[DocumentOut],
    read: Callable[[str], bytes],
    *,
    now: dt.datetime,
) -> Iterator[bytes]:
    """The whole record as a ZIP, in chunks: the index, then each document's file, read by
    `read(document_id)` when its turn comes."""
    folder = archive_name(now).removesuffix(".zip")
    stamp = now.astimezone(PARIS).timetuple()[:6]
    paths = _paths(documents)
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, data: bytes, *, stored: bool = False) -> None:
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)

        add("index.html", _index_html(record, documents, paths, now).encode("utf-8"))
        add("documents.csv", _documents_csv(documents, paths))
        add("soins.csv", _care_csv(record.care_lines))
        yield pipe.take()
        for doc in documents:
            add(paths[doc.id], read(doc.id), stored=doc.mime_type in _STORED)
            yield pipe.take()
    yield pipe.take()


def _paths(documents: Sequence[DocumentOut]) -> dict[str, str]:
    """Each document's place in the archive, numbered so that two of a name stay two."""
    width = len(str(len(documents)))
    return {
        doc.id: f"documents/{number:0{width}d}-{download_name(doc)}"
        for number, doc in enumerate(documents, start=1)
    }


def _author(doc: DocumentOut) -> str:
    return "vous-même" if doc.author_role == "patient" else doc.author


def _labels(doc: DocumentOut) -> list[str]:
    said = []
    if doc.masked_to_professionals:
        said.append("masqué aux professionnels")
    if doc.invisible_to_representatives:
        said.append("invisible pour les représentants légaux")
    return said


# A cell a spreadsheet would take for a formula: what others wrote (a title, a care line's
# label) is shown as text, never run (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    """A CSV as a French spreadsheet opens it: semicolons, UTF-8 with its mark."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _documents_csv(documents: Sequence[DocumentOut], paths: dict[str, str]) -> bytes:
    return _csv(
        [
            "fichier",
            "titre",
            "rubrique",
            "type",
            "code LOINC",
            "auteur",
            "date des soins",
            "déposé le",
            "format",
            "taille (octets)",
            "SHA-256",
            "confidentialité",
        ],
        [
            [
                paths[d.id],
                d.title,
                CATEGORY_LABELS.get(d.category, d.category),
                document_type(d.category, d.loinc),
                d.loinc or "",
                _author(d),
                d.document_date,
                d.created_at.astimezone(PARIS).isoformat(timespec="minutes"),
                file_kind(d.mime_type, d.format_code),
                str(d.size),
                d.sha256,
                ", ".join(_labels(d)),
            ]
            for d in documents
        ],
    )


def _care_csv(lines: Sequence[CareLineOut]) -> bytes:
    return _csv(
        ["date", "nature", "système de codes", "code", "libellé", "quantité", "réalisé par"],
        [
            [
                line.care_date,
                NATURE_LABELS.get(line.nature.value, line.nature.value),
                line.code_system.value,
                line.code,
                line.label,
                str(line.quantity),
                line.executant,
            ]
            for line in lines
        ],
    )


def _index_html(
    record: PatientRecord,
    documents: Sequence[DocumentOut],
    paths: dict[str, str],
    now: dt.datetime,
) -> str:
    e = html.escape
    name = f"{record.prenom.capitalize()} {record.nom}"
    rows = []
    for d in documents:
        labels = ", ".join(_labels(d))
        rows.append(
            "<tr>"
            f"<td>{e(d.title)}</td>"
            f"<td>{e(document_type(d.category, d.loinc))}"
            f"<br><small>{e(CATEGORY_LABELS.get(d.category, d.category))}</small></td>"
            f"<td>{e(_author(d))}</td>"
            f"<td>{e(french_date(d.document_date))}</td>"
            f"<td>{e(french_date(d.created_at))}</td>"
            f'<td><a href="{e(paths[d.id])}">{e(file_kind(d.mime_type, d.format_code))}, '
            f"{e(file_size(d.size))}</a></td>"
            f"<td>{e(labels)}</td>"
            "</tr>"
        )
    care = [
        "<tr>"
        f"<td>{e(french_date(line.care_date))}</td>"
        f"<td>{e(NATURE_LABELS.get(line.nature.value, line.nature.value))}</td>"
        f"<td>{e(line.label)}"
        + (f" (× {line.quantity})" if line.quantity > 1 else "")
        + f"</td><td>{e(line.code_system.value)} {e(line.code)}</td>"
        f"<td>{e(line.executant)}</td>"
        "</tr>"
        for line in record.care_lines
    ]
    documents_table = (
        "<table><thead><tr><th>Document</th><th>Type</th><th>Auteur</th><th>Date des soins</th>"
        "<th>Déposé le</th><th>Fichier</th><th>Confidentialité</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        if rows
        else "<p>Aucun document.</p>"
    )
    care_table = (
        "<table><thead><tr><th>Date</th><th>Nature</th><th>Soin</th><th>Code</th>"
        "<th>Réalisé par</th></tr></thead><tbody>" + "".join(care) + "</tbody></table>"
        if care
        else "<p>Aucun soin remboursé dans les 24 derniers mois.</p>"
    )
    return (
        '<!doctype html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Dossier Médical Partagé de {e(name)}</title>\n"
        "<style>body{font:16px/1.5 sans-serif;margin:1em;color:#1b1b1b}"
        "table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;"
        "padding:6px;border-bottom:1px solid #c9d3e6}h1,h2{color:#0b3b8c}</style>\n"
        "</head>\n<body>\n"
        f"<h1>Dossier Médical Partagé de {e(name)}</h1>\n"
        f"<p>Copie téléchargée le {e(french_date(now))} : {len(documents)} document"
        f"{'s' if len(documents) != 1 else ''}, {len(record.care_lines)} soin"
        f"{'s' if len(record.care_lines) != 1 else ''} remboursé"
        f"{'s' if len(record.care_lines) != 1 else ''}. Chaque document est dans le dossier "
        "« documents » ; les mêmes listes sont dans documents.csv et soins.csv.</p>\n"
        f"<h2>Documents</h2>\n{documents_table}\n"
        "<h2>Soins remboursés des 24 derniers mois</h2>\n"
        "<p>Les soins remboursés par l'Assurance Maladie.</p>\n"
        f"{care_table}\n</body>\n</html>\n"
    )
