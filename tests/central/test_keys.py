"""The patient holds the keys: what an operator tried against the service, and is now refused.

Each test is one of the ways the service was found open (issue 13), played over HTTP and,
where a kiosk would send it, through the real queue.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from central.audit.models import AuditEntry
from central.dmp.models import Dmp
from dmpcommon.actions import ContactSet, IdentityToQualify, NotificationContact
from dmpcommon.vocabulary import ContactChannel
from tests.support.central import Professional, Server, login, make_professional
from tests.support.dmp import (
    JEANNE,
    PHARMACIST,
    PHYSICIAN,
    card_traits,
    create,
    open_record,
    operator_sets,
    patient_sets,
    patient_token,
    present,
)
from tests.support.queues import batch, enrolled_queue, post_batch, queue_login

AGREED = {"patient_agreement": True}
STRANGER = "810010088887"  # a physician in a structure the register does not list


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, str(response.json().get("error"))


def _refusals(server: Server, actor_id: str) -> list[tuple[str, str]]:
    with server.state.sessions() as db:
        rows = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor_id == actor_id, AuditEntry.outcome == "refused")
            .order_by(AuditEntry.id)  # insertion order (seq is given later, by the sealer)
        ).all()
        return [(e.action, e.detail) for e in rows]


def test_a_professional_authorises_itself_only_with_the_patient_present_and_agreeing(
    server: Server, tokens: dict[str, str]
) -> None:
    create(server, tokens["agent"])
    pharmacist = tokens["pharmacist"]
    # From anywhere, by INS alone: the patient is not at this counter.
    absent = operator_sets(server, pharmacist, JEANNE, PHARMACIST, "authorise", **AGREED)
    assert _error(absent) == (403, "patient_absent")
    assert open_record(server, pharmacist, JEANNE)[0] == 403
    # The card read, but the patient's agreement not declared.
    present(server, pharmacist, JEANNE)
    silent = operator_sets(server, pharmacist, JEANNE, PHARMACIST, "authorise")
    assert _error(silent) == (403, "patient_agreement_required")
    # Present and agreeing: done, and the record opens.
    assert operator_sets(server, pharmacist, JEANNE, PHARMACIST, "authorise", **AGREED).is_success
    assert open_record(server, pharmacist, JEANNE)[0] == 200
    # Never someone else, even with the patient there.
    other = operator_sets(server, pharmacist, JEANNE, PHYSICIAN, "authorise", **AGREED)
    assert _error(other) == (403, "only_the_patient_authorises_others")
    assert _refusals(server, PHARMACIST) == [
        ("professional_authorise", "patient_absent"),
        ("open", "not_authorised"),
        ("professional_authorise", "patient_agreement_required"),
        ("professional_authorise", "only_the_patient_authorises_others"),
    ]


def test_a_present_patients_agreement_lasts_only_a_while(
    server: Server, tokens: dict[str, str], pharmacist: Professional
) -> None:
    create(server, tokens["agent"])
    present(server, tokens["pharmacist"], JEANNE)
    # Another session of the same professional is another counter visit.
    other_session = login(server, pharmacist)
    again = operator_sets(server, other_session, JEANNE, PHARMACIST, "authorise", **AGREED)
    assert _error(again) == (403, "patient_absent")
    server.clock.advance(minutes=16)  # the patient has left the counter
    late = operator_sets(server, tokens["pharmacist"], JEANNE, PHARMACIST, "authorise", **AGREED)
    assert _error(late) == (403, "patient_absent")


def test_a_blocked_professional_cannot_lift_its_own_block(
    server: Server, tokens: dict[str, str]
) -> None:
    created = create(server, tokens["agent"], authorised_professionals=[PHYSICIAN])
    patient = patient_token(server, created)
    assert patient_sets(server, patient, PHYSICIAN, "block").status_code == 204
    physician = tokens["physician"]
    present(server, physician, JEANNE)  # even with the patient's card in the reader
    for action, code in (
        ("authorise", "blocked_by_patient"),
        ("unblock", "only_the_patient_blocks"),
    ):
        response = operator_sets(server, physician, JEANNE, PHYSICIAN, action, **AGREED)
        assert _error(response) == (403, code), action
    assert open_record(server, physician, JEANNE)[1]["error"] == "blocked_by_patient"
    # The patient lifts it; the professional is then neither blocked nor authorised.
    assert patient_sets(server, patient, PHYSICIAN, "unblock").status_code == 204
    assert open_record(server, physician, JEANNE)[1]["error"] == "not_authorised"


def test_nobody_but_the_patient_blocks_and_agents_authorise_nobody(
    server: Server, tokens: dict[str, str]
) -> None:
    create(server, tokens["pharmacist"], authorised_professionals=[PHARMACIST])
    agent = tokens["agent"]
    present(server, agent, JEANNE)
    # The agent blocks the record's creator: refused, the pharmacist still reads.
    assert _error(operator_sets(server, agent, JEANNE, PHARMACIST, "block")) == (
        403,
        "only_the_patient_blocks",
    )
    assert open_record(server, tokens["pharmacist"], JEANNE)[0] == 200
    # An agent's card is never authorised, not even by the agent with the patient agreeing.
    with server.client(agent) as client:
        me = client.put(
            f"/v1/dmp/{JEANNE}/professionals/3220098765ENIM42",
            json={"action": "authorise", **AGREED},
        )
    assert _error(me)[0] == 400  # not a health professional's card identifier
    # The physician, present, blocks nobody either.
    present(server, tokens["physician"], JEANNE)
    response = operator_sets(server, tokens["physician"], JEANNE, PHARMACIST, "block")
    assert _error(response) == (403, "only_the_patient_blocks")


def test_the_treating_doctor_is_a_physician_and_is_not_blocked_while_designated(
    server: Server, tokens: dict[str, str]
) -> None:
    created = create(server, tokens["agent"], treating_doctor=PHYSICIAN)
    patient = patient_token(server, created)
    response = patient_sets(server, patient, PHYSICIAN, "block")
    assert _error(response) == (409, "treating_doctor_cannot_be_blocked")
    assert open_record(server, tokens["physician"], JEANNE)[0] == 200
    # A pharmacist (profession 21, seen by the service) is no treating doctor.
    present(server, tokens["agent"], "284027511234577")
    with server.client(tokens["agent"]) as client:
        body = {"ins": "284027511234577", "consent": True, "information_version": "2026-01"}
        response = client.post("/v1/dmp", json={**body, "treating_doctor": PHARMACIST})
    assert _error(response) == (400, "not_a_physician")


def test_a_queued_contact_change_needs_the_patient_at_the_counter(
    server: Server, tokens: dict[str, str], tmp_path: Path, pharmacist: Professional
) -> None:
    create(server, tokens["agent"], contact={"channel": "email", "address": "jeanne@exemple.fr"})
    queue = enrolled_queue(server, tmp_path)
    queue_login(queue, pharmacist, "session-contact")
    thief = NotificationContact(channel=ContactChannel.EMAIL, address="voleur@exemple.fr")
    queue.enqueue(ContactSet(ins=JEANNE, contact=thief), session_id="session-contact")
    code, body = post_batch(server, batch(queue), queue)
    assert code == 200, body
    assert [(r["outcome"], r.get("reason")) for r in body["results"][1:]] == [
        ("rejected", "patient_absent")
    ]
    with server.state.sessions() as db:
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None and dmp.notify_address == "jeanne@exemple.fr"
    # With the patient's card read first in the same session, it goes through.
    queue.enqueue(
        IdentityToQualify.model_validate(card_traits(server, JEANNE)),
        session_id="session-contact",
    )
    mine = NotificationContact(channel=ContactChannel.EMAIL, address="jeanne.b@exemple.fr")
    queue.enqueue(ContactSet(ins=JEANNE, contact=mine), session_id="session-contact")
    code, body = post_batch(server, batch(queue), queue)
    assert [r["outcome"] for r in body["results"][-2:]] == ["accepted", "accepted"]
    with server.state.sessions() as db:
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None and dmp.notify_address == "jeanne.b@exemple.fr"


def test_forbidden_parties_get_no_identity_and_unknown_structures_no_content(
    server: Server, tokens: dict[str, str]
) -> None:
    create(server, tokens["agent"])
    insurer = login(server, make_professional(id_nat="810100777779", structure_id="75200000000017"))
    with server.client(insurer) as client:
        response = client.post("/v1/identity/qualify", json=card_traits(server, JEANNE))
    assert _error(response) == (403, "forbidden_party")
    assert _refusals(server, "810100777779") == [("identity_qualify", "forbidden_party")]
    # A structure the register does not know: it may qualify and create with the patient
    # present, as an agent does, and reads nothing.
    stranger = login(server, make_professional(id_nat=STRANGER, structure_id="999999999"))
    present(server, stranger, JEANNE)
    itself = operator_sets(server, stranger, JEANNE, STRANGER, "authorise", **AGREED)
    assert _error(itself) == (403, "structure_unknown")
    code, body = open_record(server, stranger, JEANNE)
    assert (code, body["error"]) == (403, "structure_unknown")
    breaking = {"reason_code": "URGENCE_VITALE", "reason_text": "inconscient"}
    code, body = open_record(server, stranger, JEANNE, "bris_de_glace", **breaking)
    assert (code, body["error"]) == (403, "structure_unknown")
