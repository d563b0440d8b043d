"""Every cell of role x mode x patient choices x relation x document label.

The expectation is written here from DESIGN.md's words, separately from central.dmp.policy,
so that a slip in either shows up as a disagreement.
"""

from __future__ import annotations

import itertools

import pytest

from central.dmp.policy import Choices, Labels, Relation, may_manage, may_open, may_see
from central.professionals.roles import Role
from dmpcommon.vocabulary import AccessMode

FORBIDDEN = {Role.EMPLOYER, Role.INSURER, Role.BANK, Role.OCCUPATIONAL_MEDICINE}


def expected(
    role: Role,
    mode: AccessMode,
    etreat: bool,
    btg: bool,
    masked: bool,
    authorised: bool,
    blocked: bool,
    masque_ps: bool,
    invisible_rl: bool,
) -> bool:
    """May this actor, in this mode, read this document? (DESIGN.md, "Who may read")."""
    if role in FORBIDDEN:
        return False  # even with the patient's agreement
    if role in (Role.ADMINISTRATIVE_AGENT, Role.UNKNOWN_STRUCTURE):
        return False  # status and creation only
    if role is Role.PATIENT:
        return mode is AccessMode.NORMAL
    if role is Role.REPRESENTATIVE:
        return mode is AccessMode.NORMAL and not invisible_rl
    # Health professionals and the SAMU regulator.
    if blocked:
        return False
    if mode is AccessMode.NORMAL:
        return authorised and not masque_ps
    if mode is AccessMode.REGULATOR:
        if role is not Role.SAMU_REGULATOR or not etreat:
            return False
    elif not btg:
        return False
    return (not masque_ps) or masked


CELLS = list(itertools.product(Role, AccessMode, *([(False, True)] * 7)))


def test_the_matrix_has_every_cell() -> None:
    assert len(CELLS) == len(Role) * len(AccessMode) * 2**7 == 10 * 3 * 128


@pytest.mark.parametrize("role", list(Role))
def test_every_cell(role: Role) -> None:
    disagreements = []
    for cell in (c for c in CELLS if c[0] is role):
        _, mode, etreat, btg, masked, authorised, blocked, masque_ps, invisible_rl = cell
        choices = Choices(etreat=etreat, btg=btg, masked_in_emergency=masked)
        decision = may_open(role, mode, choices, Relation(authorised=authorised, blocked=blocked))
        actual = decision.allowed and may_see(role, mode, choices, Labels(masque_ps, invisible_rl))
        if actual != expected(*cell):
            disagreements.append((cell, decision.reason))
    assert disagreements == []


def test_refusals_say_why() -> None:
    open_choices = Choices(True, True, True)
    nobody = Relation(authorised=False, blocked=False)
    cases = {
        (Role.INSURER, AccessMode.NORMAL, Relation(True, False)): "forbidden_party",
        (
            Role.ADMINISTRATIVE_AGENT,
            AccessMode.NORMAL,
            Relation(True, False),
        ): "no_medical_content_for_agents",
        (Role.HEALTH_PROFESSIONAL, AccessMode.NORMAL, nobody): "not_authorised",
        (Role.UNKNOWN_STRUCTURE, AccessMode.NORMAL, Relation(True, False)): "structure_unknown",
        (Role.HEALTH_PROFESSIONAL, AccessMode.REGULATOR, nobody): "not_a_regulator",
        (
            Role.HEALTH_PROFESSIONAL,
            AccessMode.BREAK_GLASS,
            Relation(False, True),
        ): "blocked_by_patient",
    }
    for (role, mode, relation), reason in cases.items():
        assert may_open(role, mode, open_choices, relation).reason == reason
    refused = Choices(etreat=False, btg=False, masked_in_emergency=False)
    assert (
        may_open(Role.SAMU_REGULATOR, AccessMode.REGULATOR, refused, nobody).reason
        == "patient_refused_etreat"
    )
    assert (
        may_open(Role.HEALTH_PROFESSIONAL, AccessMode.BREAK_GLASS, refused, nobody).reason
        == "patient_refused_btg"
    )


def test_closed_dmp_is_shut_to_professionals_only() -> None:
    choices, relation = Choices(True, True, True), Relation(True, False)
    assert not may_open(
        Role.HEALTH_PROFESSIONAL, AccessMode.NORMAL, choices, relation, dmp_open=False
    ).allowed
    assert may_open(Role.PATIENT, AccessMode.NORMAL, choices, relation, dmp_open=False).allowed


@pytest.mark.parametrize("role", list(Role))
def test_who_may_check_status_and_create(role: Role) -> None:
    operators = {
        Role.HEALTH_PROFESSIONAL,
        Role.SAMU_REGULATOR,
        Role.ADMINISTRATIVE_AGENT,
        Role.UNKNOWN_STRUCTURE,  # a status and a creation, as an agent, never content
    }
    assert may_manage(role).allowed == (role in operators)
