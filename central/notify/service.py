"""Notifications: written to the outbox in the event's transaction, sent by a worker.

Delivery is at least once; each message carries its outbox id as an idempotency key (the
e-mail's Message-ID, the SMS gateway's Idempotency-Key), so that a resend after a crash
between "sent" and "marked" is recognised as the same message by whoever receives it.
No health data ever goes into a message. Once a message is delivered its body is wiped (one-time
codes travel in bodies, and nothing reads a body after delivery); the row stays, with its
address, subject and times, for the record. A message not yet delivered keeps its body for
the next try.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import smtplib
import threading
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from central.db import utcnow
from central.notify.models import OutboxMessage

__all__ = ["DELIVERED", "Notifier", "OutboxWorker", "Sender", "SmsGatewaySender", "SmtpSender"]

log = logging.getLogger(__name__)
_LEASE = dt.timedelta(seconds=30)
_MAX_BACKOFF_S = 600
DELIVERED = ""  # the body once delivered: what it said (a code, maybe) is gone


class Sender(Protocol):
    """Sends one message; raises on failure."""

    def send(self, message: OutboxMessage) -> None: ...


class SmtpSender:
    """E-mail over SMTP (smtp://host:port)."""

    def __init__(self, url: str, mail_from: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 25
        self.mail_from = mail_from

    def send(self, message: OutboxMessage) -> None:
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = message.address
        email["Subject"] = message.subject
        email["Date"] = format_datetime(message.created_at)
        email["Message-ID"] = f"<{message.id}@dmp.notifications>"
        email.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(email)


class SmsGatewaySender:
    """SMS through an HTTP gateway: POST {"to", "text"} with an Idempotency-Key header."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(timeout=10)

    def send(self, message: OutboxMessage) -> None:
        response = self.client.post(
            self.url,
            json={"to": message.address, "text": message.body},
            headers={"Idempotency-Key": message.id},
        )
        response.raise_for_status()


class Notifier:
    """Adds messages to the outbox, inside the caller's transaction."""

    def __init__(self, kick: Callable[[], None] | None = None) -> None:
        self.kick = kick or (lambda: None)

    def enqueue(
        self,
        db: Session,
        *,
        dedup_key: str,
        channel: str,
        address: str,
        subject: str,
        body: str,
        now: dt.datetime,
    ) -> bool:
        """Queue a message once per dedup key; False if that key was already queued."""
        exists = db.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key))
        if exists is not None:
            return False
        try:
            with db.begin_nested():
                db.add(
                    OutboxMessage(
                        id=str(uuid.uuid4()),
                        dedup_key=dedup_key,
                        channel=channel,
                        address=address,
                        subject=subject,
                        body=body,
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
        except IntegrityError:
            return False  # queued by a concurrent transaction
        return True


class OutboxWorker:
    """Sends due messages: lease, send, mark; failures back off exponentially with jitter."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: dict[str, Sender],
        *,
        poll_s: float = 1.0,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.clock = clock  # the service's clock: due times are written with it
        self.sessions = sessions
        self.senders = senders
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Work due on a date rather than on a message (a child coming of age), once an hour.
        self.chores: Callable[[Session, dt.datetime], object] | None = None
        self._chores_at: dt.datetime | None = None

    def kick(self) -> None:
        """Look at the outbox now (a message was just queued)."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def wipe_delivered(self) -> int:
        """Wipe the bodies of messages delivered before bodies were wiped on delivery (a
        database from an older version); returns how many."""
        with self.sessions() as db, db.begin():
            wiped = db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.sent_at.is_not(None), OutboxMessage.body != DELIVERED)
                .values(body=DELIVERED)
            )
            return int(getattr(wiped, "rowcount", 0) or 0)

    def _loop(self) -> None:
        try:
            self.wipe_delivered()
        except Exception:
            log.exception("outbox: delivered bodies not wiped")
        while not self._stop.is_set():
            try:
                self.run_chores()
                self.run_once()
            except Exception:  # the worker must outlive a database hiccup
                log.exception("outbox pass failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def run_chores(self, *, every: dt.timedelta = dt.timedelta(hours=1)) -> None:
        """The dated work, if an hour has passed since it last ran."""
        now = self.clock()
        if self.chores is None or (self._chores_at is not None and now - self._chores_at < every):
            return
        self._chores_at = now
        with self.sessions() as db, db.begin():
            self.chores(db, now)

    def _lease(self, now: dt.datetime, limit: int) -> list[OutboxMessage]:
        with self.sessions() as db, db.begin():
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at)
                .limit(limit)
            )
            if db.bind is not None and db.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            due = list(db.scalars(query))
            for message in due:
                # The lease: another worker skips it until it expires.
                message.next_attempt_at = now + _LEASE
            return due

    def run_once(self, *, limit: int = 50, crash_after_send: bool = False) -> int:
        """One pass over due messages; returns how many were sent."""
        sent = 0
        for message in self._lease(self.clock(), limit):
            sender = self.senders.get(message.channel)
            try:
                if sender is None:
                    raise RuntimeError(f"no sender for {message.channel}")
                sender.send(message)
            except Exception as exc:  # any failure: back off and keep the message
                self._failed(message, exc)
                continue
            if crash_after_send:
                raise SystemExit("simulated crash between send and mark")
            with self.sessions() as db, db.begin():
                row = db.get(OutboxMessage, message.id)
                if row is not None and row.sent_at is None:
                    row.sent_at = self.clock()
                    row.attempts += 1
                    row.body = DELIVERED
            sent += 1
        return sent

    def _failed(self, message: OutboxMessage, exc: Exception) -> None:
        with self.sessions() as db, db.begin():
            row = db.get(OutboxMessage, message.id)
            if row is None:
                return
            row.attempts += 1
            delay = min(_MAX_BACKOFF_S, 2**row.attempts) * (0.5 + random.random())  # noqa: S311
            row.next_attempt_at = self.clock() + dt.timedelta(seconds=delay)
            row.last_error = type(exc).__name__[:200]
        log.warning("notification %s not sent (%s); retrying later", message.id, type(exc).__name__)
