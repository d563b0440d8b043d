"""A real SMTP server (aiosmtpd) and a small SMS gateway, both on loopback."""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.ports import free_port


class Mailbox:
    """Receives mail over SMTP. `transmissions` counts every delivery; `inbox` files one
    message per Message-ID, as a mailbox store does."""

    def __init__(self) -> None:
        self.transmissions: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.content or b"", policy=email.policy.default)
        with self.lock:
            self.transmissions.append(message)  # type: ignore[arg-type]
        return "250 OK"

    @property
    def inbox(self) -> list[EmailMessage]:
        with self.lock:
            seen: dict[str, EmailMessage] = {}
            for message in self.transmissions:
                seen.setdefault(str(message["Message-ID"]), message)
            return list(seen.values())

    def wait_for(self, count: int, timeout_s: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.inbox) >= count:
                return self.inbox
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.inbox)}")

    def latest(self, address: str, subject: str, timeout_s: float = 10) -> EmailMessage:
        """The latest message to this address whose subject says `subject`, once it came."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in reversed(self.inbox):
                if message["To"] == address and subject in str(message["Subject"]):
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no message saying {subject!r} received")

    def code_for(
        self, address: str, timeout_s: float = 10, *, subject: str = "code de connexion"
    ) -> str:
        """The code in the latest message to this address under this subject (a log-in code
        unless told otherwise)."""
        found = re.search(r"\b(\d{6})\b", self.latest(address, subject, timeout_s).get_content())
        if found is None:
            raise AssertionError("no code in the message")
        return found.group(1)


@dataclass
class SmsGateway:
    """An SMS gateway that honours Idempotency-Key, like the real providers do."""

    port: int = field(default_factory=free_port)
    requests: list[dict[str, Any]] = field(default_factory=list)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: int = 0

    def start(self) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                key = self.headers.get("Idempotency-Key", "")
                gateway.requests.append({"key": key, **body})
                if gateway.fail_next > 0:
                    gateway.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                gateway.delivered.setdefault(key, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "queued"}')

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def code_for(self, number: str, containing: str, timeout_s: float = 10) -> str:
        """The latest 6-digit code sent by SMS to this number in a text saying `containing`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for sent in reversed(list(self.delivered.values())):
                found = re.search(r"\b(\d{6})\b", str(sent["text"]))
                if sent["to"] == number and containing in str(sent["text"]) and found:
                    return found.group(1)
            time.sleep(0.05)
        raise AssertionError("no code received by SMS")

    def wait_for(self, count: int, timeout_s: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.delivered) >= count:
                return list(self.delivered.values())
            time.sleep(0.05)
        raise AssertionError(f"expected {count} SMS, got {len(self.delivered)}")


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback, for the duration of a test."""
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture
def sms() -> Iterator[SmsGateway]:
    """A small HTTP SMS gateway on loopback, for the duration of a test."""
    gateway = SmsGateway()
    gateway.start()
    yield gateway
    gateway.stop()
