"""The patient's record in French words: for the portal's pages and for the index of the
record downloaded whole (one vocabulary for both, so that the file says what the page says).

Dates as a French reader says them, the documents' categories and LOINC types, the natures of
reimbursed care, a file's kind and size, and the confidentiality labels."""

from __future__ import annotations

import datetime as dt

from central.dmp.files import FormatCode, MimeType
from central.notify.messages import PARIS
from dmpcommon.people import BirthDate

__all__ = [
    "CATEGORY_LABELS",
    "CONFIDENTIALITY_LABELS",
    "LOINC_LABELS",
    "NATURE_LABELS",
    "document_type",
    "file_kind",
    "file_size",
    "french_date",
]

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

CATEGORY_LABELS = {
    "care_history": "Synthèses et observations de soins",
    "pathologies_allergies": "Pathologies et allergies",
    "medications": "Traitements",
    "reports": "Comptes rendus",
    "exam_results": "Résultats d'examens",
    "advance_directives": "Directives anticipées",
    "emergency_contacts": "Personnes à prévenir",
    "other": "Autres documents",
}

# The document types of central.dmp.loinc, as the DMP names them in French.
LOINC_LABELS = {
    "34117-2": "Observation médicale",
    "11506-3": "Note d'évolution",
    "34133-9": "Synthèse d'un épisode de soins",
    "60591-5": "Synthèse médicale",
    "48765-2": "Allergies et intolérances",
    "11450-4": "Liste des problèmes de santé",
    "11348-0": "Antécédents médicaux",
    "10160-0": "Historique des traitements",
    "57833-6": "Ordonnance de médicaments",
    "60593-1": "Médicaments délivrés",
    "11488-4": "Compte rendu de consultation",
    "18842-5": "Compte rendu de sortie d'hospitalisation",
    "34874-8": "Compte rendu opératoire",
    "28570-0": "Compte rendu d'acte",
    "30954-2": "Résultats d'examens",
    "11502-2": "Compte rendu de biologie",
    "18748-4": "Compte rendu d'imagerie",
    "11524-6": "Électrocardiogramme",
    "42348-3": "Directives anticipées",
}

# The natures of reimbursed care (central.dmp.schemas.CareNature).
NATURE_LABELS = {
    "pharmacie": "Pharmacie",
    "consultation": "Consultation",
    "biologie": "Biologie",
    "imagerie": "Imagerie",
    "hospitalisation": "Hospitalisation",
    "soins_infirmiers": "Soins infirmiers",
    "kinesitherapie": "Kinésithérapie",
    "dentaire": "Dentaire",
    "autre": "Autre soin",
}

CONFIDENTIALITY_LABELS = {
    "masked": (
        "Masqué aux professionnels (sauf son auteur, votre médecin traitant et, si vous "
        "l'avez permis, un accès d'urgence)"
    ),
    "invisible": "Invisible pour les représentants légaux",
}


def french_date(value: str | dt.date | dt.datetime) -> str:
    """A date as a French reader says it: "3 décembre 2026"; a service time (UTC) in Paris
    time, "3 décembre 2026 à 14 h 05"; a birth date with an unknown day or month as far as
    it is known ("mars 2007", "2007")."""
    if isinstance(value, dt.datetime):
        at = value.astimezone(PARIS)
        return f"{french_date(at.date())} à {at.hour} h {at.minute:02d}"
    if isinstance(value, str):
        try:
            known = BirthDate.parse(value[:10])
        except ValueError:
            return value
        if not known.month:
            return str(known.year)
        if not known.day:
            return f"{MONTHS[known.month - 1]} {known.year}"
        value = dt.date(known.year, known.month, known.day)
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def document_type(category: str, loinc: str | None) -> str:
    """The document's type: its LOINC type's name where the service knows it, else its
    category's ("Comptes rendus")."""
    if loinc and loinc in LOINC_LABELS:
        return LOINC_LABELS[loinc]
    return CATEGORY_LABELS.get(category, "Document")


_KINDS = {
    (MimeType.PDF.value, FormatCode.PDF.value): "PDF",
    (MimeType.CDA.value, FormatCode.CDA_STRUCTURED.value): "CDA structuré",
    (MimeType.CDA.value, FormatCode.PDF.value): "CDA (PDF)",
    (MimeType.CDA.value, FormatCode.TEXT.value): "CDA (texte)",
    (MimeType.TEXT.value, FormatCode.TEXT.value): "texte",
    (MimeType.JPEG.value, FormatCode.MIME_SUFFICIENT.value): "image JPEG",
    (MimeType.PNG.value, FormatCode.MIME_SUFFICIENT.value): "image PNG",
}


def file_kind(mime_type: str, format_code: str) -> str:
    """What the file is, in a word or two: "PDF", "CDA structuré", "image PNG"..."""
    return _KINDS.get((mime_type, format_code), mime_type)


def file_size(size: int) -> str:
    """A size as a French reader reads it: "812 octets", "212 Ko", "1,4 Mo"."""
    if size < 1024:
        return f"{size} octet{'s' if size > 1 else ''}"
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} Ko"
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")
