"""Closing and reopening: the patient's decision, in the portal's API or at the counter with
the patient there. A closed DMP reports FERME, refuses every professional access with its own
code, keeps its content and sends nothing but the closing notice."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from central.notify.models import OutboxMessage
from tests.support.central import Server
from tests.support.dmp import (
    JEANNE,
    PHARMACIST,
    PHYSICIAN,
    add_doc,
    create,
    open_record,
    patient_token,
    present,
)
from tests.support.mail import Mailbox

EMAIL = "jeanne.bernard@exemple.test"
GLASS = {"reason_code": "URGENCE_VITALE", "reason_text": "patiente inconsciente"}


@pytest.fixture
def jeanne(server: Server, tokens: dict[str, str]) -> dict[str, Any]:
    created = create(
        server,
        tokens["agent"],
        authorised_professionals=[PHARMACIST, PHYSICIAN],
        contact={"channel": "email", "address": EMAIL},
    )
    add_doc(server, tokens["physician"], JEANNE, "medications", "Lévothyroxine 75 µg")
    return created


def _status(server: Server, token: str) -> str:
    with server.client(token) as client:
        return str(client.get(f"/v1/dmp/{JEANNE}/status").json()["dmp"])


def _subjects(server: Server) -> list[str]:
    with server.state.sessions() as db:
        return list(db.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.created_at)))


def test_a_closed_dmp_refuses_every_professional_and_keeps_its_content(
    server: Server, jeanne: dict[str, Any], tokens: dict[str, str], mailbox: Mailbox
) -> None:
    before = _subjects(server)
    patient = patient_token(server, jeanne)
    with server.client(patient) as client:
        assert client.post("/v1/patient/close").status_code == 204
        again = client.post("/v1/patient/close")
        assert (again.status_code, again.json()["error"]) == (409, "dmp_already_closed")
        kept = client.get("/v1/patient/record").json()
    assert kept["status"] == "FERME"
    assert [d["title"] for d in kept["documents"]["medications"]] == ["Lévothyroxine 75 µg"]
    assert _status(server, tokens["pharmacist"]) == "FERME"
    for token, mode, reason in (
        (tokens["pharmacist"], "normal", {}),
        (tokens["physician"], "bris_de_glace", GLASS),
        (tokens["regulator"], "regulateur", {}),
    ):
        code, body = open_record(server, token, JEANNE, mode, **reason)
        assert (code, body["error"]) == (403, "dmp_closed"), mode
    with server.client(tokens["physician"]) as client:
        added = client.post(
            f"/v1/dmp/{JEANNE}/documents",
            json={
                "category": "reports",
                "title": "CR",
                "content": "x",
                "document_date": "2026-11-01",
            },
        )
    assert (added.status_code, added.json()["error"]) == (403, "dmp_closed")
    # Told of the closing, and of nothing else since.
    assert _subjects(server)[len(before) :] == ["Votre DMP est fermé"]
    mailbox.wait_for(1)


def test_the_counter_closes_only_with_the_patient_there_and_the_patient_reopens(
    server: Server, jeanne: dict[str, Any], tokens: dict[str, str]
) -> None:
    pharmacist = tokens["pharmacist"]
    with server.client(pharmacist) as client:
        absent = client.post(f"/v1/dmp/{JEANNE}/close")
    assert (absent.status_code, absent.json()["error"]) == (403, "patient_absent")
    present(server, pharmacist, JEANNE)
    with server.client(pharmacist) as client:
        assert client.post(f"/v1/dmp/{JEANNE}/close").status_code == 204
    assert _status(server, pharmacist) == "FERME"
    with server.client(patient_token(server, jeanne)) as client:
        assert client.post("/v1/patient/reopen").status_code == 204
        again = client.post("/v1/patient/reopen")
        assert (again.status_code, again.json()["error"]) == (409, "dmp_not_closed")
    # As it was: the pharmacist is still authorised.
    assert _status(server, pharmacist) == "VALIDE"
    assert open_record(server, pharmacist, JEANNE)[0] == 200
    assert _subjects(server)[-3:] == [
        "Votre DMP est fermé",
        "Votre DMP est rouvert",
        "Première consultation de votre DMP par un professionnel",  # open again: told again
    ]
