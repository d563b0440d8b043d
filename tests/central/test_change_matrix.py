"""Every cell of "who may change what" (role x change x patient present x at creation).

The expectation is DESIGN.md's table, written out here cell by cell and apart from
central.dmp.changes, so that a slip in either shows as a disagreement.
"""

from __future__ import annotations

import itertools

import pytest

from central.dmp.changes import (
    Authorship,
    Change,
    DocumentChange,
    Standing,
    may_change,
    may_change_document,
)
from dmpcommon.vocabulary import Role

# What each kind of actor may do: "yes" always, "present" with the patient present,
# "creation" with the patient present and only among the choices made at creation.
YES, PRESENT, CREATION, NO = "yes", "present", "creation", "no"
TABLE: dict[str, dict[Change, str]] = {
    "patient": {
        Change.CREATE: YES,
        Change.AUTHORISE_SELF: NO,
        Change.AUTHORISE_OTHER: YES,
        Change.REVOKE_OWN: NO,
        Change.REVOKE_OTHER: YES,
        Change.BLOCK: YES,
        Change.UNBLOCK: YES,
        Change.DESIGNATE_TREATING_DOCTOR: YES,
        Change.SET_CONTACT: YES,
        Change.REISSUE_ACTIVATION: NO,
        Change.CLOSE: YES,
        Change.REOPEN: YES,
    },
    "professional": {
        Change.CREATE: PRESENT,
        Change.AUTHORISE_SELF: PRESENT,
        Change.AUTHORISE_OTHER: CREATION,
        Change.REVOKE_OWN: YES,
        Change.REVOKE_OTHER: NO,
        Change.BLOCK: NO,
        Change.UNBLOCK: NO,
        Change.DESIGNATE_TREATING_DOCTOR: PRESENT,
        Change.SET_CONTACT: PRESENT,
        Change.REISSUE_ACTIVATION: PRESENT,
        Change.CLOSE: PRESENT,
        Change.REOPEN: PRESENT,
    },
    "agent": {
        Change.CREATE: PRESENT,
        Change.AUTHORISE_SELF: NO,
        Change.AUTHORISE_OTHER: CREATION,
        Change.REVOKE_OWN: NO,
        Change.REVOKE_OTHER: NO,
        Change.BLOCK: NO,
        Change.UNBLOCK: NO,
        Change.DESIGNATE_TREATING_DOCTOR: PRESENT,
        Change.SET_CONTACT: PRESENT,
        Change.REISSUE_ACTIVATION: PRESENT,
        Change.CLOSE: PRESENT,
        Change.REOPEN: PRESENT,
    },
    "unknown structure": {  # fail closed: what an agent does to create, nothing else
        **dict.fromkeys(Change, NO),
        Change.CREATE: PRESENT,
        Change.AUTHORISE_OTHER: CREATION,
    },
    "forbidden party": dict.fromkeys(Change, NO),
}
KIND = {
    Role.PATIENT: "patient",
    Role.REPRESENTATIVE: "patient",
    Role.HEALTH_PROFESSIONAL: "professional",
    Role.SAMU_REGULATOR: "professional",
    Role.ADMINISTRATIVE_AGENT: "agent",
    Role.UNKNOWN_STRUCTURE: "unknown structure",
    Role.EMPLOYER: "forbidden party",
    Role.INSURER: "forbidden party",
    Role.BANK: "forbidden party",
    Role.OCCUPATIONAL_MEDICINE: "forbidden party",
}
CELLS = list(itertools.product(Role, Change, (False, True), (False, True)))


def expected(role: Role, change: Change, present: bool, at_creation: bool) -> bool:
    rule = TABLE[KIND[role]][change]
    if rule == YES:
        return True
    if rule == PRESENT:
        return present
    if rule == CREATION:
        return present and at_creation
    return False


def test_the_table_covers_every_role_and_change() -> None:
    assert set(KIND) == set(Role)
    assert all(set(row) == set(Change) for row in TABLE.values())
    assert len(CELLS) == len(Role) * len(Change) * 4


@pytest.mark.parametrize(("role", "change", "present", "at_creation"), CELLS)
def test_every_cell(role: Role, change: Change, present: bool, at_creation: bool) -> None:
    decision = may_change(change, Standing(role, present=present, at_creation=at_creation))
    assert decision.allowed is expected(role, change, present, at_creation)
    assert decision.allowed or decision.reason  # a refusal always says why


@pytest.mark.parametrize(
    ("role", "change", "present", "reason"),
    [
        (Role.INSURER, Change.CREATE, True, "forbidden_party"),
        (Role.HEALTH_PROFESSIONAL, Change.AUTHORISE_SELF, False, "patient_absent"),
        (Role.HEALTH_PROFESSIONAL, Change.BLOCK, True, "only_the_patient_blocks"),
        (Role.ADMINISTRATIVE_AGENT, Change.UNBLOCK, True, "only_the_patient_blocks"),
        (Role.ADMINISTRATIVE_AGENT, Change.AUTHORISE_SELF, True, "agents_are_never_authorised"),
        (
            Role.HEALTH_PROFESSIONAL,
            Change.AUTHORISE_OTHER,
            True,
            "only_the_patient_authorises_others",
        ),
        (Role.SAMU_REGULATOR, Change.REVOKE_OTHER, True, "only_the_patient_revokes_others"),
        (Role.UNKNOWN_STRUCTURE, Change.SET_CONTACT, True, "structure_unknown"),
        (Role.PATIENT, Change.REISSUE_ACTIVATION, False, "not_for_the_patient"),
    ],
)
def test_refusals_name_their_reason(role: Role, change: Change, present: bool, reason: str) -> None:
    assert may_change(change, Standing(role, present=present)).reason == reason


# Documents: "own" = the asker wrote it (the patient: the patient's side did); "same" = the
# replacement keeps the category. OWN_SAME allows only one's own, category kept.
OWN_SAME, OWN, ANY = "own, same category", "own", "any"
DOCUMENTS: dict[str, dict[DocumentChange, str]] = {
    "patient": {
        DocumentChange.REPLACE: OWN_SAME,
        DocumentChange.MASK: ANY,
        DocumentChange.DELETE: OWN,
    },
    "professional": {
        DocumentChange.REPLACE: OWN_SAME,
        DocumentChange.MASK: NO,  # at deposit only
        DocumentChange.DELETE: NO,
    },
    "agent": dict.fromkeys(DocumentChange, NO),
    "unknown structure": dict.fromkeys(DocumentChange, NO),
    "forbidden party": dict.fromkeys(DocumentChange, NO),
}
DOCUMENT_CELLS = list(itertools.product(Role, DocumentChange, (False, True), (False, True)))


@pytest.mark.parametrize(("role", "change", "own", "same"), DOCUMENT_CELLS)
def test_every_document_cell(role: Role, change: DocumentChange, own: bool, same: bool) -> None:
    rule = DOCUMENTS[KIND[role]][change]
    allowed = rule == ANY or (rule == OWN and own) or (rule == OWN_SAME and own and same)
    decision = may_change_document(change, role, Authorship(own=own, same_category=same))
    assert decision.allowed is allowed
    assert decision.allowed or decision.reason
