"""`kiosk run`: wires the card thread, the session's thread, the sync thread and the window.

Settings (environment):
- KIOSK_HOME: data folder (see kiosk/config.py);
- KIOSK_IDLE_S: idle timeout in seconds (90);
- KIOSK_LOG_JSON=1: JSON lines in KIOSK_HOME/logs/kiosk.log (plain lines otherwise);
- KIOSK_PRINTER: printer name (the default printer when unset);
- KIOSK_SHEET_DIR: write access sheets as PDF files there instead (demo and tests);
- KIOSK_PORTAL_URL: the patient portal's address, printed on the sheet.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from kiosk.cardreader.counter import CounterCards
from kiosk.cardreader.pcsc import PyscardBackend
from kiosk.cardreader.service import CardEvent, CardEventKind, CardService
from kiosk.logs import setup_logging
from kiosk.session import KioskSession
from kiosk.sync.client import SyncClient
from kiosk.sync.enrolment import KioskIdentity, load_identity
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.online import OnlineCentral
from kiosk.sync.queue import ActionQueue, open_engine
from kiosk.sync.transport import CentralClient, RequestSigner
from kiosk.ui.window import KioskWindow, PrintSettings, StatusPoller, start_ticking
from kiosk.ui.worker import SessionRunner

__all__ = ["Kiosk", "build_kiosk", "run"]


class _WakingQueue:
    """The queue port: store, then wake the sync thread (the action leaves at once)."""

    def __init__(self, queue: ActionQueue, sync: SyncClient) -> None:
        self.queue, self.sync = queue, sync

    def enqueue(self, action_type: str, payload: dict[str, Any], *, session_id: str) -> Any:
        entry = self.queue.enqueue(action_type, payload, session_id=session_id)
        self.sync.wake()
        return entry


class _CardBridge(QObject):
    """Card events (on the card thread) become session commands (on the session's thread)."""

    card_event = Signal(object)

    def __init__(self, runner: SessionRunner) -> None:
        super().__init__()
        self.runner = runner

    def __call__(self, event: CardEvent) -> None:
        reader = event.reader or ""
        if event.kind is CardEventKind.CARD_INSERTED and event.card is not None:
            family = event.card.family.value
            self.runner.submit(lambda s: s.card_inserted(reader, family))
        elif event.kind in (CardEventKind.CARD_REMOVED, CardEventKind.READER_REMOVED):
            self.runner.submit(lambda s: s.card_removed(reader))
        self.card_event.emit(event)


@dataclass
class Kiosk:
    """Everything `kiosk run` starts, to stop it cleanly."""

    window: KioskWindow
    runner: SessionRunner
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


def build_kiosk(
    home: Path,
    identity: KioskIdentity,
    *,
    idle_s: float = 90.0,
    printing: PrintSettings,
) -> Kiosk:
    """The kiosk's parts, started; the window is not shown yet."""
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
    session = KioskSession(
        kiosk_id=identity.kiosk_id,
        cards=CounterCards(service),
        central=OnlineCentral(CentralClient(identity.central_url, timeout_s=5)),
        queue=_WakingQueue(queue, sync),
        idle_s=idle_s,
    )
    runner = SessionRunner(session)
    bridge = _CardBridge(runner)
    window = KioskWindow(runner, printing)
    poller = StatusPoller(queue, lambda: sync.online)
    poller.status.connect(window.show_status)
    start_ticking(runner, window)
    service.start()
    return Kiosk(window, runner, service, sync, sync_stop, sync_thread, poller, queue, bridge)


def run(*, windowed: bool) -> int:
    """Run the kiosk until its window closes."""
    from kiosk.config import kiosk_home

    home = kiosk_home()
    setup_logging(home, json_lines=os.environ.get("KIOSK_LOG_JSON") == "1")
    identity = load_identity(home)
    if identity is None:
        print("kiosk : kiosque non enrôlé : lancez d'abord « kiosk enroll »", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    sheet_dir = os.environ.get("KIOSK_SHEET_DIR")
    kiosk = build_kiosk(
        home,
        identity,
        idle_s=float(os.environ.get("KIOSK_IDLE_S", "90")),
        printing=PrintSettings(
            portal_url=os.environ.get("KIOSK_PORTAL_URL", "https://www.monespacesante.fr"),
            printer=os.environ.get("KIOSK_PRINTER") or None,
            pdf_dir=Path(sheet_dir) if sheet_dir else None,
        ),
    )
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
