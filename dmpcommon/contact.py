"""Notification contacts: an e-mail address or a French mobile number."""

from __future__ import annotations

import re
from enum import StrEnum

from dmpcommon.vocabulary import ContactChannel

__all__ = ["ContactError", "ContactProblem", "normalise_contact"]

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


class ContactProblem(StrEnum):
    """Why a contact is refused."""

    EMAIL_INVALID = "email_invalid"
    MOBILE_INVALID = "mobile_invalid"
    CHANNEL_UNKNOWN = "channel_unknown"


class ContactError(ValueError):
    """A contact that is not a usable e-mail address or French mobile number."""

    def __init__(self, problem: ContactProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def normalise_contact(channel: str, address: str) -> str:
    """Return the contact in canonical form (e-mail domain lower-cased, mobile as +336/+337)."""
    value = address.strip()
    if channel == ContactChannel.EMAIL:
        if len(value) > 254 or not _EMAIL.match(value):
            raise ContactError(ContactProblem.EMAIL_INVALID)
        local, domain = value.rsplit("@", 1)
        return f"{local}@{domain.lower()}"
    if channel == ContactChannel.SMS:
        digits = re.sub(r"[ .\-]", "", value)
        if digits.startswith("+33"):
            digits = "0" + digits[3:]
        elif digits.startswith("0033"):
            digits = "0" + digits[4:]
        if not re.fullmatch(r"0[67][0-9]{8}", digits):
            raise ContactError(ContactProblem.MOBILE_INVALID)
        return "+33" + digits[1:]
    raise ContactError(ContactProblem.CHANNEL_UNKNOWN)
