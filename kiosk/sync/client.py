"""The sync loop: send pending envelopes in order, record the central service's answers.

Network trouble (no answer, timeout, 5xx) is retried with exponential backoff and jitter,
without ever giving up; `wake()` retries at once (the network came back). A refusal (fork,
bad signature, revoked kiosk) stops the loop with the reason: retrying would not help.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass

from kiosk.errors import CentralUnreachableError, SyncError
from kiosk.sync.queue import Outcome, QueueStore
from kiosk.sync.transport import CentralClient

__all__ = ["Backoff", "SyncClient", "SyncReport"]

log = logging.getLogger(__name__)


@dataclass
class Backoff:
    """Exponential backoff with full jitter, capped; never gives up."""

    base_s: float = 0.5
    cap_s: float = 300.0
    attempt: int = 0

    def next_delay(self, rng: random.Random) -> float:
        ceiling = min(self.cap_s, self.base_s * 2**self.attempt)
        self.attempt += 1
        return rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one pass did."""

    sent: int
    accepted: int
    rejected: int


class SyncClient:
    """Drains the local queue to the central service."""

    def __init__(
        self, store: QueueStore, transport: CentralClient, kiosk_id: str, *, batch_size: int = 200
    ) -> None:
        self.store = store
        self.transport = transport
        self.kiosk_id = kiosk_id
        self.batch_size = batch_size
        self.answered = 0  # envelopes answered since start: progress, even in a failed pass
        self.online: bool | None = None  # what the last try said (None: not tried yet)
        self._wake = threading.Event()

    def sync_once(self) -> SyncReport:
        """Send everything pending, batch by batch; raises SyncError if it cannot."""
        sent = accepted = rejected = 0
        while True:
            pending = self.store.pending(limit=self.batch_size)
            if not pending:
                return SyncReport(sent, accepted, rejected)
            results = self.transport.send_batch(
                self.kiosk_id, [(row.envelope, row.signature) for row in pending]
            )
            outcomes: list[Outcome] = []
            gap = None
            for result in results:
                if result.get("status") == "gap":
                    gap = result.get("expected")
                    break
                outcomes.append(
                    Outcome(
                        int(result["seq"]),
                        result.get("outcome") == "accepted",
                        result.get("reason"),
                    )
                )
            self.store.record_outcomes(outcomes)
            self.answered += len(outcomes)
            sent += len(outcomes)
            accepted += sum(o.accepted for o in outcomes)
            rejected += sum(not o.accepted for o in outcomes)
            if gap is not None:
                # The service lacks an earlier action we hold as answered: our store and
                # its ledger disagree, which only a person can sort out.
                raise SyncError(f"central expects seq {gap}")
            if not outcomes:
                raise SyncError("the central service answered nothing")

    def wake(self) -> None:
        """Try now (the network is back, or a new action was queued)."""
        self._wake.set()

    def run(
        self,
        stop: threading.Event,
        *,
        idle_s: float = 5.0,
        backoff: Backoff | None = None,
        probe_s: float = 2.0,
        seed: int | None = None,
    ) -> None:
        """Sync until `stop`; back off on network trouble, stop on a refusal.

        While backing off, the service's port is probed every `probe_s` (a TCP connect, no
        request): when the network comes back, the next try is immediate rather than at the
        end of a long backoff.
        """
        rng = random.Random(seed)  # noqa: S311 - jitter, not secrecy
        backoff = backoff or Backoff()
        while not stop.is_set():
            answered = self.answered
            try:
                self.sync_once()
                self.online = True
                backoff.reset()
                delay = idle_s
            except CentralUnreachableError as exc:
                self.online = False
                if self.answered != answered:
                    backoff.reset()  # a flaky network that still moves the queue: no long waits
                delay = backoff.next_delay(rng)
                log.info("central service unreachable (%s); next try in %.1f s", exc, delay)
                self._wait_for_network(stop, delay, probe_s)
                continue
            self._wake.wait(delay)
            self._wake.clear()

    def _wait_for_network(self, stop: threading.Event, delay: float, probe_s: float) -> None:
        """Wait `delay`, or less if the network was down and comes back."""
        deadline = time.monotonic() + delay
        # A service that answers badly (502...) gets the whole backoff; only a network that
        # was down and comes back cuts it short.
        network_down = not self.transport.reachable()
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            if self._wake.wait(min(probe_s, left) if network_down else left):
                break
            if network_down and self.transport.reachable():
                log.info("central service reachable again: trying now")
                break
        self._wake.clear()
