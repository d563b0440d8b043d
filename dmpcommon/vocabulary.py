"""The values both sides speak: statuses, modes, roles, channels. Codes, never sentences."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "REASON_TEXT_MAX",
    "REASON_TEXT_MIN",
    "AccessMode",
    "Authorisation",
    "BreakGlassReason",
    "CareNature",
    "CodeSystem",
    "ContactChannel",
    "CounterDocument",
    "DmpStatus",
    "IdentityDocument",
    "QualificationStatus",
    "Role",
]

# A break-glass reason is written out, traced and shown to the patient.
REASON_TEXT_MIN = 5
REASON_TEXT_MAX = 500


class DmpStatus(StrEnum):
    """The DMP's status, as the service reports it."""

    VALID = "VALIDE"
    NONE = "NON_EXISTE"
    CLOSED = "FERME"


class Authorisation(StrEnum):
    """The operator's standing on a DMP."""

    AUTHORISED = "AUTORISE"
    NOT_AUTHORISED = "NON_AUTORISE"
    BLOCKED = "BLOQUE"


class AccessMode(StrEnum):
    """How a DMP is opened."""

    NORMAL = "normal"
    REGULATOR = "regulateur"
    BREAK_GLASS = "bris_de_glace"


class BreakGlassReason(StrEnum):
    """Why a professional opens a record in break-glass (with a written reason too)."""

    VITAL_EMERGENCY = "URGENCE_VITALE"
    UNCONSCIOUS_PATIENT = "PATIENT_INCONSCIENT"
    OTHER = "AUTRE"


class ContactChannel(StrEnum):
    """How the patient is told (and receives login codes)."""

    EMAIL = "email"
    SMS = "sms"


class IdentityDocument(StrEnum):
    """The identity document an operator checked (identity vigilance: with the register's
    answer, it makes the identity "qualifiée"; without it, "récupérée")."""

    ID_CARD = "carte_identite"
    PASSPORT = "passeport"
    RESIDENCE_PERMIT = "titre_sejour"
    FAMILY_RECORD_BOOK = "livret_famille"  # a minor's, with the representative's own document


class CounterDocument(StrEnum):
    """What a professional may file at the counter from a short form (the service gives
    each its category and document type)."""

    VACCINATION = "vaccination"
    MEDICATION_REVIEW = "medication_review"
    PHARMACEUTICAL_NOTE = "pharmaceutical_note"
    ALLERGY = "allergy"


class QualificationStatus(StrEnum):
    """What the identity service says of card traits."""

    QUALIFIED = "qualified"
    NOT_FOUND = "not_found"
    AMBIGUOUS = "ambiguous"


class Role(StrEnum):
    """Roles the access rules know (the service derives an operator's from the card)."""

    PATIENT = "patient"
    REPRESENTATIVE = "representant_legal"
    HEALTH_PROFESSIONAL = "professionnel_sante"
    SAMU_REGULATOR = "regulateur_samu"
    ADMINISTRATIVE_AGENT = "agent_administratif"
    UNKNOWN_STRUCTURE = "structure_inconnue"  # not in the register: no medical content
    EMPLOYER = "employeur"
    INSURER = "assureur"
    BANK = "banque"
    OCCUPATIONAL_MEDICINE = "medecine_travail"


class CareNature(StrEnum):
    """What kind of reimbursed care a line of the health insurance's feed is."""

    PHARMACY = "pharmacie"
    CONSULTATION = "consultation"
    BIOLOGY = "biologie"
    IMAGING = "imagerie"
    HOSPITAL = "hospitalisation"
    NURSING = "soins_infirmiers"
    PHYSIOTHERAPY = "kinesitherapie"
    DENTAL = "dentaire"
    OTHER = "autre"


class CodeSystem(StrEnum):
    """The field's code of the line: a medicine's CIP13, an act's NGAP or CCAM code, a lab
    test's NABM code."""

    CIP13 = "CIP13"
    NGAP = "NGAP"
    CCAM = "CCAM"
    NABM = "NABM"
