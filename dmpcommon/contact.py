"""Notification contacts: an e-mail address or a French mobile number."""

from __future__ import annotations

import re

__all__ = ["ContactError", "normalise_contact"]

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


class ContactError(ValueError):
    """A contact that is not a usable e-mail address or French mobile number."""


def normalise_contact(channel: str, address: str) -> str:
    """Return the contact in canonical form (e-mail lower-cased, mobile as +336/+337...)."""
    value = address.strip()
    if channel == "email":
        if len(value) > 254 or not _EMAIL.match(value):
            raise ContactError("adresse e-mail invalide")
        local, domain = value.rsplit("@", 1)
        return f"{local}@{domain.lower()}"
    if channel == "sms":
        digits = re.sub(r"[ .\-]", "", value)
        if digits.startswith("+33"):
            digits = "0" + digits[3:]
        elif digits.startswith("0033"):
            digits = "0" + digits[4:]
        if not re.fullmatch(r"0[67][0-9]{8}", digits):
            raise ContactError("numéro de mobile français invalide")
        return "+33" + digits[1:]
    raise ContactError("canal inconnu")
