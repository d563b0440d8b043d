"""A parent logs in as themselves and reaches the records of the children they represent;
at 18 the child's record becomes their own and the parent's access ends, both told."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from central.audit.models import AuditEntry
from central.dmp.models import Dmp
from central.errors import Forbidden
from central.notify.models import OutboxMessage
from central.patient import majority
from central.patient.models import PatientSession
from tests.support.aged import aged
from tests.support.central import Server
from tests.support.dmp import CLAIRE, LEO, PHARMACIST, add_doc, create, patient_token
from tests.support.mail import Mailbox, SmsGateway

JADE = "219113523801764"  # Claire's other child
CLAIRE_BORN = aged("1984-02-11")
SMS = "06 00 00 00 02"  # Claire's mobile, given for Leo's record
CLAIRE_MAIL = "claire.martin@exemple.test"  # given for Jade's
MAIL = "claire.perso@exemple.test"  # her own record's


def _claire() -> dict[str, str]:
    return {"nom": "MARTIN", "prenom": "CLAIRE", "birth_date": CLAIRE_BORN, "nir": CLAIRE}


@pytest.fixture
def children(server: Server, tokens: dict[str, str]) -> dict[str, dict[str, Any]]:
    leo = create(
        server,
        tokens["pharmacist"],
        LEO,
        authorised_professionals=[PHARMACIST],
        representative=_claire(),
        contact={"channel": "sms", "address": SMS},
    )
    jade = create(
        server,
        tokens["pharmacist"],
        JADE,
        representative=_claire(),
        contact={"channel": "email", "address": CLAIRE_MAIL},
    )
    return {"leo": leo, "jade": jade}


def _post(server: Server, path: str, body: dict[str, Any]) -> Any:
    with server.client() as client:
        return client.post(path, json=body)


def _outbox(server: Server) -> int:
    with server.state.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def test_a_parent_logs_in_with_their_own_number_and_reaches_each_child(
    server: Server, children: dict[str, Any], mailbox: Mailbox, sms: SmsGateway
) -> None:
    """Claire has no DMP of her own: her number and birth date send one code to every
    contact she gave for her children, and the session opens their records, as her."""
    asked = _post(server, "/v1/patient/code", {"ins": CLAIRE, "birth_date": CLAIRE_BORN})
    assert asked.status_code == 202
    code = mailbox.code_for(CLAIRE_MAIL)
    assert sms.code_for("+33600000002", "code de connexion") == code  # the same code, twice
    login = _post(
        server, "/v1/patient/login", {"ins": CLAIRE, "birth_date": CLAIRE_BORN, "code": code}
    )
    assert login.status_code == 200, login.text
    token = login.json()["token"]
    with server.state.sessions() as db:
        seen = server.state.patients.viewing(db, token, server.state.now())
        assert seen.actor.name == "CLAIRE MARTIN"  # the trail names her, not Leo
    with server.client(token) as client:
        choices = client.get("/v1/patient/records").json()["records"]
        assert [(r["ins"], r["current"], r["role"]) for r in choices] == [
            (LEO, True, "representant_legal"),
            (JADE, False, "representant_legal"),
        ]
        assert client.put(f"/v1/patient/records/{JADE}/current").status_code == 204
        assert client.get("/v1/patient/record").json()["ins"] == JADE
        # Another family's child, or a made-up number: refused, and nothing changes.
        for other in ("279035121518989", "1" * 15):
            refused = client.put(f"/v1/patient/records/{other}/current")
            assert (refused.status_code, refused.json()["error"]) == (403, "not_your_record")
        assert client.get("/v1/patient/record").json()["ins"] == JADE


def test_the_parent_door_answers_a_wrong_birth_date_as_an_unknown_person(
    server: Server, children: dict[str, Any]
) -> None:
    """The children's records open only with the parent's own birth date as recorded: any
    other answer is the unknown person's (202, nothing sent)."""
    before = _outbox(server)
    for body in (
        {"ins": CLAIRE, "birth_date": aged("1984-02-12")},  # not her birth date
        {"ins": CLAIRE, "birth_date": aged("2015-06-30")},  # Leo's, with her number
        {"ins": "184027511234501", "birth_date": CLAIRE_BORN},  # nobody
    ):
        answer = _post(server, "/v1/patient/code", body)
        assert (answer.status_code, answer.json()) == (202, {"status": "sent_if_known"})
        server.clock.advance(seconds=61)
    assert _outbox(server) == before


def test_an_access_sheet_needs_the_birth_date_of_the_records_person(
    server: Server, children: dict[str, Any], tokens: dict[str, str]
) -> None:
    """The sheet alone is not enough: a wrong birth date is a failed try, the same answer as
    a wrong code; the right one (the child's, for a child's sheet) lets the parent in."""
    leo = children["leo"]
    sheet = {"identifier": leo["access_identifier"], "code": leo["activation_code"]}
    for born in (CLAIRE_BORN, aged("2015-06-29")):
        wrong = _post(server, "/v1/patient/activate", {**sheet, "birth_date": born})
        assert (wrong.status_code, wrong.json()["error"]) == (401, "bad_activation")
    missing = _post(server, "/v1/patient/activate", sheet)
    assert missing.status_code == 422
    # Claire's own record, to show that a child's sheet does not reach it.
    create(server, tokens["pharmacist"], CLAIRE, contact={"channel": "email", "address": MAIL})
    token = patient_token(server, leo)
    with server.state.sessions() as db:
        seen = server.state.patients.viewing(db, token, server.state.now())
        # A child's sheet proves the right to that record only: neither the parent's own
        # record nor a sibling's is offered, and choosing one by its number is refused.
        assert seen.dmp.ins == LEO and seen.others == ()
        for other in (CLAIRE, JADE):
            with pytest.raises(Forbidden):
                server.state.patients.choose(db, token, other, server.state.now())
        refused = db.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "patient_activate")
        ).all()
    assert refused == ["bad_activation", "bad_activation"]


def _sms_saying(sms: SmsGateway, number: str, *words: str, timeout_s: float = 10) -> bool:
    """Whether an SMS to `number` says all of `words`, waiting for it to be delivered."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for sent in list(sms.delivered.values()):
            if sent["to"] == number and all(word in str(sent["text"]) for word in words):
                return True
        time.sleep(0.05)
    return False


def _turns_18_tomorrow(server: Server, ins: str) -> str:
    """Arrange the record's birth date so that its person comes of age tomorrow."""
    today = server.state.now().date()
    born = dt.date(today.year - 18, today.month, min(today.day, 28)) + dt.timedelta(days=1)
    with server.state.sessions() as db, db.begin():
        dmp = db.get(Dmp, ins)
        assert dmp is not None
        dmp.birth_date = born.isoformat()
    return born.isoformat()


def test_at_18_the_childs_record_becomes_their_own_and_both_are_told(
    server: Server, children: dict[str, Any], tokens: dict[str, str], sms: SmsGateway
) -> None:
    add_doc(server, tokens["pharmacist"], LEO, "care_history", "Vaccin DTP")
    born = _turns_18_tomorrow(server, LEO)
    parent = patient_token(server, {**children["leo"], "birth_date": born})  # Claire
    with server.client(parent) as client:
        assert client.get("/v1/patient/record").status_code == 200
    with server.state.sessions() as db, db.begin():  # the daily pass, the day before
        assert majority.sweep(db, server.state.patients.notifier, server.state.now()) == 0
    server.clock.advance(days=1, seconds=1)
    with server.state.sessions() as db, db.begin():
        assert majority.sweep(db, server.state.patients.notifier, server.state.now()) == 1
        assert majority.sweep(db, server.state.patients.notifier, server.state.now()) == 0
    # The parent's session ends, her contact is no longer the record's, she is told there.
    with server.client(parent) as client:
        assert client.get("/v1/patient/record").status_code == 401
    with server.state.sessions() as db:
        leo = db.get(Dmp, LEO)
        assert leo is not None and leo.notify_address is None and leo.came_of_age_at
        closed = db.scalars(select(PatientSession.closed_at).where(PatientSession.dmp_ins == LEO))
        assert all(at is not None for at in closed)
        told = db.scalars(
            select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key == f"came_of_age:{LEO}")
        ).all()
        assert told == [f"came_of_age:{LEO}"]
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "came_of_age")).one()
        assert (entry.patient_ins, entry.actor_id) == (LEO, "service")
    assert _sms_saying(sms, "+33600000002", "Leo a 18 ans", "comptoir")
    # Her own door now reaches Jade only; Leo's number and birth date send nothing (his
    # record has no contact until he gives one, from a sheet the counter prints him).
    before = _outbox(server)
    _post(server, "/v1/patient/code", {"ins": LEO, "birth_date": leo.birth_date})
    assert _outbox(server) == before
    asked = _post(server, "/v1/patient/code", {"ins": CLAIRE, "birth_date": CLAIRE_BORN})
    assert asked.status_code == 202 and _outbox(server) == before + 1  # Jade's contact only


def test_the_doors_hand_the_record_over_even_before_the_daily_pass(
    server: Server, children: dict[str, Any]
) -> None:
    """A code asked with the adult child's number must not go to the parent's contact, even
    if the daily pass has not run yet; nor does the parent's unused sheet open it."""
    _turns_18_tomorrow(server, LEO)
    server.clock.advance(days=1, seconds=1)
    with server.state.sessions() as db:
        leo = db.get(Dmp, LEO)
        assert leo is not None
        born = leo.birth_date
    before = _outbox(server)
    _post(server, "/v1/patient/code", {"ins": LEO, "birth_date": born})
    told = _outbox(server) - before
    assert told == 1  # the message to the parent, and no code
    with server.state.sessions() as db:
        keys = db.scalars(select(OutboxMessage.dedup_key).order_by(OutboxMessage.id)).all()
    assert keys[-1] == f"came_of_age:{LEO}"
    sheet = children["leo"]
    spent = _post(
        server,
        "/v1/patient/activate",
        {
            "identifier": sheet["access_identifier"],
            "code": sheet["activation_code"],
            "birth_date": born,
        },
    )
    assert (spent.status_code, spent.json()["error"]) == (401, "bad_activation")
