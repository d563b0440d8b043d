"""Who may open a DMP, in which mode, and which documents they then see. Pure rules.

- Employers, insurers, banks, occupational medicine: always refused.
- Administrative agents: status and creation only, never content; so is a structure the
  register does not know (fail closed), refused content with its own code.
- The patient sees everything; a legal representative all but INVISIBLE_REPRESENTANTS_LEGAUX.
- Normal mode: a professional the patient authorised (or the treating doctor), not blocked.
- Regulator mode: the SAMU regulator, unless the patient refused ETREAT.
- Break-glass: any health professional with a reason, unless the patient refused BTG.
- A professional the patient blocked is refused in every mode.
- Professionals see MASQUE_PS documents only if they wrote them or are the treating doctor,
  or in an emergency mode if MASKED allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from central.professionals.roles import FORBIDDEN_ROLES
from dmpcommon.vocabulary import AccessMode, Role

__all__ = ["Choices", "Decision", "Labels", "Relation", "may_manage", "may_open", "may_see"]

_PROFESSIONALS = frozenset({Role.HEALTH_PROFESSIONAL, Role.SAMU_REGULATOR})


@dataclass(frozen=True, slots=True)
class Choices:
    """The patient's emergency choices."""

    etreat: bool
    btg: bool
    masked_in_emergency: bool


@dataclass(frozen=True, slots=True)
class Relation:
    """The professional as the patient's record knows them."""

    authorised: bool
    blocked: bool


@dataclass(frozen=True, slots=True)
class Labels:
    """A document's confidentiality labels."""

    masked_to_professionals: bool = False
    invisible_to_representatives: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """allowed, or refused with a reason code."""

    allowed: bool
    reason: str = ""


ALLOW = Decision(True)


def _refuse(reason: str) -> Decision:
    return Decision(False, reason)


def may_manage(role: Role) -> Decision:
    """Status check and creation at a kiosk: professionals and agents, never forbidden parties."""
    if role in FORBIDDEN_ROLES:
        return _refuse("forbidden_party")
    if role in (*_PROFESSIONALS, Role.ADMINISTRATIVE_AGENT, Role.UNKNOWN_STRUCTURE):
        return ALLOW
    return _refuse("not_an_operator")


def may_open(
    role: Role, mode: AccessMode, choices: Choices, relation: Relation, *, dmp_open: bool = True
) -> Decision:
    """May this actor open the record's content in this mode?"""
    if role in FORBIDDEN_ROLES:
        return _refuse("forbidden_party")
    if role in (Role.PATIENT, Role.REPRESENTATIVE):
        return ALLOW if mode is AccessMode.NORMAL else _refuse("mode_not_for_patient")
    if role is Role.UNKNOWN_STRUCTURE:
        return _refuse("structure_unknown")  # fail closed: the register does not know it
    if role not in _PROFESSIONALS:
        return _refuse("no_medical_content_for_agents")
    if not dmp_open:
        return _refuse("dmp_closed")
    if relation.blocked:
        return _refuse("blocked_by_patient")
    if mode is AccessMode.NORMAL:
        return ALLOW if relation.authorised else _refuse("not_authorised")
    if mode is AccessMode.REGULATOR:
        if role is not Role.SAMU_REGULATOR:
            return _refuse("not_a_regulator")
        return ALLOW if choices.etreat else _refuse("patient_refused_etreat")
    return ALLOW if choices.btg else _refuse("patient_refused_btg")


def may_see(
    role: Role,
    mode: AccessMode,
    choices: Choices,
    labels: Labels,
    *,
    author: bool = False,
    treating_doctor: bool = False,
) -> bool:
    """Once the record is open: may this actor see this document? A masked document stays
    visible to whoever wrote it and to the treating doctor."""
    if role is Role.PATIENT:
        return True
    if role is Role.REPRESENTATIVE:
        return not labels.invisible_to_representatives
    if role not in _PROFESSIONALS:
        return False
    if not labels.masked_to_professionals or author or treating_doctor:
        return True
    return mode is not AccessMode.NORMAL and choices.masked_in_emergency
