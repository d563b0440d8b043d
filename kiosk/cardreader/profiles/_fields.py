"""Field decoders shared by the card profiles."""

from __future__ import annotations

import datetime as dt

from kiosk.cardreader.tlv import Tlv, find
from kiosk.core.errors import CardDataError


def required(tlvs: list[Tlv], tag: int, what: str) -> bytes:
    """The value of a mandatory tag."""
    found = find(tlvs, tag)
    if found is None:
        raise CardDataError(f"missing {what} (tag {tag:02X})")
    return found.value


def text(value: bytes, what: str) -> str:
    """ISO-8859-1 text, upper case on the card; control characters refused."""
    decoded = value.decode("iso-8859-1").strip()
    if not decoded or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in decoded):
        raise CardDataError(f"malformed {what}")
    return decoded


def ascii_digits(value: bytes, what: str, length: int | None = None) -> str:
    """ASCII digits, optionally of an exact length."""
    if not value.isdigit() or (length is not None and len(value) != length):
        raise CardDataError(f"malformed {what}")
    return value.decode("ascii")


def card_date(value: bytes, what: str) -> dt.date:
    """A YYYYMMDD date that must be a real calendar date."""
    digits = ascii_digits(value, what, 8)
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError as exc:
        raise CardDataError(f"malformed {what}") from exc


def birth_date(value: bytes) -> str:
    """A birth date as YYYY-MM-DD.

    Kept as text: Vitale cards carry "lunar" dates (day or month 00, or day above 31) for
    people born where the civil register gave no exact date, and those must still read.
    """
    digits = ascii_digits(value, "birth date", 8)
    if not 1850 <= int(digits[:4]) <= 2200:
        raise CardDataError("malformed birth date")
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
