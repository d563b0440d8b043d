"""The counter over real parts: pcscd with vpcd and the virtual cards, the central service
on loopback (SQLite), the real queue. Fixtures for the e2e and UI suites (their conftests
import them), and the helpers that put a card in a reader and tell the workflow, as the
kiosk's card events would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from central.config import Settings
from central.migrate import upgrade
from drivers.image import load_image
from kiosk.cardreader.atr import identify_atr
from kiosk.cardreader.counter import CounterCards
from kiosk.cardreader.pcsc import PyscardBackend
from kiosk.cardreader.service import CardService
from kiosk.core import CounterWorkflow
from kiosk.sync.enrolment import enroll
from kiosk.sync.online import OnlineCentral
from kiosk.sync.queue import ActionQueue
from kiosk.sync.transport import CentralClient, RequestSigner
from tests.support import pcsc
from tests.support.aged import write_aged_fixtures
from tests.support.central import (
    Server,
    enrol_test_kiosk,
    enrollment_token,
    start_server,
    wipe,
)
from tests.support.mail import Mailbox, SmsGateway
from tests.support.queues import enrolled_queue


@dataclass(frozen=True)
class AgedFixtures:
    """Card images and identity register whose people keep their ages (tests.support.aged)."""

    cards: Path
    identities: Path


@pytest.fixture(scope="session")
def aged(tmp_path_factory: pytest.TempPathFactory) -> AgedFixtures:
    cards, identities = write_aged_fixtures(tmp_path_factory.mktemp("aged"), dt.date.today())
    return AgedFixtures(cards, identities)


@pytest.fixture(autouse=True)
def pcscd() -> None:
    """pcscd must be up with both vpcd slots empty before each test."""
    pcsc.start_pcscd()
    for reader in pcsc.READERS:
        pcsc.wait_reader(reader, False)


@pytest.fixture
def server(tmp_path: Path, mailbox: Mailbox, aged: AgedFixtures) -> Iterator[Server]:
    gateway = SmsGateway()
    gateway.start()
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'central.db'}",
        home=tmp_path / "central",
        identities=aged.identities,
        portal_url="http://portail.test/patient",
        smtp_url=f"smtp://127.0.0.1:{mailbox.port}",
        sms_url=f"http://127.0.0.1:{gateway.port}/sms",
    )
    upgrade(settings.database_url)
    running = start_server(settings)
    wipe(running.state.engine)
    enrol_test_kiosk(running.state)  # the kiosk the tests' own operator requests come from
    yield running
    running.stop()
    gateway.stop()


@pytest.fixture
def cards() -> Iterator[CounterCards]:
    service = CardService(PyscardBackend)
    service.start()
    yield CounterCards(service)
    service.stop()


@pytest.fixture
def queue(server: Server, tmp_path: Path) -> Iterator[ActionQueue]:
    (tmp_path / "kiosk").mkdir()
    queue = enrolled_queue(server, tmp_path / "kiosk")
    yield queue
    queue.close()


def enrolled_home(server: Server, home: Path) -> Path:
    """A kiosk home enrolled with the service, as `kiosk enroll` leaves it."""
    enroll(home, central_url=server.url, token=enrollment_token(server))
    return home


def make_workflow(
    server: Server, cards: CounterCards, queue: ActionQueue, url: str | None = None
) -> CounterWorkflow:
    """The counter's workflow over the real card thread, service and queue."""
    central = OnlineCentral(
        CentralClient(
            url or server.url,
            timeout_s=3,
            signer=RequestSigner(queue.kiosk_id, queue.signing_key),
        )
    )
    return CounterWorkflow(kiosk_id=queue.kiosk_id, cards=cards, central=central, queue=queue)


@contextmanager
def inserted(workflow: CounterWorkflow, image: Path, *, slot: int) -> Iterator[None]:
    """A card in a vpcd slot, its arrival and departure told to the workflow as the kiosk's
    card events would."""
    reader = pcsc.READERS[slot]
    family = identify_atr(load_image(image).atr).family
    with pcsc.card_in_slot(image, slot=slot):
        workflow.card_inserted(reader, family)
        yield
    workflow.card_removed(reader)
