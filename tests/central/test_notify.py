"""Notifications through the outbox: real SMTP (aiosmtpd) and a loopback SMS gateway."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from central.notify.models import OutboxMessage
from central.notify.service import OutboxWorker, SmsGatewaySender, SmtpSender
from tests.support.central import Server, run_sql
from tests.support.dmp import JEANNE, PHARMACIST, add_doc, create, open_record
from tests.support.mail import Mailbox, SmsGateway

EMAIL = "jeanne.bernard@exemple.test"
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
