"""The card service: one thread owns all PC/SC work, monitoring and card jobs alike.

The thread loops on the backend's wait_for_change; a submitted job cancels the wait, runs on
the thread and resolves a future. When PC/SC goes away (pcscd restarted, SCARD_E_NO_SERVICE)
the context is thrown away and a fresh one made until the service answers again. Any other
error of the context itself (a code pcsc-lite returns while pcscd restarts, such as
0x8010006A while the context is being established, or a bug of ours) is met the same way,
logged: the card thread never dies. A card that never answers (vpcd blocks forever on a
mute card) would freeze the thread: the caller's wait times out, the stuck thread is
abandoned and a fresh thread with a fresh context takes over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from enum import Enum, unique
from typing import Protocol, TypeVar

from kiosk.cardreader.apdu import CardConnection
from kiosk.cardreader.atr import AtrRule, identify_atr
from kiosk.cardreader.backend import PcscBackend, ReaderState
from kiosk.core.errors import (
    CardMuteError,
    KioskError,
    NoCardError,
    NoReaderError,
    PcscUnavailableError,
)

__all__ = [
    "CardEvent",
    "CardEventKind",
    "CardEventListener",
    "CardJob",
    "CardService",
    "diff_states",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
_REWAKE_S = 0.005  # a lost wake-up costs this, not the poll period
CardJob = Callable[[CardConnection, bytes], T]


@unique
class CardEventKind(Enum):
    """What changed."""

    SERVICE_LOST = "service_lost"
    SERVICE_RESTORED = "service_restored"
    READER_ADDED = "reader_added"
    READER_REMOVED = "reader_removed"
    CARD_INSERTED = "card_inserted"
    CARD_REMOVED = "card_removed"


@dataclass(frozen=True, slots=True)
class CardEvent:
    """A change in readers or cards. `card` is the ATR rule of an inserted card."""

    kind: CardEventKind
    reader: str | None = None
    atr: bytes = b""
    card: AtrRule | None = None


class CardEventListener(Protocol):
    """Receives events on the card thread; a UI must hop to its own thread before drawing."""

    def __call__(self, event: CardEvent) -> None: ...


def diff_states(old: dict[str, ReaderState], new: dict[str, ReaderState]) -> list[CardEvent]:
    """The events that lead from one snapshot to the next, removals first."""
    events: list[CardEvent] = []
    for name, state in old.items():
        after = new.get(name)
        if state.present and (after is None or not after.present or after.atr != state.atr):
            events.append(CardEvent(CardEventKind.CARD_REMOVED, name))
        if after is None:
            events.append(CardEvent(CardEventKind.READER_REMOVED, name))
    for name, state in new.items():
        before = old.get(name)
        if before is None:
            events.append(CardEvent(CardEventKind.READER_ADDED, name))
        if state.present and (before is None or not before.present or before.atr != state.atr):
            events.append(
                CardEvent(CardEventKind.CARD_INSERTED, name, state.atr, identify_atr(state.atr))
            )
    return events


def _name(error: BaseException) -> str:
    """An error as a log names it: its type, and its code for ours (no card data)."""
    code = getattr(error, "pcsc_code", None)
    return f"{type(error).__name__} {code:#010x}" if isinstance(code, int) else type(error).__name__


@dataclass
class _Job:
    reader: str | None
    run: Callable[[CardConnection, bytes], object]
    future: Future[object]


class _Worker(threading.Thread):
    """One generation of the card thread, with its own PC/SC context."""

    def __init__(self, service: CardService, generation: int) -> None:
        super().__init__(name=f"card-io-{generation}", daemon=True)
        self.service = service
        self.generation = generation
        self.backend: PcscBackend | None = None
        self.states: dict[str, ReaderState] = {}
        self.current_job: _Job | None = None

    def alive(self) -> bool:
        return not self.service._stopping.is_set() and self.service._generation == self.generation

    def run(self) -> None:
        service = self.service
        retry_s = service.reconnect_min_s
        failing_s = service.reconnect_min_s  # grows while contexts open but keep failing
        while self.alive():
            if self.backend is None:
                try:
                    self.backend = service._backend_factory()
                    self._publish(self.backend.snapshot())
                except Exception as exc:  # noqa: BLE001 - no context: wait, try a fresh one
                    if not isinstance(exc, PcscUnavailableError):
                        log.warning("PC/SC context failed (%s); trying a fresh one", _name(exc))
                    self._drop_backend()
                    service._set_available(False, self)
                    # Nobody should wait on a dead service: fail what is queued right away.
                    self._fail_jobs(
                        exc if isinstance(exc, KioskError) else PcscUnavailableError(_name(exc))
                    )
                    service._wakeup.wait(retry_s)
                    service._wakeup.clear()
                    retry_s = min(retry_s * 2, service.reconnect_max_s)
                    continue
                retry_s = service.reconnect_min_s
                service._set_available(True, self)
            try:
                service._wakeup.clear()
                self._run_jobs()
                if not self.alive():
                    break
                if service._wakeup.is_set():
                    continue  # a job came while we were busy: its cancel found no wait
                if self.backend.wait_for_change(self.states, service.poll_s):
                    self._publish(self.backend.snapshot())
                failing_s = service.reconnect_min_s
            except Exception as exc:  # noqa: BLE001 - the context is suspect: a fresh one
                if isinstance(exc, PcscUnavailableError):
                    log.warning("PC/SC service lost; making a fresh context")
                else:
                    log.warning("PC/SC context failed (%s); making a fresh one", _name(exc))
                self._drop_backend()
                self._publish({})
                service._set_available(False, self)
                service._wakeup.wait(failing_s)  # a context failing at once must not spin
                failing_s = min(failing_s * 2, service.reconnect_max_s)
        self._drop_backend()

    def _drop_backend(self) -> None:
        if self.backend is not None:
            try:
                self.backend.close()
            except Exception:  # noqa: BLE001, S110 - the context is being thrown away anyway
                pass
            self.backend = None

    def _fail_jobs(self, error: BaseException) -> None:
        while self.alive():
            job = self.service._next_job()
            if job is None:
                return
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(error)

    def _publish(self, states: dict[str, ReaderState]) -> None:
        events = diff_states(self.states, states)
        self.states = states
        for event in events:
            if self.alive():
                self.service._emit(event)

    def _run_jobs(self) -> None:
        backend = self.backend
        while backend is not None and self.alive():
            job = self.service._next_job()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            self.current_job = job
            try:
                job.future.set_result(self._run_one(backend, job))
            except PcscUnavailableError as exc:
                job.future.set_exception(exc)
                raise
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, never lost
                job.future.set_exception(exc)
            finally:
                self.current_job = None

    def _run_one(self, backend: PcscBackend, job: _Job) -> object:
        reader = job.reader or self._first_reader_with_card(backend)
        if job.reader is not None and reader not in self.states:
            # The snapshot may be stale (reader plugged in just now): refresh once.
            self._publish(backend.snapshot())
            if reader not in self.states:
                raise NoReaderError(reader)
        connection, atr = backend.connect(reader)
        try:
            return job.run(connection, atr)
        finally:
            connection.close()

    def _first_reader_with_card(self, backend: PcscBackend) -> str:
        self._publish(backend.snapshot())
        if not self.states:
            raise NoReaderError(None)
        for name in sorted(self.states):
            if self.states[name].present:
                return name
        raise NoCardError(None)


class CardService:
    """Owns the card I/O thread; monitors readers and runs card jobs on that thread."""

    def __init__(
        self,
        backend_factory: Callable[[], PcscBackend],
        listener: CardEventListener | None = None,
        *,
        poll_s: float = 1.0,
        job_timeout_s: float = 8.0,
        reconnect_min_s: float = 0.2,
        reconnect_max_s: float = 3.0,
    ) -> None:
        self._backend_factory = backend_factory
        self._listener = listener
        self.poll_s = poll_s
        self.job_timeout_s = job_timeout_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self._lock = threading.Lock()
        self._jobs: list[_Job] = []
        self._stopping = threading.Event()
        self._wakeup = threading.Event()
        self._generation = 0
        self._worker: _Worker | None = None
        self._available: bool | None = None
        self.ready = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the card thread."""
        with self._lock:
            self._stopping.clear()
            self._start_worker_locked()

    def _start_worker_locked(self) -> None:
        self._generation += 1
        self._worker = _Worker(self, self._generation)
        self._worker.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the card thread; pending jobs fail with NoReaderError."""
        self._stopping.set()
        with self._lock:
            worker, self._worker = self._worker, None
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            if job.future.set_running_or_notify_cancel():  # False once the caller gave up
                job.future.set_exception(NoReaderError(job.reader))
        self._wakeup.set()
        deadline = time.monotonic() + timeout_s
        while worker is not None and worker.is_alive() and time.monotonic() < deadline:
            self._wake(worker)  # again and again: a wake-up can be lost (see run)
            worker.join(_REWAKE_S * 10)

    def __enter__(self) -> CardService:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- jobs ------------------------------------------------------------------------------

    def submit(self, job: CardJob[T], *, reader: str | None = None) -> Future[T]:
        """Queue a job for the card thread: job(connection, atr) on the named reader, or on
        the first reader that holds a card."""
        future: Future[T] = Future()
        with self._lock:
            if self._worker is None:
                raise NoReaderError(reader)
            self._jobs.append(_Job(reader, job, future))  # type: ignore[arg-type]
            worker = self._worker
        self._wake(worker)
        return future

    def run(
        self, job: CardJob[T], *, reader: str | None = None, timeout_s: float | None = None
    ) -> T:
        """Run a job on the card thread and wait for it; a card that never answers raises
        CardMuteError and the card thread is replaced."""
        future = self.submit(job, reader=reader)
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.job_timeout_s)
        try:
            while True:
                try:
                    return future.result(
                        timeout=min(_REWAKE_S, max(0.0, deadline - time.monotonic()))
                    )
                except FutureTimeout:
                    if time.monotonic() >= deadline:
                        raise
                    if not future.running():
                        # The wake-up can land just before the thread blocks in PC/SC, where
                        # it is lost: wake it again rather than wait for its poll.
                        self._rewake()
        except FutureTimeout:
            if future.cancel():
                raise CardMuteError("the card thread was busy") from None
            self._replace_stuck_worker()
            raise CardMuteError("no answer from the card") from None

    def _rewake(self) -> None:
        with self._lock:
            worker = self._worker
        if worker is not None:
            self._wake(worker)

    def _replace_stuck_worker(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            log.warning("card I/O stuck; abandoning the card thread for a fresh one")
            self._start_worker_locked()

    def _next_job(self) -> _Job | None:
        with self._lock:
            return self._jobs.pop(0) if self._jobs else None

    def _wake(self, worker: _Worker) -> None:
        self._wakeup.set()
        backend = worker.backend
        if backend is not None:
            try:
                backend.cancel()
            except KioskError:
                pass  # the thread notices the dead context on its own

    # -- events ----------------------------------------------------------------------------

    @property
    def available(self) -> bool | None:
        """Whether PC/SC answered last time (None before the first try)."""
        return self._available

    def _set_available(self, available: bool, worker: _Worker) -> None:
        if not worker.alive():
            return
        previous, self._available = self._available, available
        self.ready.set()
        if previous is not None and previous is not available:
            kind = CardEventKind.SERVICE_RESTORED if available else CardEventKind.SERVICE_LOST
            self._emit(CardEvent(kind))

    def _emit(self, event: CardEvent) -> None:
        if self._listener is None:
            return
        try:
            self._listener(event)
        except Exception:  # a listener bug must not kill card monitoring
            log.exception("card event listener failed on %s", event.kind.name)
