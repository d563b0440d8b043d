"""The NIR (numéro d'inscription au répertoire) and its control key.

A NIR has 15 characters: 13 for the person (sex, year and month of birth, department,
commune, order number) and a 2-digit key equal to 97 - (the 13 digits mod 97). Corsica's
departments 2A and 2B count as 19 and 18 in that computation.
"""

from __future__ import annotations

import re

__all__ = ["InvalidNirError", "check_nir", "is_valid_nir", "nir_key"]

# Sex 1-4 (3/4: born abroad before registration) or 7/8 (temporary number), then digits,
# with the department allowed to be 2A or 2B.
_NIR_RE = re.compile(r"^[1-478][0-9]{4}(?:[0-9]{2}|2[AB])[0-9]{8}$")


class InvalidNirError(ValueError):
    """A NIR whose shape or control key is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def nir_key(body: str) -> int:
    """Return the control key of the first 13 characters of a NIR."""
    if len(body) != 13:
        raise InvalidNirError("length")
    digits = body[:5] + body[5:7].replace("2A", "19").replace("2B", "18") + body[7:]
    if not digits.isdigit() or not digits.isascii():
        raise InvalidNirError("characters")
    return 97 - (int(digits) % 97)


def check_nir(nir: str) -> str:
    """Return the NIR upper-cased if its shape and key are right, else raise InvalidNirError."""
    candidate = nir.strip().upper()
    if len(candidate) != 15:
        raise InvalidNirError("length")
    if not _NIR_RE.match(candidate):
        raise InvalidNirError("characters")
    if nir_key(candidate[:13]) != int(candidate[13:]):
        raise InvalidNirError("key")
    return candidate


def is_valid_nir(nir: str) -> bool:
    """Tell whether a NIR has a valid shape and control key."""
    try:
        check_nir(nir)
    except InvalidNirError:
        return False
    return True
