"""A parent logs in as themselves and reaches the records of the children they represent;
at 18 the child's record becomes their own and the parent's access ends, both told."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select

from central.audit.models import AuditEntry
from central.dmp.models import Dmp, Document
from central.errors import Forbidden
from central.migrate import alembic_config
from central.notify.models import OutboxMessage
from central.patient import majority
from central.patient.models import PatientSession
from dmpcommon.identifiers import luhn_key
from tests.support.aged import aged
from tests.support.central import Server, login, make_professional, sqlite_only
from tests.support.dmp import (
    CLAIRE,
    LEO,
    PHARMACIST,
    add_doc,
    create,
    open_record,
    operator_sets,
    patient_token,
    present,
)
from tests.support.mail import Mailbox, SmsGateway
from tests.support.portal import care_lines

# The rules are the service's, not the database's: SQLite for most, both backends where
# SQL does the work (the pass, the migration, the codes' lookup).
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


def _code_login(server: Server, ins: str, born: str, code: str) -> Any:
    return _post(server, "/v1/patient/login", {"ins": ins, "birth_date": born, "code": code})


def _records(server: Server, token: str) -> list[tuple[str, bool, str]]:
    with server.client(token) as client:
        answer = client.get("/v1/patient/records").json()["records"]
    return [(r["ins"], r["current"], r["role"]) for r in answer]


@sqlite_only
def test_a_parent_logs_in_with_their_own_number_and_each_code_opens_what_its_contact_got(
    server: Server, children: dict[str, Any], mailbox: Mailbox, sms: SmsGateway
) -> None:
    """Claire has no DMP of her own: her number and birth date send a code to each contact
    she gave for her children, and each code opens the records whose contact received it,
    as her (the trail names her, not the child)."""
    asked = _post(server, "/v1/patient/code", {"ins": CLAIRE, "birth_date": CLAIRE_BORN})
    assert asked.status_code == 202
    by_sms = sms.code_for("+33600000002", "code de connexion")  # given for Leo
    by_mail = mailbox.code_for(CLAIRE_MAIL)  # given for Jade
    login = _code_login(server, CLAIRE, CLAIRE_BORN, by_sms)
    assert login.status_code == 200, login.text
    token = login.json()["token"]
    assert _records(server, token) == [(LEO, True, "representant_legal")]
    with server.state.sessions() as db:
        seen = server.state.patients.viewing(db, token, server.state.now())
        assert seen.actor.name == "CLAIRE MARTIN"
    with server.client(token) as client:
        # Jade's record was not proven by this code; another family's child, a made-up
        # number: refused alike, and nothing changes.
        for other in (JADE, "279035121518989", "1" * 15):
            refused = client.put(f"/v1/patient/records/{other}/current")
            assert (refused.status_code, refused.json()["error"]) == (403, "not_your_record")
        assert client.get("/v1/patient/record").json()["ins"] == LEO
    other = _code_login(server, CLAIRE, CLAIRE_BORN, by_mail).json()["token"]
    assert _records(server, other) == [(JADE, True, "representant_legal")]


@sqlite_only
def test_one_contact_for_both_children_opens_both_and_switches(
    server: Server, tokens: dict[str, str], sms: SmsGateway
) -> None:
    for child in (LEO, JADE):
        create(
            server,
            tokens["pharmacist"],
            child,
            representative=_claire(),
            contact={"channel": "sms", "address": SMS},
        )
    _post(server, "/v1/patient/code", {"ins": CLAIRE, "birth_date": CLAIRE_BORN})
    code = sms.code_for("+33600000002", "code de connexion")
    token = _code_login(server, CLAIRE, CLAIRE_BORN, code).json()["token"]
    assert _records(server, token) == [
        (LEO, True, "representant_legal"),
        (JADE, False, "representant_legal"),
    ]
    with server.client(token) as client:
        assert client.put(f"/v1/patient/records/{JADE}/current").status_code == 204
        assert client.get("/v1/patient/record").json()["ins"] == JADE


@sqlite_only
def test_a_childs_contact_does_not_open_the_parents_own_record(
    server: Server, tokens: dict[str, str], mailbox: Mailbox, sms: SmsGateway
) -> None:
    """Whoever holds the phone given for a child (a teenager, another parent) gets only
    what that phone proves: the child's record, never the parent's own."""
    create(server, tokens["pharmacist"], CLAIRE, contact={"channel": "email", "address": MAIL})
    create(
        server,
        tokens["pharmacist"],
        LEO,
        representative=_claire(),
        contact={"channel": "sms", "address": "06 00 00 00 09"},
    )
    _post(server, "/v1/patient/code", {"ins": CLAIRE, "birth_date": CLAIRE_BORN})
    by_phone = sms.code_for("+33600000009", "code de connexion")
    token = _code_login(server, CLAIRE, CLAIRE_BORN, by_phone).json()["token"]
    assert _records(server, token) == [(LEO, True, "representant_legal")]
    with server.client(token) as client:
        refused = client.put(f"/v1/patient/records/{CLAIRE}/current")
        assert refused.status_code == 403
    own = _code_login(server, CLAIRE, CLAIRE_BORN, mailbox.code_for(MAIL)).json()["token"]
    assert _records(server, own) == [(CLAIRE, True, "patient")]


def test_a_code_answers_only_the_question_it_was_sent_for(
    server: Server, tokens: dict[str, str], sms: SmsGateway, mailbox: Mailbox
) -> None:
    """A code asked with the child's number does not open the parent's door; wrong birth
    dates typed with someone's number never count against that person's code."""
    create(
        server,
        tokens["pharmacist"],
        LEO,
        representative=_claire(),
        contact={"channel": "sms", "address": SMS},
    )
    leo_born = aged("2015-06-30")
    _post(server, "/v1/patient/code", {"ins": LEO, "birth_date": leo_born})
    code = sms.code_for("+33600000002", "code de connexion")
    refused = _code_login(server, CLAIRE, CLAIRE_BORN, code)
    assert (refused.status_code, refused.json()["error"]) == (401, "bad_code")
    # Someone with Leo's number but not his birth date tries, again and again.
    for day in range(1, 6):
        wrong = _code_login(server, LEO, aged(f"2015-06-{day:02d}"), code)
        assert wrong.status_code == 401
    assert _code_login(server, LEO, leo_born, code).status_code == 200  # still his


@sqlite_only
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


@sqlite_only
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
    server.state.worker.chores = None  # the pass is run by the test, at its moments
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


@sqlite_only
def test_the_doors_hand_the_record_over_even_before_the_daily_pass(
    server: Server, children: dict[str, Any]
) -> None:
    """A code asked with the adult child's number must not go to the parent's contact, even
    if the daily pass has not run yet; nor does the parent's unused sheet open it."""
    server.state.worker.chores = None
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


@sqlite_only
def test_a_parents_session_ends_at_the_childs_18th_birthday_before_any_pass(
    server: Server, children: dict[str, Any], tokens: dict[str, str]
) -> None:
    """Opened with the child's sheet the evening before, the session does not live on into
    the adult's record (whose documents hidden from representatives it would then show)."""
    server.state.worker.chores = None
    add_doc(
        server,
        tokens["pharmacist"],
        LEO,
        "care_history",
        "Consultation confidentielle",
        invisible_to_representatives=True,
    )
    born = _turns_18_tomorrow(server, LEO)
    now = server.state.now()
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    server.clock.advance(seconds=(midnight - now).total_seconds() - 300)  # 23:55
    parent = patient_token(server, {**children["leo"], "birth_date": born})
    with server.client(parent) as client:
        assert client.get("/v1/patient/record").status_code == 200
    server.clock.advance(minutes=10)
    with server.client(parent) as client:
        assert client.get("/v1/patient/record").status_code == 401
    with server.state.sessions() as db, db.begin():  # the pass then hands it over
        assert majority.sweep(db, server.state.patients.notifier, server.state.now()) == 1
    with server.client(parent) as client:
        assert client.get("/v1/patient/record").status_code == 401


def test_records_already_of_age_are_not_handed_over_again_after_the_migration(
    server: Server, children: dict[str, Any]
) -> None:
    """A record a parent created for a child who is an adult today was already the adult's
    before migration 0012: it is marked handed over, so the first pass neither takes its
    contact away nor writes to it as to a parent."""
    server.state.worker.chores = None
    with server.state.sessions() as db, db.begin():
        leo = db.get(Dmp, LEO)
        assert leo is not None
        leo.birth_date = aged("1996-06-30")  # created for him as a child, long ago
    url = server.state.settings.database_url
    command.downgrade(alembic_config(url, audit_key=server.state.sealer.key), "0011")
    command.upgrade(alembic_config(url), "head")
    with server.state.sessions() as db, db.begin():
        assert majority.sweep(db, server.state.patients.notifier, server.state.now()) == 0
        leo = db.get(Dmp, LEO)
        assert leo is not None and leo.came_of_age_at is not None
        assert leo.notify_address == "+33600000002"  # untouched
        jade = db.get(Dmp, JADE)
        assert jade is not None and jade.came_of_age_at is None  # still a child


@sqlite_only
def test_a_birth_date_unknown_on_the_card_is_typed_as_0(
    server: Server, children: dict[str, Any]
) -> None:
    """Some cards carry a "lunar" day (32) or month (13): the person types 0 for it."""
    with server.state.sessions() as db, db.begin():
        leo = db.get(Dmp, LEO)
        assert leo is not None
        leo.birth_date = leo.birth_date[:8] + "32"
    sheet = children["leo"]
    typed = aged("2015-06-00")
    assert patient_token(server, {**sheet, "birth_date": typed})


@sqlite_only
def test_whom_a_minor_sees_in_confidence_stays_unsaid_to_the_parent(
    server: Server, tokens: dict[str, str], sms: SmsGateway
) -> None:
    """A midwife the teenager saw in confidence wrote a report hidden from parents: the
    parent's log, list of who may read and search say nothing of her, and the parent may
    not block or revoke her (the refusal names nothing)."""
    midwife_id = "8" + "1010123456" + str(luhn_key("1010123456"))
    midwife = make_professional(id_nat=midwife_id, profession="50", nom="PLANNING", prenom="SOPHIE")
    pharmacist = tokens["pharmacist"]
    create(
        server,
        pharmacist,
        LEO,
        representative=_claire(),
        contact={"channel": "sms", "address": SMS},
        authorised_professionals=[PHARMACIST],
    )
    care = login(server, midwife)
    present(server, care, LEO)
    agreed = operator_sets(server, care, LEO, midwife_id, "authorise", patient_agreement=True)
    assert agreed.status_code == 204, agreed.text
    assert open_record(server, care, LEO)[0] == 200
    hidden = add_doc(
        server, care, LEO, "reports", "Consultation", invisible_to_representatives=True
    )
    add_doc(server, pharmacist, LEO, "care_history", "Vaccin DTP")
    care_lines(server, LEO, dt.date.today())  # among them, perhaps, the midwife's
    # The pharmacist reads that report, then again in an emergency: nor is that told.
    content = f"/v1/dmp/{LEO}/documents/{hidden['id']}/content"
    with server.client(pharmacist) as client:
        assert client.get(content).status_code == 200
        glass = client.get(
            content,
            params={"mode": "bris_de_glace", "reason_code": "URGENCE_VITALE"},
            headers={"X-DMP-Reason-Text": "Malaise%20au%20comptoir%20de%20la%20pharmacie"},
        )
        assert glass.status_code == 200, glass.text
    _post(server, "/v1/patient/code", {"ins": CLAIRE, "birth_date": CLAIRE_BORN})
    code = sms.code_for("+33600000002", "code de connexion")
    parent = _code_login(server, CLAIRE, CLAIRE_BORN, code).json()["token"]
    with server.client(parent) as client:
        record = client.get("/v1/patient/record").json()
        log = client.get("/v1/patient/access-log").json()
        blocked = client.put(f"/v1/patient/professionals/{midwife_id}", json={"action": "block"})
        revoked = client.put(f"/v1/patient/professionals/{midwife_id}", json={"action": "revoke"})
    assert [p["id_nat"] for p in record["professionals"]] == [PHARMACIST]
    assert midwife_id not in {e["id_nat"] for e in log}
    assert any(e["id_nat"] == PHARMACIST for e in log)  # the others are still told
    assert not [e for e in log if e["action"] == "document_read"]
    # The insurance's lines name no one to match: none is shown rather than one that tells.
    assert record["care_lines"] == [] and record["care_lines_withheld"] is True
    assert not [e for e in log if hidden["id"] in (e["reason"] or "")]
    for answer in (blocked, revoked):
        assert (answer.status_code, answer.json()["error"]) == (403, "kept_from_representatives")
    assert open_record(server, care, LEO)[0] == 200  # her care goes on
    with server.state.sessions() as db, db.begin():  # nothing kept from parents any more
        kept = db.get(Document, (hidden["id"], LEO))  # the key holds the INS (partitions)
        assert kept is not None
        kept.invisible_to_representatives = False
    with server.client(parent) as client:
        shown = client.get("/v1/patient/record").json()
    assert len(shown["care_lines"]) == 8 and shown["care_lines_withheld"] is False
