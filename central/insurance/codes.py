"""The codes of the field, checked per system: a medicine's CIP13 (13 digits, its EAN-13 key),
an act's NGAP letter key and coefficient or CCAM code, a lab test's NABM code. Pure rules."""

from __future__ import annotations

import re

from central.dmp.schemas import CodeSystem

__all__ = ["CodeProblem", "check_code", "cip13_key"]

_CCAM = re.compile(r"[A-Z]{4}[0-9]{3}")
_NABM = re.compile(r"[0-9]{4}")
# A letter key, then its coefficient if the act has one: "G", "AMI 1.5", "AMS 7.5".
_NGAP = re.compile(r"[A-Z]{1,4}( (?!0[0-9])[0-9]{1,3}(\.[0-9]{1,2})?)?")


class CodeProblem(ValueError):
    """A code that its system does not allow (the message names the rule, never the code)."""


def cip13_key(first12: str) -> int:
    """The EAN-13 key of a CIP13's first twelve digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return (10 - total % 10) % 10


def check_code(system: CodeSystem, code: str) -> None:
    """Raise CodeProblem unless `code` is well formed in `system`."""
    if system is CodeSystem.CIP13:
        if not (len(code) == 13 and code.isascii() and code.isdigit()):
            raise CodeProblem("a CIP13 has 13 digits")
        if not code.startswith("3400"):
            raise CodeProblem("a CIP13 starts with 3400")
        if cip13_key(code[:12]) != int(code[12]):
            raise CodeProblem("the CIP13's key digit does not match")
    elif system is CodeSystem.NABM:
        if not _NABM.fullmatch(code):
            raise CodeProblem("a NABM code has 4 digits")
    elif system is CodeSystem.CCAM:
        if not _CCAM.fullmatch(code):
            raise CodeProblem("a CCAM code is 4 capital letters and 3 digits")
    elif not _NGAP.fullmatch(code):
        raise CodeProblem("a NGAP code is a letter key and an optional coefficient ('AMI 1.5')")
