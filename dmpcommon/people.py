"""Birth dates, age and minority on a day, and who consents for a minor.

Some cards and registers carry a birth date with an unknown day or month, written with zeros
or with values outside the calendar ("1979-03-00", "1979-00-00", "1979-03-32"): "lunar"
dates, for people registered without a full civil date. Such a
person is an adult only once they are surely 18, that is 18 years after the latest day the
date allows (the month's last day, or 31 December). Until then they are treated as a minor:
a legal representative consents for them. Erring this way asks an adult for a
representative; erring the other way would let a child consent alone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "AGE_OF_MAJORITY",
    "BIRTH_DATE_PATTERN",
    "BirthDate",
    "fold",
    "name_key",
    "ConsentProblem",
    "check_representative",
]

AGE_OF_MAJORITY = 18
BIRTH_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_SHAPE = re.compile(BIRTH_DATE_PATTERN)


class ConsentProblem(StrEnum):
    """Why a consent is refused."""

    REPRESENTATIVE_REQUIRED = "representative_required"  # a minor consents through an adult
    REPRESENTATIVE_NOT_ADULT = "representative_not_adult"
    REPRESENTATIVE_FOR_ADULT = "representative_for_adult"  # an adult consents for themself


@dataclass(frozen=True, slots=True, order=True)
class BirthDate:
    """A birth date whose month or day may be unknown (0)."""

    year: int
    month: int = 0
    day: int = 0

    @classmethod
    def parse(cls, text: str) -> BirthDate:
        """ "YYYY-MM-DD"; a month or day outside the calendar (00, or a "lunar" 32 or 13 as
        some cards carry) is unknown. ValueError for anything else."""
        if not _SHAPE.fullmatch(text):
            raise ValueError("a birth date is YYYY-MM-DD")
        year, month, day = (int(part) for part in text.split("-"))
        if not 1800 <= year <= 9999:
            raise ValueError("not a birth year")
        if not 1 <= month <= 12:
            return cls(year, 0, 0)
        if not 1 <= day <= calendar.monthrange(year, month)[1]:
            return cls(year, month, 0)
        return cls(year, month, day)

    @property
    def complete(self) -> bool:
        """Whether day and month are known."""
        return bool(self.month and self.day)

    def latest(self) -> dt.date:
        """The last day this date allows."""
        month = self.month or 12
        day = self.day or calendar.monthrange(self.year, month)[1]
        return dt.date(self.year, month, day)

    def age_on(self, today: dt.date) -> int:
        """Whole years the person surely has on `today` (counted from the latest day)."""
        born = self.latest()
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def adult_on(self, today: dt.date) -> bool:
        """Surely of age on `today`."""
        return self.age_on(today) >= AGE_OF_MAJORITY

    def minor_on(self, today: dt.date) -> bool:
        """Not surely of age on `today`: consent goes through a legal representative."""
        return not self.adult_on(today)

    def iso(self) -> str:
        """Back to "YYYY-MM-DD" (zeros kept)."""
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


def check_representative(
    patient: BirthDate, representative: BirthDate | None, today: dt.date
) -> ConsentProblem | None:
    """Who consents: a minor through an adult legal representative, an adult alone."""
    if patient.minor_on(today):
        if representative is None:
            return ConsentProblem.REPRESENTATIVE_REQUIRED
        if not representative.adult_on(today):
            return ConsentProblem.REPRESENTATIVE_NOT_ADULT
        return None
    if representative is not None:
        return ConsentProblem.REPRESENTATIVE_FOR_ADULT
    return None


def fold(text: str) -> str:
    """A name as a search compares it: lower case without accents, hyphens and apostrophes
    as spaces, spaces squeezed ("Hélène  LE-Bris" -> "helene le bris")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    for mark in "-'’":
        bare = bare.replace(mark, " ")  # "Jean-Pierre", "N'Diaye" found as typed either way
    return " ".join(bare.casefold().replace("œ", "oe").replace("æ", "ae").split())


def name_key(prenom: str, nom: str) -> str:
    """What a search by name looks into: the folded name in both orders ("prenom nom /
    nom prenom"), so that either is found by a plain substring."""
    return f"{fold(f'{prenom} {nom}')} / {fold(f'{nom} {prenom}')}"
