"""Identifiers both sides check or draw: professionals' numbers, the patient's access sheet.

Professionals:
- RPPS: 11 digits, the last a Luhn key over the first ten.
- ADELI: 9 digits, the last a Luhn key (the older register, still used by some professions).
- A professional card's national identifier (`id_nat`, "identifiant national PS") is a type
  digit and the number: "8" + RPPS, "0" + ADELI. Establishment staff cards (CPE) carry other
  types ("3" + FINESS + an internal number...), which never name a health professional.

The access sheet: an identifier read aloud and copied from paper (no 0/O, 1/I/L) and a
numeric activation code; the patient's one-time login codes are numeric too. Drawn from the
CSPRNG, here only, so that the kiosk (which prints the sheet offline) and the service agree.
"""

from __future__ import annotations

import re
import secrets
from enum import StrEnum

__all__ = [
    "ACCESS_IDENTIFIER_ALPHABET",
    "ACCESS_IDENTIFIER_LENGTH",
    "ACCESS_IDENTIFIER_PATTERN",
    "ACTIVATION_CODE_DAYS",
    "ACTIVATION_CODE_LENGTH",
    "ACTIVATION_CODE_PATTERN",
    "ONE_TIME_CODE_LENGTH",
    "IdentifierError",
    "IdentifierProblem",
    "IdNatType",
    "adeli_of_id_nat",
    "check_adeli",
    "check_health_professional_id_nat",
    "check_rpps",
    "id_nat_of_adeli",
    "id_nat_of_rpps",
    "is_access_identifier",
    "luhn_key",
    "luhn_valid",
    "new_access_identifier",
    "new_activation_code",
    "new_numeric_code",
    "rpps_of_id_nat",
]

ACCESS_IDENTIFIER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
ACCESS_IDENTIFIER_LENGTH = 10  # 31^10, about 50 bits
ACCESS_IDENTIFIER_PATTERN = rf"^[{ACCESS_IDENTIFIER_ALPHABET}]{{{ACCESS_IDENTIFIER_LENGTH}}}$"
ACTIVATION_CODE_LENGTH = 8
ACTIVATION_CODE_DAYS = 30  # how long a printed activation code works (the sheet says it)
ACTIVATION_CODE_PATTERN = rf"^[0-9]{{{ACTIVATION_CODE_LENGTH}}}$"
ONE_TIME_CODE_LENGTH = 6

_ACCESS_IDENTIFIER = re.compile(ACCESS_IDENTIFIER_PATTERN)
_SEPARATORS = re.compile(r"[\s.\-]")


class IdNatType(StrEnum):
    """The first character of a card's national identifier: what number follows."""

    ADELI = "0"
    RPPS = "8"


class IdentifierProblem(StrEnum):
    """Why a number is refused."""

    FORMAT = "format"  # wrong length or characters
    KEY = "key"  # the check digit does not match
    NOT_A_HEALTH_PROFESSIONAL = "not_a_health_professional"  # a CPE's id, a structure...


class IdentifierError(ValueError):
    """A number that is not what it claims to be; `problem` says why, `kind` what it was."""

    def __init__(self, kind: str, problem: IdentifierProblem) -> None:
        super().__init__(f"{kind}: {problem.value}")
        self.kind = kind
        self.problem = problem


def luhn_key(body: str) -> int:
    """The Luhn check digit to append to `body` (decimal digits)."""
    if not (body.isascii() and body.isdigit()):
        raise ValueError("Luhn works on decimal digits")
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # doubled: the key will sit to the right of this digit
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    """Whether the last digit is the Luhn key of the others."""
    if len(number) < 2 or not (number.isascii() and number.isdigit()):
        return False
    return luhn_key(number[:-1]) == int(number[-1])


def _check_keyed(kind: str, text: str, length: int) -> str:
    number = _SEPARATORS.sub("", text)
    if len(number) != length or not (number.isascii() and number.isdigit()):
        raise IdentifierError(kind, IdentifierProblem.FORMAT)
    if not luhn_valid(number):
        raise IdentifierError(kind, IdentifierProblem.KEY)
    return number


def check_rpps(text: str) -> str:
    """The RPPS number without separators, or IdentifierError (11 digits, Luhn key)."""
    return _check_keyed("rpps", text, 11)


def check_adeli(text: str) -> str:
    """The ADELI number without separators, or IdentifierError (9 digits, Luhn key)."""
    return _check_keyed("adeli", text, 9)


def id_nat_of_rpps(rpps: str) -> str:
    """The card identifier of an RPPS-registered professional."""
    return IdNatType.RPPS + check_rpps(rpps)


def id_nat_of_adeli(adeli: str) -> str:
    """The card identifier of an ADELI-registered professional."""
    return IdNatType.ADELI + check_adeli(adeli)


def rpps_of_id_nat(id_nat: str) -> str | None:
    """The RPPS number inside a card identifier, or None if it is not an RPPS one."""
    if len(id_nat) == 12 and id_nat.startswith(IdNatType.RPPS):
        try:
            return check_rpps(id_nat[1:])
        except IdentifierError:
            return None
    return None


def adeli_of_id_nat(id_nat: str) -> str | None:
    """The ADELI number inside a card identifier, or None if it is not an ADELI one."""
    if len(id_nat) == 10 and id_nat.startswith(IdNatType.ADELI):
        try:
            return check_adeli(id_nat[1:])
        except IdentifierError:
            return None
    return None


def check_health_professional_id_nat(id_nat: str) -> str:
    """A card identifier that names a health professional ("8" + RPPS or "0" + ADELI, keys
    checked), or IdentifierError. What the patient authorises, blocks or designates."""
    kinds = {IdNatType.RPPS: (check_rpps, 12), IdNatType.ADELI: (check_adeli, 10)}
    for prefix, (check, length) in kinds.items():
        if id_nat.startswith(prefix):
            if len(id_nat) != length:
                raise IdentifierError("id_nat", IdentifierProblem.FORMAT)
            return prefix + check(id_nat[1:])
    raise IdentifierError("id_nat", IdentifierProblem.NOT_A_HEALTH_PROFESSIONAL)


def is_access_identifier(text: str) -> bool:
    """Whether this is an access-sheet identifier as drawn here."""
    return bool(_ACCESS_IDENTIFIER.fullmatch(text))


def new_access_identifier() -> str:
    """A fresh access-sheet identifier."""
    return "".join(
        secrets.choice(ACCESS_IDENTIFIER_ALPHABET) for _ in range(ACCESS_IDENTIFIER_LENGTH)
    )


def new_numeric_code(digits: int) -> str:
    """A numeric code from the CSPRNG, leading zeros kept."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def new_activation_code() -> str:
    """A fresh provisional activation code for the access sheet."""
    return new_numeric_code(ACTIVATION_CODE_LENGTH)
