"""The card service's logic against a fake PC/SC backend (the real one: tests/emulated)."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from kiosk.cardreader.apdu import CardConnection
from kiosk.cardreader.atr import CardFamily
from kiosk.cardreader.backend import PcscBackend, ReaderState
from kiosk.cardreader.service import CardEvent, CardEventKind, CardService, diff_states
from kiosk.core.errors import (
    CardCommunicationError,
    CardMuteError,
    NoCardError,
    NoReaderError,
    PcscUnavailableError,
)

VITALE_ATR = bytes.fromhex("3B751300004709EA9000")


def _state(name: str, atr: bytes = b"") -> ReaderState:
    return ReaderState(name, present=bool(atr), atr=atr)


def test_diff_states_orders_removals_first() -> None:
    old = {"A": _state("A", VITALE_ATR), "B": _state("B")}
    new = {"A": _state("A"), "C": _state("C", VITALE_ATR)}
    events = diff_states(old, new)
    assert [(e.kind, e.reader) for e in events] == [
        (CardEventKind.CARD_REMOVED, "A"),
        (CardEventKind.READER_REMOVED, "B"),
        (CardEventKind.READER_ADDED, "C"),
        (CardEventKind.CARD_INSERTED, "C"),
    ]
    assert events[-1].card is not None and events[-1].card.family is CardFamily.VITALE2


def test_a_card_swapped_between_two_polls_is_a_removal_then_an_insertion() -> None:
    other = bytes.fromhex("3B6500002063CB6A00")
    events = diff_states({"A": _state("A", VITALE_ATR)}, {"A": _state("A", other)})
    assert [e.kind for e in events] == [CardEventKind.CARD_REMOVED, CardEventKind.CARD_INSERTED]


class World:
    """What the fake PC/SC service shows; `down` makes every context fail."""

    def __init__(self) -> None:
        self.states: dict[str, ReaderState] = {"R0": _state("R0")}
        self.down = False
        self.changed = threading.Condition()
        self.contexts = 0
        self.hang = threading.Event()
        self.unblock = threading.Event()

    def set(self, **states: ReaderState) -> None:
        with self.changed:
            self.states = dict(states)
            self.changed.notify_all()


class FakeConnection(CardConnection):
    def __init__(self, world: World) -> None:
        self.world = world

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        if self.world.hang.is_set():
            self.world.unblock.wait(10)  # a card that never answers
        return b"", 0x9000

    def close(self) -> None:
        pass


class FakeBackend(PcscBackend):
    def __init__(self, world: World) -> None:
        if world.down:
            raise PcscUnavailableError("down")
        world.contexts += 1
        self.world = world
        self.cancelled = False

    def snapshot(self) -> dict[str, ReaderState]:
        if self.world.down:
            raise PcscUnavailableError("down")
        return dict(self.world.states)

    def wait_for_change(self, known: dict[str, ReaderState], timeout_s: float) -> bool:
        with self.world.changed:
            if self.cancelled:
                self.cancelled = False
                return False
            self.world.changed.wait_for(
                lambda: self.world.down or self.world.states != known or self.cancelled, timeout_s
            )
            if self.world.down:
                raise PcscUnavailableError("down")
            self.cancelled = False
            return self.world.states != known

    def cancel(self) -> None:
        with self.world.changed:
            self.cancelled = True
            self.world.changed.notify_all()

    def connect(self, reader: str) -> tuple[CardConnection, bytes]:
        return FakeConnection(self.world), self.world.states[reader].atr

    def close(self) -> None:
        pass


@pytest.fixture
def world() -> World:
    return World()


def _events(world: World) -> tuple[CardService, queue.Queue[CardEvent]]:
    events: queue.Queue[CardEvent] = queue.Queue()
    service = CardService(
        lambda: FakeBackend(world),
        events.put,
        poll_s=0.05,
        reconnect_min_s=0.01,
        reconnect_max_s=0.05,
        job_timeout_s=0.5,
    )
    return service, events


def _next(events: queue.Queue[CardEvent], kind: CardEventKind) -> CardEvent:
    while True:
        event = events.get(timeout=5)
        if event.kind is kind:
            return event


def test_service_reports_insertions_and_recovers_after_the_service_goes_away(world: World) -> None:
    service, events = _events(world)
    with service:
        assert _next(events, CardEventKind.READER_ADDED).reader == "R0"
        world.set(R0=_state("R0", VITALE_ATR))
        assert _next(events, CardEventKind.CARD_INSERTED).atr == VITALE_ATR
        with world.changed:
            world.down = True
            world.changed.notify_all()
        _next(events, CardEventKind.SERVICE_LOST)
        contexts = world.contexts
        world.states = {"R0": _state("R0")}
        world.down = False
        _next(events, CardEventKind.SERVICE_RESTORED)
        assert world.contexts == contexts + 1  # a fresh context, never the old one
        world.set(R0=_state("R0", VITALE_ATR))
        assert _next(events, CardEventKind.CARD_INSERTED).reader == "R0"


def test_jobs_run_on_the_card_thread_and_errors_reach_the_caller(world: World) -> None:
    service, _ = _events(world)
    threads: list[str] = []
    with service:
        with pytest.raises(NoCardError):
            service.run(lambda c, a: a)
        world.set(R0=_state("R0", VITALE_ATR))
        assert (
            service.run(lambda c, a: threads.append(threading.current_thread().name) or a)
            == VITALE_ATR
        )
        with pytest.raises(NoReaderError):
            service.run(lambda c, a: a, reader="R9")
    assert threads and threads[0].startswith("card-io-")


def test_a_card_that_never_answers_times_out_and_a_fresh_thread_takes_over(world: World) -> None:
    service, _ = _events(world)
    world.set(R0=_state("R0", VITALE_ATR))
    with service:
        world.hang.set()
        with pytest.raises(CardMuteError):
            service.run(lambda c, a: c.send_and_receive(b"\x00\xa4\x00\x00"))
        world.hang.clear()
        assert service.run(lambda c, a: a) == VITALE_ATR
        world.unblock.set()  # lets the abandoned thread see it is stale and leave


def test_a_listener_that_raises_does_not_stop_monitoring(world: World) -> None:
    seen: list[CardEvent] = []

    def listener(event: CardEvent) -> None:
        seen.append(event)
        raise RuntimeError("bug in a screen")

    service = CardService(lambda: FakeBackend(world), listener, poll_s=0.05)
    with service:
        world.set(R0=_state("R0", VITALE_ATR))
        for _ in range(100):
            if any(e.kind is CardEventKind.CARD_INSERTED for e in seen):
                break
            threading.Event().wait(0.05)
    assert any(e.kind is CardEventKind.CARD_INSERTED for e in seen)


def test_a_job_fails_fast_while_the_service_is_down(world: World) -> None:
    world.down = True
    service, _ = _events(world)
    with service:
        future = service.submit(lambda c, a: a)
        with pytest.raises(PcscUnavailableError):
            future.result(timeout=2)  # well before the job timeout of a mute card


def test_stop_after_a_caller_gave_up_on_a_queued_job(world: World) -> None:
    world.down = True
    service = CardService(lambda: FakeBackend(world), reconnect_min_s=5, reconnect_max_s=5)
    service.start()
    service._worker.join(0.2)  # type: ignore[union-attr]  # let it fail once and sleep
    future = service.submit(lambda c, a: a)
    future.cancel()
    service.stop()  # must not trip over the cancelled future
    assert future.cancelled() or isinstance(future.exception(), PcscUnavailableError)


class LosingBackend(FakeBackend):
    """pcsc-lite drops an SCardCancel that lands before the wait is registered with pcscd.
    This backend loses the first cancel of every wait, as that race does at worst."""

    lost = False

    def wait_for_change(self, known: dict[str, ReaderState], timeout_s: float) -> bool:
        with self.world.changed:
            self.lost = False
        return super().wait_for_change(known, timeout_s)

    def cancel(self) -> None:
        with self.world.changed:
            if not self.lost:
                self.lost = True
                return
        super().cancel()


def test_a_lost_wake_up_costs_milliseconds_not_the_poll_period(world: World) -> None:
    world.set(R0=_state("R0", b"\x3b\x00"))
    service = CardService(lambda: LosingBackend(world), poll_s=3.0, job_timeout_s=5.0)
    with service:
        service.ready.wait(5)
        durations = []
        for _ in range(5):
            start = time.monotonic()
            assert service.run(lambda _c, atr: atr, reader="R0") == b"\x3b\x00"
            durations.append(time.monotonic() - start)
    assert max(durations) < 0.5, durations  # the poll period is 3 s


class FlakyBackend(FakeBackend):
    """A context that fails as pcsc-lite does while pcscd restarts: with a code that is not
    'no service' (0x8010006A while establishing), or with an error nobody expected."""

    failures: list[BaseException] = []

    def __init__(self, world: World) -> None:
        if FlakyBackend.failures:
            raise FlakyBackend.failures.pop(0)
        super().__init__(world)

    def wait_for_change(self, known: dict[str, ReaderState], timeout_s: float) -> bool:
        if self.world.hang.is_set():  # here: a wait that fails once, unexpectedly
            self.world.hang.clear()
            raise RuntimeError("pyscard raised something of its own")
        return super().wait_for_change(known, timeout_s)


def test_the_card_thread_survives_any_error_of_its_context(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    FlakyBackend.failures = [
        CardCommunicationError(0x8010006A),  # SCARD_W_SECURITY_VIOLATION, seen in CI
        PcscUnavailableError("down"),
        OSError("socket closed"),
    ]
    events: queue.Queue[CardEvent] = queue.Queue()
    service = CardService(
        lambda: FlakyBackend(world), events.put, poll_s=0.05, reconnect_min_s=0.01
    )
    with service:
        assert _next(events, CardEventKind.READER_ADDED).reader == "R0"
        assert FlakyBackend.failures == []
        world.hang.set()
        with world.changed:
            world.changed.notify_all()
        world.set(R0=_state("R0", VITALE_ATR))
        assert _next(events, CardEventKind.CARD_INSERTED).reader == "R0"
        assert service.run(lambda _c, atr: atr, reader="R0") == VITALE_ATR
        worker = service._worker
        assert worker is not None and worker.is_alive()
    logged = caplog.text
    assert "CardCommunicationError 0x8010006a" in logged and "RuntimeError" in logged


class AlwaysFailingWait(FakeBackend):
    """A context that opens, then fails every wait: the thread must back off, not churn."""

    def wait_for_change(self, known: dict[str, ReaderState], timeout_s: float) -> bool:
        raise CardCommunicationError(0x80100016)


def test_a_context_that_keeps_failing_is_retried_less_and_less_often(world: World) -> None:
    service = CardService(
        lambda: AlwaysFailingWait(world), poll_s=0.05, reconnect_min_s=0.01, reconnect_max_s=0.2
    )
    with service:
        time.sleep(1.0)
        worker = service._worker
        assert worker is not None and worker.is_alive()
    # Without backing off: a context every 10 ms, about 100. With it: 10, 20, 40... 200 ms.
    assert 3 <= world.contexts <= 15, world.contexts
