"""The kiosk's domain values: who is at the counter, as the cards say it.

Plain frozen dataclasses, filled by the card adapter (kiosk/cardreader) from what it read.
A retrieved identity is what a Carte Vitale says of a person: not an INS until the identity
service qualifies it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["ProfessionalIdentity", "RetrievedIdentity", "age_on"]


@dataclass(frozen=True, slots=True)
class RetrievedIdentity:
    """One holder of a Carte Vitale (the NIR is often a parent's for a child)."""

    nom: str
    prenom: str
    birth_date: str  # YYYY-MM-DD (a lunar date may have 00 parts)
    nir: str
    nir_valid: bool

    def age_on(self, today: dt.date) -> int | None:
        """Age in whole years, or None for a date that is not a calendar date."""
        return age_on(self.birth_date, today)

    def minor_on(self, today: dt.date) -> bool:
        age = self.age_on(today)
        return age is not None and age < 18


@dataclass(frozen=True, slots=True)
class ProfessionalIdentity:
    """The operator's card: a CPS (health professional) or a CPE (establishment agent)."""

    card_type: str  # CPS | CPE
    id_nat: str
    nom: str
    prenom: str
    profession: str | None  # "21" pharmacist, "10" physician...; None on a CPE
    structure_name: str

    @property
    def health_professional(self) -> bool:
        return self.card_type == "CPS" and self.profession is not None


def age_on(birth_date: str, today: dt.date) -> int | None:
    """Whole years on `today`, or None when the date is not a calendar date."""
    try:
        born = dt.date.fromisoformat(birth_date)
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
