"""Where the patient is told and how they get back in: a contact changes only by the patient
(a code sent to the new address) or at the counter with the patient there, the old contact
told; the counter re-issues a lost activation code, the old one void."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from central.dmp.models import Dmp
from dmpcommon.actions import ContactSet, IdentityToQualify, NotificationContact
from dmpcommon.vocabulary import ContactChannel
from tests.support.central import Professional, Server
from tests.support.dmp import JEANNE, card_traits, contact_of, create, patient_token, present
from tests.support.mail import Mailbox, SmsGateway
from tests.support.queues import batch, enrolled_queue, post_batch, queue_login

EMAIL = "jeanne.bernard@exemple.test"
MOBILE = "+33700000001"


@pytest.fixture
def jeanne(server: Server, tokens: dict[str, str]) -> dict[str, Any]:
    return create(server, tokens["agent"], contact={"channel": "email", "address": EMAIL})


def _told_of_change(mailbox: Mailbox, address: str) -> bool:
    return any(
        m["To"] == address and "contact de votre DMP a changé" in str(m["Subject"])
        for m in mailbox.inbox
    )


def test_the_patient_changes_the_contact_with_a_code_sent_there(
    server: Server, jeanne: dict[str, Any], mailbox: Mailbox, sms: SmsGateway
) -> None:
    patient = patient_token(server, jeanne)
    with server.client(patient) as client:
        # Straight in, without a code: refused, nothing changes.
        direct = client.put(
            "/v1/patient/notifications",
            json={"contact": {"channel": "sms", "address": "07 00 00 00 01"}},
        )
        assert (direct.status_code, direct.json()["error"]) == (409, "contact_needs_code")
        asked = client.post("/v1/patient/contact", json={"channel": "sms", "address": "0700000001"})
        assert asked.status_code == 202
        assert contact_of(server) == ("email", EMAIL)  # not before the code comes back
        code = sms.code_for(MOBILE, "vous prévienne ici")
        wrong = "000000" if code != "000000" else "111111"
        bad = client.post("/v1/patient/contact/confirm", json={"code": wrong})
        assert (bad.status_code, bad.json()["error"]) == (401, "bad_code")
        assert client.post("/v1/patient/contact/confirm", json={"code": code}).status_code == 204
        again = client.post("/v1/patient/contact/confirm", json={"code": code})
        assert (again.status_code, again.json()["error"]) == (404, "no_contact_change")
    assert contact_of(server) == ("sms", MOBILE)
    mailbox.wait_for(1)
    assert _told_of_change(mailbox, EMAIL)  # the old contact, its last message


def test_a_contact_code_takes_five_tries_and_ten_minutes(
    server: Server, jeanne: dict[str, Any], sms: SmsGateway
) -> None:
    patient = patient_token(server, jeanne)
    with server.client(patient) as client:
        client.post("/v1/patient/contact", json={"channel": "sms", "address": "0700000001"})
        code = sms.code_for(MOBILE, "vous prévienne ici")
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            assert (
                client.post("/v1/patient/contact/confirm", json={"code": wrong}).status_code == 401
            )
        late = client.post("/v1/patient/contact/confirm", json={"code": code})
        assert (late.status_code, late.json()["error"]) == (429, "too_many_tries")
        soon = client.post("/v1/patient/contact", json={"channel": "sms", "address": "0700000001"})
        assert (soon.status_code, soon.json()["error"]) == (429, "resend_too_soon")
        server.clock.advance(minutes=2)
        client.post("/v1/patient/contact", json={"channel": "sms", "address": "0700000001"})
        sms.wait_for(2)
        newer = sms.code_for(MOBILE, "vous prévienne ici")
        server.clock.advance(minutes=11)
        expired = client.post("/v1/patient/contact/confirm", json={"code": newer})
    assert (expired.status_code, expired.json()["error"]) == (410, "code_expired")
    assert contact_of(server) == ("email", EMAIL)


def test_at_the_counter_the_contact_changes_with_the_patient_there_and_the_old_one_is_told(
    server: Server,
    jeanne: dict[str, Any],
    mailbox: Mailbox,
    tmp_path: Path,
    pharmacist: Professional,
) -> None:
    queue = enrolled_queue(server, tmp_path)
    queue_login(queue, pharmacist, "session-counter")
    queue.enqueue(
        IdentityToQualify.model_validate(card_traits(server, JEANNE)), session_id="session-counter"
    )
    new = NotificationContact(channel=ContactChannel.EMAIL, address="jeanne.b@exemple.test")
    queue.enqueue(ContactSet(ins=JEANNE, contact=new), session_id="session-counter")
    code, body = post_batch(server, batch(queue), queue)
    assert code == 200 and [r["outcome"] for r in body["results"]] == ["accepted"] * 3
    assert contact_of(server) == ("email", "jeanne.b@exemple.test")
    mailbox.wait_for(1)
    assert _told_of_change(mailbox, EMAIL)


def test_the_counter_reissues_the_activation_code(
    server: Server, jeanne: dict[str, Any], tokens: dict[str, str], mailbox: Mailbox
) -> None:
    operator = tokens["pharmacist"]  # not who created it: no card read in this session
    with server.client(operator) as client:
        absent = client.post(f"/v1/dmp/{JEANNE}/activation")
    assert (absent.status_code, absent.json()["error"]) == (403, "patient_absent")
    present(server, operator, JEANNE)
    with server.client(operator) as client:
        issued = client.post(f"/v1/dmp/{JEANNE}/activation")
    assert issued.status_code == 201, issued.text
    sheet = issued.json()
    assert sheet["access_identifier"] == jeanne["access_identifier"]
    assert sheet["activation_code"] != jeanne["activation_code"]
    with server.client() as client:
        old = client.post(
            "/v1/patient/activate",
            json={
                "identifier": jeanne["access_identifier"],
                "code": jeanne["activation_code"],
                "birth_date": jeanne["birth_date"],
            },
        )
        assert (old.status_code, old.json()["error"]) == (401, "bad_activation")
    sheet["birth_date"] = jeanne["birth_date"]  # asked with the sheet
    assert patient_token(server, sheet)  # the new sheet lets the patient in
    told = mailbox.wait_for(1)
    assert any("Nouveau code d'accès" in str(m["Subject"]) for m in told)
    # A patient cannot issue one to themselves (nor could a thief with their session).
    with server.client(patient_token(server, _reissued(server, operator))) as client:
        assert client.post(f"/v1/dmp/{JEANNE}/activation").status_code == 401


def _reissued(server: Server, operator: str) -> dict[str, Any]:
    with server.client(operator) as client:
        response = client.post(f"/v1/dmp/{JEANNE}/activation")
    assert response.status_code == 201
    with server.state.sessions() as db:
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None
        return {**response.json(), "birth_date": dmp.birth_date}
