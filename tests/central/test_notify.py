"""Notifications through the outbox: real SMTP (aiosmtpd) and a loopback SMS gateway."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from typing import Any

from sqlalchemy import select, text

from central.notify.models import OutboxMessage
from central.notify.service import OutboxWorker, SmsGatewaySender, SmtpSender
from tests.support.aged import aged
from tests.support.central import Server, run_sql
from tests.support.dmp import JEANNE, PHARMACIST, add_doc, create, open_record
from tests.support.mail import Mailbox, SmsGateway

EMAIL = "jeanne.bernard@exemple.test"
BORN = aged("1979-03-28")
GLASS = {"reason_code": "URGENCE_VITALE", "reason_text": "douleur thoracique aiguë"}


def _outbox(server: Server) -> list[OutboxMessage]:
    with server.state.sessions() as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


def _wait_sent(server: Server, count: int, timeout_s: float = 10) -> list[OutboxMessage]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sent = [m for m in _outbox(server) if m.sent_at is not None]
        if len(sent) >= count:
            return sent
        time.sleep(0.05)
    raise AssertionError("outbox not drained")


def test_new_document_first_access_and_emergencies_by_email(
    server: Server, tokens: dict[str, str], mailbox: Mailbox
) -> None:
    create(
        server,
        tokens["agent"],
        authorised_professionals=[PHARMACIST],
        contact={"channel": "email", "address": EMAIL},
    )
    add_doc(server, tokens["pharmacist"], JEANNE, "pathologies_allergies", "Allergie arachide")
    for _ in range(2):  # the first access is told once
        assert open_record(server, tokens["pharmacist"], JEANNE)[0] == 200
    for _ in range(2):  # every emergency access is told
        assert open_record(server, tokens["physician"], JEANNE, "bris_de_glace", **GLASS)[0] == 200
    assert open_record(server, tokens["regulator"], JEANNE, "regulateur")[0] == 200
    inbox = mailbox.wait_for(5)
    time.sleep(0.5)  # nothing more may come
    subjects = sorted(str(m["Subject"]) for m in mailbox.inbox)
    assert subjects == sorted(
        [
            "Nouveau document dans votre DMP",
            "Première consultation de votre DMP par un professionnel",
            "Accès d'urgence à votre DMP",
            "Accès d'urgence à votre DMP",
            "Accès d'urgence à votre DMP",
        ]
    )
    assert len(mailbox.transmissions) == 5  # each sent once
    first = next(m for m in inbox if "Première" in str(m["Subject"]))
    assert "ANNE DUPONT, pharmacien, Pharmacie du Port, Lorient" in first.get_content()
    for message in inbox:
        body = message.get_content()
        # No health data: no document title, no break-glass reason, no category.
        for secret in ("arachide", "Allergie", "douleur", "thoracique", "URGENCE"):
            assert secret not in body, (secret, body)


def test_sms_with_retries_after_gateway_errors(
    server: Server, tokens: dict[str, str], sms: SmsGateway
) -> None:
    sms.fail_next = 1
    create(
        server,
        tokens["agent"],
        authorised_professionals=[PHARMACIST],
        contact={"channel": "sms", "address": "06 12 34 56 78"},
    )
    assert open_record(server, tokens["pharmacist"], JEANNE)[0] == 200
    deadline = time.monotonic() + 10
    message: OutboxMessage | None = None
    while time.monotonic() < deadline:
        message = _outbox(server)[0]
        if message.attempts >= 1:
            break
        time.sleep(0.05)
    assert message is not None and message.sent_at is None and message.last_error
    server.clock.advance(seconds=5)  # past the backoff
    server.state.worker.kick()
    delivered = sms.wait_for(1)
    assert delivered[0]["to"] == "+33612345678"
    assert "a consulté votre Dossier Médical Partagé" in delivered[0]["text"]
    assert len(sms.requests) == 2


def test_no_message_twice_after_a_crash_between_send_and_mark(
    server: Server, tokens: dict[str, str], mailbox: Mailbox, sms: SmsGateway
) -> None:
    server.state.worker.stop()  # this test drives the worker by hand
    create(
        server,
        tokens["agent"],
        authorised_professionals=[PHARMACIST],
        contact={"channel": "sms", "address": "06 12 34 56 78"},
    )
    open_record(server, tokens["pharmacist"], JEANNE)
    run_sql(
        server.state.engine,
        "UPDATE dmps SET notify_channel = 'email', notify_address = :a",
        a=EMAIL,
    )
    open_record(server, tokens["physician"], JEANNE, "bris_de_glace", **GLASS)
    senders: dict[str, Any] = {
        "email": SmtpSender(server.state.settings.smtp_url or "", "dmp@test"),
        "sms": SmsGatewaySender(server.state.settings.sms_url or ""),
    }
    crashing = OutboxWorker(server.state.sessions, senders, clock=server.clock)
    for _ in range(2):
        try:
            crashing.run_once(limit=1, crash_after_send=True)
        except SystemExit:
            pass
    assert all(m.sent_at is None for m in _outbox(server))  # sent, but never marked
    server.clock.advance(seconds=31)  # the crashed worker's leases expire
    restarted = OutboxWorker(server.state.sessions, senders, clock=server.clock)
    assert restarted.run_once() == 2
    assert restarted.run_once() == 0
    # Both channels saw the message twice on the wire, with the same key each time...
    assert len(sms.requests) == 2 and len({r["key"] for r in sms.requests}) == 1
    assert len(mailbox.transmissions) == 2
    assert len({m["Message-ID"] for m in mailbox.transmissions}) == 1
    # ...and the patient has each message once.
    assert len(sms.delivered) == 1 and len(mailbox.inbox) == 1
    assert all(m.sent_at is not None and m.attempts == 1 for m in _outbox(server))


def test_same_event_is_queued_once(server: Server, tokens: dict[str, str]) -> None:
    create(
        server,
        tokens["agent"],
        authorised_professionals=[PHARMACIST],
        contact={"channel": "email", "address": EMAIL},
    )
    for _ in range(3):
        open_record(server, tokens["pharmacist"], JEANNE)
    first_access = [m for m in _outbox(server) if m.dedup_key.startswith("first_access:")]
    assert len(first_access) == 1


# -- no one-time code readable after delivery (issue 14) --------------------------------------

CODE_SUBJECT = "Votre code de connexion au DMP"


def _ask_code(server: Server) -> None:
    with server.client() as client:
        asked = client.post("/v1/patient/code", json={"ins": JEANNE, "birth_date": BORN})
    assert asked.status_code == 202, asked.text


def _code_row(server: Server, *, sent: bool, timeout_s: float = 10) -> OutboxMessage:
    """The log-in code's outbox row, once it is (or is not yet) marked delivered."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = [m for m in _outbox(server) if m.subject == CODE_SUBJECT]
        if rows and (rows[-1].sent_at is not None) is sent and (sent or rows[-1].attempts):
            return rows[-1]
        time.sleep(0.05)
    raise AssertionError("the code's message never got there")


def _holds(text_: str, code: str) -> bool:
    """The code as a number of its own (a code may also be digits of the phone number)."""
    return re.search(rf"(?<![0-9]){code}(?![0-9])", text_) is not None


def _outbox_text(server: Server) -> str:
    """Every value of every outbox row, as the database holds them."""
    with server.state.engine.connect() as conn:
        return repr(conn.execute(text("SELECT * FROM outbox")).all())


def test_a_code_delivered_by_email_is_no_longer_in_the_database(
    server: Server, tokens: dict[str, str], mailbox: Mailbox
) -> None:
    create(server, tokens["agent"], contact={"channel": "email", "address": EMAIL})
    _ask_code(server)
    code = mailbox.code_for(EMAIL)  # delivered through the real SMTP server
    row = _code_row(server, sent=True)
    assert not _holds(_outbox_text(server), code)
    assert row.body == "" and row.subject == CODE_SUBJECT and row.address == EMAIL
    assert row.channel == "email" and row.attempts == 1


def test_a_code_waiting_for_a_retry_keeps_it_until_the_sms_goes(
    server: Server, tokens: dict[str, str], sms: SmsGateway
) -> None:
    create(server, tokens["agent"], contact={"channel": "sms", "address": "06 12 34 56 78"})
    sms.fail_next = 1
    _ask_code(server)
    waiting = _code_row(server, sent=False)  # the gateway refused it once
    kept = re.search(r"\b\d{6}\b", waiting.body)
    assert kept is not None and waiting.last_error  # needed for the next try
    server.clock.advance(seconds=5)  # past the backoff
    server.state.worker.kick()
    code = sms.code_for("+33612345678", "code de connexion")
    assert code == kept.group(0) and len(sms.requests) == 2
    row = _code_row(server, sent=True)
    assert not _holds(_outbox_text(server), code)
    assert row.body == "" and row.address == "+33612345678" and row.attempts == 2


def test_bodies_delivered_by_an_older_version_are_wiped(server: Server) -> None:
    server.state.worker.stop()
    now = server.state.now()
    for key, sent_at in (("old-sent", now), ("old-pending", None)):
        run_sql(
            server.state.engine,
            "INSERT INTO outbox (id, dedup_key, channel, address, subject, body, created_at,"
            " attempts, next_attempt_at, sent_at) VALUES (:id, :key, 'sms', '+33612345678',"
            " :subject, :body, :now, 1, :later, :sent_at)",
            id=str(uuid.uuid4()),
            key=key,
            subject=CODE_SUBJECT,
            body="Votre code de connexion au DMP : 482913.",
            now=now,
            later=now + dt.timedelta(hours=1),
            sent_at=sent_at,
        )
    assert server.state.worker.wipe_delivered() == 1
    bodies = {m.dedup_key: m.body for m in _outbox(server)}
    assert bodies == {"old-sent": "", "old-pending": "Votre code de connexion au DMP : 482913."}
