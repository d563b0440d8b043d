"""Who an actor is, for the DMP's rules: derived from the card and the structure register."""

from __future__ import annotations

from central.actors import HEALTH_PROFESSIONS
from dmpcommon.vocabulary import Role

__all__ = ["FORBIDDEN_ROLES", "HEALTH_PROFESSIONS", "SECTOR_FORBIDDEN_ROLE", "Role", "role_for"]


# The law keeps these out of the DMP whatever the patient says (CSP L.1111-18).
FORBIDDEN_ROLES = frozenset({Role.EMPLOYER, Role.INSURER, Role.BANK, Role.OCCUPATIONAL_MEDICINE})
SECTOR_FORBIDDEN_ROLE = {
    "employeur": Role.EMPLOYER,
    "assureur": Role.INSURER,
    "banque": Role.BANK,
    "medecine_travail": Role.OCCUPATIONAL_MEDICINE,
}


def role_for(*, card_type: str, profession: str | None, sector: str | None) -> Role:
    """The role of a card holder working in a structure of this sector."""
    forbidden = SECTOR_FORBIDDEN_ROLE.get(sector or "")
    if forbidden is not None:
        return forbidden
    if sector is None:
        return Role.UNKNOWN_STRUCTURE  # fail closed: it could be anyone's structure
    if card_type != "CPS" or profession not in HEALTH_PROFESSIONS:
        return Role.ADMINISTRATIVE_AGENT  # least privilege: status and creation only
    if profession == "10" and sector == "samu":
        return Role.SAMU_REGULATOR
    return Role.HEALTH_PROFESSIONAL
