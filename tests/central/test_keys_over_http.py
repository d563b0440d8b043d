"""Who may change what, over real HTTP on both databases: each kind of operator, the patient
present or not, tries each change a kiosk can ask of the service, on a record set up for it.

The expectation is written here, from DESIGN.md's table, apart from the code and from the pure
matrix (test_change_matrix). The changes a kiosk only queues (a contact, the treating doctor)
are refused or allowed through the real queue in test_contacts and test_ingest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from central.dmp.models import Dmp
from tests.support.central import Professional, Server, login, make_professional
from tests.support.dmp import (
    JEANNE,
    PHARMACIST,
    PHYSICIAN,
    add_doc,
    create,
    patient_sets,
    patient_token,
    present,
)

OTHER = "810100888881"  # a physician the patient authorised, who never logged in here

CHANGES = (
    "create",
    "authorise_self",
    "authorise_other",
    "revoke_own",
    "revoke_other",
    "block",
    "unblock",
    "reissue_activation",
    "close",
    "reopen",
    "add_document",
    "replace_own_document",
    "replace_others_document",
)
_AT_THE_COUNTER = {"create", "authorise_self", "reissue_activation", "close", "reopen"}
_AUTHORED = {"revoke_own", "add_document", "replace_own_document"}
# Who may do what (DESIGN.md). A professional the patient authorised adds documents and
# replaces its own; with the patient at the counter it also creates, authorises itself,
# re-issues the code, closes and reopens at the patient's request. An agent does the counter's
# administrative part only. Nobody but the patient authorises others, revokes others, blocks
# or unblocks; nobody replaces another's document.
ALLOWED: dict[str, set[str]] = {
    "professional, patient present": _AT_THE_COUNTER | _AUTHORED,
    "professional, patient absent": _AUTHORED,
    "treating doctor, patient absent": _AUTHORED,
    "SAMU regulator, patient present": _AT_THE_COUNTER | _AUTHORED,
    "agent, patient present": {"create", "reissue_activation", "close", "reopen"},
    "unknown structure, patient present": {"create"},
    "forbidden party": set(),
    # Blocked: nothing of the record's content, never authorised again by itself, and no code
    # to the patient's own pages; at the patient's request it still closes or reopens, and it
    # may drop an authorisation it no longer has. (Creating is asked where no record, so no
    # block, exists.)
    "blocked professional, patient present": {
        "create",
        "close",
        "reopen",
        "revoke_own",
    },
}


@dataclass(frozen=True)
class Asker:
    card: str  # which card: a conftest fixture name, or one made here
    present: bool
    treating_doctor: bool = False
    blocked: bool = False


ASKERS = {
    "professional, patient present": Asker("pharmacist", present=True),
    "professional, patient absent": Asker("pharmacist", present=False),
    "treating doctor, patient absent": Asker("physician", present=False, treating_doctor=True),
    "SAMU regulator, patient present": Asker("regulator", present=True),
    "agent, patient present": Asker("agent", present=True),
    "unknown structure, patient present": Asker("stranger", present=True),
    "forbidden party": Asker("insurer", present=False),
    "blocked professional, patient present": Asker("pharmacist", present=True, blocked=True),
}
_CARDS: dict[str, Callable[[], Professional]] = {
    "insurer": lambda: make_professional(id_nat="810100777779", structure_id="75200000000017"),
    "stranger": lambda: make_professional(id_nat="810100999985", structure_id="999999999"),
}
_HEALTH = {"pharmacist", "physician", "regulator"}


def test_the_expectation_covers_every_asker_and_change() -> None:
    assert set(ALLOWED) == set(ASKERS)
    assert all(allowed <= set(CHANGES) for allowed in ALLOWED.values())


def _setup(
    server: Server, agent: str, mine: tuple[str, str], asker: Asker, change: str, author: str
) -> dict[str, Any]:
    """Jeanne's record as the change needs it, made by the agent with Jeanne there; returns
    the documents to replace (own, another's)."""
    me, token = mine
    with server.state.unit_of_work() as db:
        db.execute(delete(Dmp).where(Dmp.ins == JEANNE))  # the rest goes with it (cascade)
    if change == "create":
        return {}
    authorised = [OTHER, PHYSICIAN if me != PHYSICIAN else PHARMACIST]
    if asker.card in _HEALTH and (change in _AUTHORED or asker.blocked or "replace" in change):
        authorised.append(me)
    created = create(
        server,
        agent,
        authorised_professionals=list(dict.fromkeys(authorised)),
        **({"treating_doctor": me} if asker.treating_doctor else {}),
    )
    patient = patient_token(server, created)
    docs = {}
    if change.startswith("replace"):
        docs["others"] = add_doc(server, author, JEANNE, "medications", "Metformine")["id"]
        docs["own"] = docs["others"]  # one who cannot write has no own document
        if me in authorised:
            docs["own"] = add_doc(server, token, JEANNE, "medications", "Mine")["id"]
    if change == "unblock":
        assert patient_sets(server, patient, OTHER, "block").status_code == 204
    if change == "reopen":
        with server.client(patient) as client:
            assert client.post("/v1/patient/close").status_code == 204
    if asker.blocked:
        assert patient_sets(server, patient, me, "block").status_code == 204
    return docs


def _ask(server: Server, token: str, me: str, change: str, docs: dict[str, Any]) -> httpx.Response:
    agreed = {"patient_agreement": True}
    pro = f"/v1/dmp/{JEANNE}/professionals"
    doc = {"category": "medications", "title": "T", "content": "c", "document_date": "2026-11-30"}
    calls: dict[str, tuple[str, str, dict[str, Any] | None]] = {
        "create": (
            "POST",
            "/v1/dmp",
            {"ins": JEANNE, "consent": True, "information_version": "2026-12"},
        ),
        "authorise_self": ("PUT", f"{pro}/{me}", {"action": "authorise", **agreed}),
        "authorise_other": ("PUT", f"{pro}/{OTHER}", {"action": "authorise", **agreed}),
        "revoke_own": ("PUT", f"{pro}/{me}", {"action": "revoke"}),
        "revoke_other": ("PUT", f"{pro}/{OTHER}", {"action": "revoke"}),
        "block": ("PUT", f"{pro}/{OTHER}", {"action": "block"}),
        "unblock": ("PUT", f"{pro}/{OTHER}", {"action": "unblock"}),
        "reissue_activation": ("POST", f"/v1/dmp/{JEANNE}/activation", None),
        "close": ("POST", f"/v1/dmp/{JEANNE}/close", None),
        "reopen": ("POST", f"/v1/dmp/{JEANNE}/reopen", None),
        "add_document": ("POST", f"/v1/dmp/{JEANNE}/documents", doc),
        "replace_own_document": (
            "POST",
            f"/v1/dmp/{JEANNE}/documents",
            {**doc, "replaces": docs.get("own")},
        ),
        "replace_others_document": (
            "POST",
            f"/v1/dmp/{JEANNE}/documents",
            {**doc, "replaces": docs.get("others")},
        ),
    }
    method, path, body = calls[change]
    with server.client(token) as client:
        return client.request(method, path, json=body)


@pytest.mark.parametrize("who", list(ASKERS))
def test_each_change_asked_over_http(
    server: Server, request: pytest.FixtureRequest, agent: Professional, who: str
) -> None:
    asker = ASKERS[who]
    card = _CARDS[asker.card]() if asker.card in _CARDS else request.getfixturevalue(asker.card)
    me = card.id_nat
    agent_token = login(server, agent)
    token = login(server, card)
    author = login(
        server, request.getfixturevalue("physician" if me != PHYSICIAN else "pharmacist")
    )
    if asker.present:
        present(server, token, JEANNE)  # the card read at this counter, in this session
    present(server, agent_token, JEANNE)
    outcomes = {}
    for change in CHANGES:
        docs = _setup(server, agent_token, (me, token), asker, change, author)
        response = _ask(server, token, me, change, docs)
        assert response.status_code < 500, (change, response.text)
        outcomes[change] = response.is_success
        if not response.is_success:
            assert response.json()["error"], (change, response.text)  # a code says why
    expected = {change: change in ALLOWED[who] for change in CHANGES}
    assert outcomes == expected
