"""The kiosk's domain values: who is at the counter, as the cards say it.

Plain frozen values, filled by the card adapter (kiosk/cardreader) from what it read. A
retrieved identity is what a Carte Vitale says of a person: not an INS until the identity
service qualifies it. The card family is what the card's ATR says, shared by the card layer
(which recognises it) and the workflow (which decides what to do with it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum, unique

from dmpcommon.actions import CardTraits
from dmpcommon.nir import is_valid_nir
from dmpcommon.people import BirthDate

__all__ = [
    "PIN_LENGTH_MAX",
    "PIN_LENGTH_MIN",
    "CardFamily",
    "OperatorCard",
    "ProfessionalIdentity",
    "RetrievedIdentity",
    "pin_format_ok",
]

PIN_LENGTH_MIN = 4
PIN_LENGTH_MAX = 8  # the card's PIN block


def pin_format_ok(pin: str) -> bool:
    """A PIN the card can be asked to check: 4 to 8 decimal digits (a wrong format would
    otherwise cost nothing but could never succeed)."""
    return PIN_LENGTH_MIN <= len(pin) <= PIN_LENGTH_MAX and pin.isascii() and pin.isdigit()


@unique
class CardFamily(StrEnum):
    """What an ATR tells about a card, before any APDU."""

    VITALE2 = "vitale2"
    VITALE1 = "vitale1"
    APCV = "apcv"  # a phone presenting the carte Vitale app over NFC
    PROFESSIONAL = "professional"  # CPS3/CPS4 platform: CPS or CPE, told by its EF 0001
    UNKNOWN = "unknown"

    @property
    def supported(self) -> bool:
        """Whether the kiosk reads this family."""
        return self in (CardFamily.VITALE2, CardFamily.PROFESSIONAL)


@dataclass(frozen=True, slots=True)
class RetrievedIdentity:
    """One holder of a Carte Vitale (the NIR is often a parent's for a child)."""

    nom: str
    prenom: str
    birth_date: str  # YYYY-MM-DD as the card says it (a lunar date may have 00 parts)
    nir: str
    nir_valid: bool

    def minor_on(self, today: dt.date) -> bool:
        """Not surely of age on `today` (dmpcommon.people: a lunar date errs towards minor)."""
        try:
            return BirthDate.parse(self.birth_date).minor_on(today)
        except ValueError:
            return True

    def traits(self) -> CardTraits:
        """The traits the identity service qualifies (the NIR's key is checked first)."""
        return CardTraits(
            nom=self.nom, prenom=self.prenom, birth_date=self.birth_date, nir=self.nir
        )

    @property
    def qualifiable(self) -> bool:
        """Whether the card's NIR can be sent at all (a bad key never leaves the kiosk)."""
        return self.nir_valid and is_valid_nir(self.nir)


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
        """A CPS with a profession: may be authorised on records (an agent never is)."""
        return self.card_type == "CPS" and self.profession is not None


@dataclass(frozen=True, slots=True)
class OperatorCard:
    """The operator's card as the login needs it, read in one go at insertion."""

    identity: ProfessionalIdentity
    tries_left: int | None  # None: the PIN is already verified in this card session
    certificate: bytes  # DER, issued by the professional CA
