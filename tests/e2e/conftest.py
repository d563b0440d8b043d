"""Card -> kiosk workflow -> queue -> central: the real pcscd with vpcd and our virtual cards,
the real central service on loopback (SQLite), the real queue and sync client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from central.config import Settings
from drivers.image import load_image
from kiosk.cardreader.atr import identify_atr
from kiosk.cardreader.counter import CounterCards
from kiosk.cardreader.pcsc import PyscardBackend
from kiosk.cardreader.service import CardService
from kiosk.session import KioskSession
from kiosk.sync.client import SyncClient
from kiosk.sync.enrolment import enroll
from kiosk.sync.online import OnlineCentral
from kiosk.sync.queue import ActionQueue
from kiosk.sync.transport import CentralClient, RequestSigner
from tests import pcsc_helpers
from tests.central.harness import Server, enrollment_token, start_server, wipe
from tests.central.mail import Mailbox, SmsGateway
from tests.central.test_ingest import _enrolled_queue

CARDS = Path(__file__).resolve().parents[2] / "fixtures" / "cards"


@pytest.fixture(autouse=True)
def pcscd() -> None:
    pcsc_helpers.start_pcscd()
    for reader in pcsc_helpers.READERS:
        pcsc_helpers.wait_reader(reader, False)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture
def server(tmp_path: Path, mailbox: Mailbox) -> Iterator[Server]:
    gateway = SmsGateway()
    gateway.start()
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'central.db'}",
        home=tmp_path / "central",
        portal_url="http://portail.test/patient",
        smtp_url=f"smtp://127.0.0.1:{mailbox.port}",
        sms_url=f"http://127.0.0.1:{gateway.port}/sms",
    )
    from central.migrate import upgrade

    upgrade(settings.database_url)
    running = start_server(settings)
    wipe(running.state.engine)
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
    queue = _enrolled_queue(server, tmp_path / "kiosk")
    yield queue
    queue.close()


def enrolled_home(server: Server, home: Path) -> Path:
    enroll(home, central_url=server.url, token=enrollment_token(server))
    return home


def make_session(
    server: Server, cards: CounterCards, queue: ActionQueue, url: str | None = None
) -> KioskSession:
    central = OnlineCentral(CentralClient(url or server.url, timeout_s=3))
    return KioskSession(kiosk_id=queue.kiosk_id, cards=cards, central=central, queue=queue)


@contextmanager
def inserted(session: KioskSession, card: str, *, slot: int) -> Iterator[None]:
    """A fixture card in a vpcd slot, its arrival and departure told to the session as the
    kiosk's card events would."""
    reader = pcsc_helpers.READERS[slot]
    image = CARDS / card
    family = identify_atr(load_image(image).atr).family.value
    with pcsc_helpers.card_in_slot(image, slot=slot):
        session.card_inserted(reader, family)
        yield
    session.card_removed(reader)


def sync(server: Server, queue: ActionQueue) -> None:
    signer = RequestSigner(queue.kiosk_id, queue.signing_key)
    SyncClient(queue, CentralClient(server.url, signer=signer), queue.kiosk_id).sync_once()
