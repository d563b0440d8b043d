"""The card monitor on the real pcscd: insertions, removals, and pcscd killed and restarted."""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from pathlib import Path

import pytest

from kiosk.cardreader.atr import CardFamily
from kiosk.cardreader.pcsc import PyscardBackend
from kiosk.cardreader.reading import read_card
from kiosk.cardreader.service import CardEvent, CardEventKind, CardService
from kiosk.core.errors import KioskError, NoReaderError, PcscUnavailableError
from kiosk.messages import describe_error
from tests.support.paths import CARDS
from tests.support.pcsc import (
    READERS,
    card_in_slot,
    run_kiosk,
    spawn_pcscd,
    start_pcscd,
    stop_pcscd,
)


def _next(events: queue.Queue[CardEvent], kind: CardEventKind, timeout_s: float = 10) -> CardEvent:
    while True:
        event = events.get(timeout=timeout_s)
        if event.kind is kind:
            return event


@pytest.fixture
def monitored() -> tuple[CardService, queue.Queue[CardEvent]]:
    events: queue.Queue[CardEvent] = queue.Queue()
    service = CardService(PyscardBackend, events.put, reconnect_min_s=0.1, reconnect_max_s=0.5)
    service.start()
    yield service, events  # type: ignore[misc]
    service.stop()


def test_monitor_reports_readers_insertions_and_removals(
    monitored: tuple[CardService, queue.Queue[CardEvent]],
) -> None:
    _service, events = monitored
    added = {_next(events, CardEventKind.READER_ADDED).reader for _ in READERS}
    assert added == set(READERS)
    with card_in_slot(CARDS / "cps-medecin.json", slot=1, wait=False):
        inserted = _next(events, CardEventKind.CARD_INSERTED)
        assert inserted.reader == READERS[1]
        assert inserted.card is not None and inserted.card.family is CardFamily.PROFESSIONAL
    assert _next(events, CardEventKind.CARD_REMOVED).reader == READERS[1]


def test_monitor_survives_pcscd_restart_and_reports_the_next_card(
    monitored: tuple[CardService, queue.Queue[CardEvent]],
) -> None:
    service, events = monitored
    _next(events, CardEventKind.READER_ADDED)
    stop_pcscd()
    _next(events, CardEventKind.SERVICE_LOST)
    start_pcscd()
    _next(events, CardEventKind.SERVICE_RESTORED)
    with card_in_slot(CARDS / "vitale-adulte-seul.json", slot=0, wait=False):
        inserted = _next(events, CardEventKind.CARD_INSERTED)
        assert inserted.reader == READERS[0]
        assert inserted.card is not None and inserted.card.family is CardFamily.VITALE2
        card = service.run(read_card, reader=READERS[0])
    assert card.atr == inserted.atr


def test_twenty_pcscd_restarts_in_a_row_then_the_next_card_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """pcscd killed and started again 20 times, at random moments of its start-up, while
    the card thread keeps making fresh contexts every few milliseconds, and a second thread
    establishes contexts without pause: some are being established when pcscd goes (the
    0x8010006A a CI run once met). The same card service, never restarted, reports the next
    card and reads it. (tests/unit/test_service.py fails that error on purpose, every time.)"""
    events: queue.Queue[CardEvent] = queue.Queue()
    service = CardService(PyscardBackend, events.put, reconnect_min_s=0.005, reconnect_max_s=0.02)
    rng = random.Random(20261202)
    failures: list[str] = []
    stop = threading.Event()

    def establish() -> None:
        while not stop.is_set():
            try:
                PyscardBackend().close()
            except KioskError as exc:
                failures.append(exc.code)

    with service, caplog.at_level(logging.WARNING, logger="kiosk.cardreader.service"):
        _next(events, CardEventKind.READER_ADDED)
        racer = threading.Thread(target=establish, daemon=True)
        racer.start()
        try:
            for _ in range(20):
                stop_pcscd()
                spawn_pcscd()
                time.sleep(rng.uniform(0.0, 0.3))  # killed anywhere in its start-up
        finally:
            stop.set()
            racer.join(10)
            stop_pcscd()
            start_pcscd()
        worker = service._worker
        assert worker is not None and worker.is_alive()
        with card_in_slot(CARDS / "vitale-adulte-seul.json", slot=0, wait=False):
            inserted = _next(events, CardEventKind.CARD_INSERTED, timeout_s=15)
            assert inserted.reader == READERS[0]
            assert service.run(read_card, reader=READERS[0]).atr == inserted.atr
        assert service._worker is worker  # the same thread all along
    assert failures, "no context was refused: pcscd never went away mid-establishment"
    assert "PC/SC" in caplog.text  # the card thread met the lost service, and lived


def test_a_card_left_in_the_reader_survives_pcscd_restart(
    monitored: tuple[CardService, queue.Queue[CardEvent]],
) -> None:
    service, events = monitored
    with card_in_slot(CARDS / "vitale-adulte-seul.json", slot=0, wait=False):
        _next(events, CardEventKind.CARD_INSERTED)
        stop_pcscd()
        _next(events, CardEventKind.SERVICE_LOST)
        start_pcscd()
        _next(events, CardEventKind.SERVICE_RESTORED)
        # The virtual card reconnects to the new vpcd like a real card stays in its reader.
        assert _next(events, CardEventKind.CARD_INSERTED).reader == READERS[0]
        assert service.run(read_card, reader=READERS[0]).atr


def test_readers_that_disappear_and_come_back_are_reported(
    monitored: tuple[CardService, queue.Queue[CardEvent]], tmp_path: Path
) -> None:
    service, events = monitored
    assert {_next(events, CardEventKind.READER_ADDED).reader for _ in READERS} == set(READERS)
    empty_conf = tmp_path / "reader.conf.d"
    empty_conf.mkdir()
    try:
        stop_pcscd()
        start_pcscd(config_dir=empty_conf)  # the same service, now without the vpcd readers
        gone = {_next(events, CardEventKind.READER_REMOVED).reader for _ in READERS}
    finally:
        stop_pcscd()
        start_pcscd()
    assert gone == set(READERS)
    assert {_next(events, CardEventKind.READER_ADDED).reader for _ in READERS} == set(READERS)
    with card_in_slot(CARDS / "cps-medecin.json", slot=1, wait=False):
        assert _next(events, CardEventKind.CARD_INSERTED).reader == READERS[1]
        assert service.run(read_card, reader=READERS[1]).atr


def test_cli_without_pcscd_and_without_any_reader(tmp_path: Path) -> None:
    try:
        stop_pcscd()
        down = run_kiosk("card", "read")
        readers_down = run_kiosk("readers")
        empty_conf = tmp_path / "reader.conf.d"
        empty_conf.mkdir()
        start_pcscd(config_dir=empty_conf)
        no_reader = run_kiosk("card", "read")
        readers_none = run_kiosk("readers")
    finally:
        stop_pcscd()
        start_pcscd()
    for result in (down, readers_down):
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.strip() == f"kiosk: {describe_error(PcscUnavailableError('x'))}"
    for result in (no_reader, readers_none):
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.strip() == f"kiosk: {describe_error(NoReaderError(None))}"
