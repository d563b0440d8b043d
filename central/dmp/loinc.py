"""LOINC document types: a code's check digit, and whether it fits the DMP's category.

A code is NNNNN-C, its check digit the mod-10 (Luhn) key of the part before the dash, as
LOINC computes it. The lists below are the document types this service files under each
category; "other" takes any valid code that none of them claims, so that a medication or an
allergy cannot be filed, or replaced, as a free note."""

from __future__ import annotations

from central.dmp.schemas import Category
from dmpcommon.identifiers import luhn_key

__all__ = ["DEFAULT_LOINC", "LOINC_BY_CATEGORY", "loinc_problem"]

LOINC_BY_CATEGORY: dict[Category, frozenset[str]] = {
    Category.CARE_HISTORY: frozenset(
        {
            "34117-2",  # History and physical note
            "11506-3",  # Progress note
            "34133-9",  # Summary of episode note
            "60591-5",  # Patient summary
        }
    ),
    Category.PATHOLOGIES_ALLERGIES: frozenset(
        {
            "48765-2",  # Allergies and adverse reactions
            "11450-4",  # Problem list
            "11348-0",  # History of past illness
        }
    ),
    Category.MEDICATIONS: frozenset(
        {
            "10160-0",  # History of medication use
            "57833-6",  # Prescription for medication
            "60593-1",  # Medication dispensed
        }
    ),
    Category.REPORTS: frozenset(
        {
            "11488-4",  # Consult note
            "18842-5",  # Discharge summary
            "34874-8",  # Surgical operation note
            "28570-0",  # Procedure note
        }
    ),
    Category.EXAM_RESULTS: frozenset(
        {
            "30954-2",  # Relevant diagnostic tests/laboratory data
            "11502-2",  # Laboratory report
            "18748-4",  # Diagnostic imaging study
            "11524-6",  # EKG study
        }
    ),
    Category.ADVANCE_DIRECTIVES: frozenset({"42348-3"}),  # Advance directives
    Category.EMERGENCY_CONTACTS: frozenset(),  # no LOINC document type: filed without one
}
# The type given to a document filed without one, where a category has one.
DEFAULT_LOINC = {
    Category.CARE_HISTORY: "34117-2",
    Category.PATHOLOGIES_ALLERGIES: "48765-2",
    Category.MEDICATIONS: "10160-0",
    Category.REPORTS: "11488-4",
    Category.EXAM_RESULTS: "30954-2",
    Category.ADVANCE_DIRECTIVES: "42348-3",
}
_CLAIMED = frozenset().union(*LOINC_BY_CATEGORY.values())


def loinc_problem(code: str, category: Category) -> str | None:
    """Why this code may not be filed under this category, as a code; None if it may."""
    body, dash, key = code.partition("-")
    valid = (
        dash == "-"
        and 1 <= len(body) <= 7
        and body.isascii()
        and body.isdigit()
        and len(key) == 1
        and key.isdigit()
    )
    if not valid or luhn_key(body) != int(key):
        return "loinc_invalid"
    fits = (
        code not in _CLAIMED if category is Category.OTHER else code in LOINC_BY_CATEGORY[category]
    )
    return None if fits else "loinc_not_for_category"
