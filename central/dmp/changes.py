"""Who may change what on a DMP: the patient holds the keys. Pure rules (DESIGN.md, "Who may
change what"); the services say which change is asked and whether the patient is present,
and carry out the decision (central.dmp.common.enforce).

| change                      | patient | professional, present | absent | agent, present |
| --------------------------- | ------- | --------------------- | ------ | -------------- |
| create (consent)            | yes     | yes                   | no     | yes            |
| authorise oneself           | -       | yes (agreement)       | no     | never          |
| authorise someone else      | yes     | at creation only      | no     | at creation    |
| revoke one's own            | -       | yes                   | yes    | -              |
| revoke someone else's       | yes     | no                    | no     | no             |
| block / unblock             | yes     | no                    | no     | no             |
| designate the treating doctor | yes   | yes                   | no     | yes            |
| change the contact          | yes     | yes                   | no     | yes            |
| issue a new activation code | -       | yes                   | no     | yes            |
| close / reopen              | yes     | yes (patient's asking)| no     | yes            |

Documents (may_change_document): a professional replaces only its own documents, keeping the
category; the patient replaces and deletes only their own notes, and masks or unmasks any.

The SAMU regulator is a professional here. Employers, insurers, banks and occupational
medicine change nothing, ever. A structure the register does not know (fail closed) may
only create, with the patient present, as an agent would.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from central.dmp.policy import ALLOW, Decision
from central.professionals.roles import FORBIDDEN_ROLES
from dmpcommon.vocabulary import Role

__all__ = [
    "Authorship",
    "Change",
    "DocumentChange",
    "Standing",
    "may_change",
    "may_change_document",
]

_PATIENTS = frozenset({Role.PATIENT, Role.REPRESENTATIVE})
_PROFESSIONALS = frozenset({Role.HEALTH_PROFESSIONAL, Role.SAMU_REGULATOR})


class Change(StrEnum):
    """A change to a DMP that the rules tell apart."""

    CREATE = "create"
    AUTHORISE_SELF = "authorise_self"
    AUTHORISE_OTHER = "authorise_other"
    REVOKE_OWN = "revoke_own"
    REVOKE_OTHER = "revoke_other"
    BLOCK = "block"
    UNBLOCK = "unblock"
    DESIGNATE_TREATING_DOCTOR = "designate_treating_doctor"
    SET_CONTACT = "set_contact"
    REISSUE_ACTIVATION = "reissue_activation"
    CLOSE = "close"
    REOPEN = "reopen"


@dataclass(frozen=True, slots=True)
class Standing:
    """Who asks, as these rules read it."""

    role: Role
    present: bool = False  # an operator: the patient's card read and qualified just before
    at_creation: bool = False  # the change is one of the patient's choices at creation
    # Seen by their card, not only found by an identity document's traits (which anyone who
    # knows the patient could type): needed for every change after the creation.
    by_card: bool = True


def _no(reason: str) -> Decision:
    return Decision(False, reason)


_PATIENT_MAY = frozenset(
    {
        Change.CREATE,
        Change.AUTHORISE_OTHER,
        Change.REVOKE_OTHER,
        Change.BLOCK,
        Change.UNBLOCK,
        Change.DESIGNATE_TREATING_DOCTOR,
        Change.SET_CONTACT,
        Change.CLOSE,
        Change.REOPEN,
    }
)
# What an operator may do with the patient present (and only then).
_PROFESSIONAL_PRESENT = frozenset(
    {
        Change.CREATE,
        Change.AUTHORISE_SELF,
        Change.DESIGNATE_TREATING_DOCTOR,
        Change.SET_CONTACT,
        Change.REISSUE_ACTIVATION,
        Change.CLOSE,
        Change.REOPEN,
    }
)
_AGENT_PRESENT = _PROFESSIONAL_PRESENT - {Change.AUTHORISE_SELF}


def may_change(change: Change, standing: Standing) -> Decision:
    """May whoever this is make this change? A refusal says why, as a code."""
    role = standing.role
    if role in FORBIDDEN_ROLES:
        return _no("forbidden_party")
    if role in _PATIENTS:
        return ALLOW if change in _PATIENT_MAY else _no("not_for_the_patient")
    if change in (Change.BLOCK, Change.UNBLOCK):
        return _no("only_the_patient_blocks")
    if change is Change.REVOKE_OTHER:
        return _no("only_the_patient_revokes_others")
    if role is Role.UNKNOWN_STRUCTURE:
        if change is Change.CREATE or (change is Change.AUTHORISE_OTHER and standing.at_creation):
            return ALLOW if standing.present else _no("patient_absent")
        return _no("structure_unknown")
    if change is Change.REVOKE_OWN:
        return ALLOW if role in _PROFESSIONALS else _no("agents_are_never_authorised")
    if change is Change.AUTHORISE_SELF and role not in _PROFESSIONALS:
        return _no("agents_are_never_authorised")
    if change is Change.AUTHORISE_OTHER and not standing.at_creation:
        return _no("only_the_patient_authorises_others")
    allowed = _PROFESSIONAL_PRESENT if role in _PROFESSIONALS else _AGENT_PRESENT
    if change not in allowed and change is not Change.AUTHORISE_OTHER:
        return _no("not_for_operators")
    if not standing.present:
        return _no("patient_absent")
    creating = change is Change.CREATE or standing.at_creation
    return ALLOW if creating or standing.by_card else _no("vitale_card_required")


class DocumentChange(StrEnum):
    """A change to one document once it is in the DMP (masking at deposit is part of adding)."""

    REPLACE = "replace_document"
    MASK = "mask_document"  # mask or unmask
    DELETE = "delete_document"


@dataclass(frozen=True, slots=True)
class Authorship:
    """The document as the asker stands to it."""

    own: bool  # written by the asker (for the patient: by the patient or the representative)
    same_category: bool = True  # the new version keeps the category (replacement)


def may_change_document(change: DocumentChange, role: Role, authorship: Authorship) -> Decision:
    """May this actor change this document? Whether they may open the record at all (authorised,
    not blocked, DMP open) is may_open's question, asked first."""
    if role in FORBIDDEN_ROLES:
        return _no("forbidden_party")
    if role is Role.UNKNOWN_STRUCTURE:
        return _no("structure_unknown")
    if role not in _PATIENTS | _PROFESSIONALS:
        return _no("no_medical_content_for_agents")
    if change is DocumentChange.MASK:
        return ALLOW if role in _PATIENTS else _no("only_the_patient_masks")
    if change is DocumentChange.DELETE and role not in _PATIENTS:
        return _no("only_the_patient_deletes")
    if not authorship.own:
        return _no("not_your_document")
    if change is DocumentChange.REPLACE and not authorship.same_category:
        return _no("category_changed")
    return ALLOW
