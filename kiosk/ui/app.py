"""`kiosk run`: wires the card thread, the workflow's thread, the sync thread and the window.

Everything it is told comes from one validated settings object (kiosk/settings.py).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from dmpcommon.actions import ActionPayload, build_payload_types
from kiosk.cardreader.counter import CounterCards
from kiosk.cardreader.pcsc import PyscardBackend
from kiosk.cardreader.service import CardEvent, CardEventKind, CardService
from kiosk.core import CounterWorkflow
from kiosk.core.ports import Delivery
from kiosk.logs import setup_logging
from kiosk.render import Renderer
from kiosk.settings import KioskSettings
from kiosk.sync.client import SyncClient
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.online import OnlineCentral
from kiosk.sync.queue import ActionQueue, open_engine
from kiosk.sync.transport import CentralClient, RequestSigner
from kiosk.ui.window import KioskWindow, PrintSettings, StatusPoller, start_ticking
from kiosk.ui.worker import WorkflowRunner

__all__ = ["READING_CARD", "Kiosk", "build_kiosk", "run"]

READING_CARD = "Lecture de la carte…"


class _WakingQueue:
    """The queue port: store, then wake the sync thread (the action leaves at once)."""

    def __init__(self, queue: ActionQueue, sync: SyncClient) -> None:
        self.queue, self.sync = queue, sync

    def enqueue(
        self, payload: ActionPayload, *, session_id: str, subject: str | None = None
    ) -> object:
        entry = self.queue.enqueue(payload, session_id=session_id, subject=subject)
        self.sync.wake()
        return entry

    def delivery(self, entry: object) -> Delivery:
        return self.queue.delivery(entry)

    def refusal(self, entry: object) -> str | None:
        return self.queue.refusal(entry)


class _CardBridge(QObject):
    """Card events (on the card thread) become workflow commands (on the workflow's thread)."""

    card_event = Signal(object)

    def __init__(self, runner: WorkflowRunner) -> None:
        super().__init__()
        self.runner = runner

    def __call__(self, event: CardEvent) -> None:
        reader = event.reader or ""
        if event.kind is CardEventKind.CARD_INSERTED and event.card is not None:
            family = event.card.family
            # Busy: a tap while the card is read would land on a screen about to change.
            self.runner.submit(lambda s: s.card_inserted(reader, family), busy=READING_CARD)
        elif event.kind in (CardEventKind.CARD_REMOVED, CardEventKind.READER_REMOVED):
            self.runner.submit(lambda s: s.card_removed(reader))
        self.card_event.emit(event)


@dataclass
class Kiosk:
    """Everything `kiosk run` starts, to stop it cleanly."""

    window: KioskWindow
    runner: WorkflowRunner
    cards: CardService
    sync: SyncClient
    sync_stop: threading.Event
    sync_thread: threading.Thread
    poller: StatusPoller
    queue: ActionQueue
    bridge: _CardBridge

    def stop(self) -> None:
        self.cards.stop()
        self.runner.stop()
        self.sync_stop.set()
        self.sync.wake()
        self.sync_thread.join(timeout=10)
        self.poller.stop()
        self.queue.close()


def build_kiosk(settings: KioskSettings) -> Kiosk:
    """The kiosk's parts, started; the window is not shown yet."""
    home, identity = settings.home, settings.identity()
    key = load_or_create_device_key(home / "device.key")
    queue = ActionQueue(
        open_engine(home / "queue.db"),
        kiosk_id=identity.kiosk_id,
        signing_key=key,
        central_key=identity.central_key,
    )
    signer = RequestSigner(identity.kiosk_id, key)
    sync = SyncClient(queue, CentralClient(identity.central_url, signer=signer), identity.kiosk_id)
    sync_stop = threading.Event()
    sync_thread = threading.Thread(
        target=sync.run, args=(sync_stop,), name="kiosk-sync", daemon=True
    )
    sync_thread.start()

    def forward(event: CardEvent) -> None:  # the bridge exists before the card thread starts
        bridge(event)

    service = CardService(PyscardBackend, forward)
    workflow = CounterWorkflow(
        kiosk_id=identity.kiosk_id,
        cards=CounterCards(service),
        central=OnlineCentral(
            CentralClient(
                identity.central_url,
                timeout_s=settings.central_timeout_s,
                # Its own signer: each client learns the service's clock on its own thread.
                signer=RequestSigner(identity.kiosk_id, key),
            )
        ),
        queue=_WakingQueue(queue, sync),
        idle_s=settings.idle_s,
        reader=Renderer(),
    )
    runner = WorkflowRunner(workflow)
    # The payloads' validators are built lazily: build them now, off the UI thread and
    # before the first login needs them (the welcome screen does not wait for this).
    runner.submit(lambda _workflow: build_payload_types())
    bridge = _CardBridge(runner)
    printing = PrintSettings(
        portal_url=settings.portal_url,
        printer=settings.printer,
        pdf_dir=settings.sheet_dir,
        layout=settings.sheet_layout,
    )
    window = KioskWindow(runner, printing)
    poller = StatusPoller(queue, lambda: sync.state)
    poller.status.connect(window.show_status)
    start_ticking(runner, window)
    service.start()
    return Kiosk(window, runner, service, sync, sync_stop, sync_thread, poller, queue, bridge)


def run(settings: KioskSettings, *, windowed: bool) -> int:
    """Run the kiosk until its window closes."""
    setup_logging(settings.home, json_lines=settings.log_json)
    settings.identity()  # not enrolled: one line from the command line, before any window
    app = QApplication.instance() or QApplication(sys.argv[:1])
    kiosk = build_kiosk(settings)
    if windowed:
        kiosk.window.resize(1024, 768)
        kiosk.window.show()
    else:
        kiosk.window.showFullScreen()
    # Once the event loop runs, the welcome screen is up (the demo waits for this line).
    QTimer.singleShot(0, lambda: print("kiosk: écran d'accueil affiché", flush=True))
    try:
        return app.exec()
    finally:
        kiosk.stop()
