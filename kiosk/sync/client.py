"""The sync loop: send pending envelopes in order, record the central service's answers.

Network trouble (no answer, timeout, 5xx) is retried with exponential backoff and jitter,
without ever giving up; `wake()` retries at once (the network came back). A refusal (a
revoked or flagged kiosk, a fork, a gap in the sequence) or an answer the loop does not
understand does not end the thread either: the reason is logged and shown on the kiosk's
status line (`state`), and the loop tries again, slowly, until an administrator has cleared
the kiosk. Nothing queued is ever dropped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, replace

from kiosk.core.errors import CentralRefusedError, CentralUnreachableError, SyncError
from kiosk.sync.queue import Outcome, QueueStore
from kiosk.sync.transport import CentralClient

__all__ = ["Backoff", "SequenceGapError", "SyncClient", "SyncReport", "SyncState"]

log = logging.getLogger(__name__)
# After a refusal, try again at this pace: an administrator has to act first.
_REFUSED_RETRY_S = 60.0


class SequenceGapError(SyncError):
    """The service lacks an earlier action that this kiosk holds as answered."""

    code = "sequence_gap"

    def __init__(self, expected: object) -> None:
        super().__init__(f"central expects seq {expected}")
        self.expected = expected


class UnexpectedAnswerError(SyncError):
    """The service answered a batch with nothing the loop can record."""

    code = "unexpected_answer"


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
class SyncState:
    """What the status line shows: reachable or not, and why the service refuses, if it does."""

    online: bool | None = None  # None: not tried yet
    refusal: str | None = None  # the service's code (kiosk_revoked, fork...) or ours
    # time.monotonic() when the batch in flight was sent (None: no request in flight): a
    # service that hangs is told apart from one that answered.
    request_started: float | None = None


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
        self.state = SyncState()  # replaced whole, so a reader on another thread sees one
        self._wake = threading.Event()

    @property
    def online(self) -> bool | None:
        """What the last try said (None: not tried yet)."""
        return self.state.online

    def sync_once(self) -> SyncReport:
        """Send everything pending, batch by batch; raises SyncError if it cannot."""
        sent = accepted = rejected = 0
        while True:
            pending = self.store.pending(limit=self.batch_size)
            if not pending:
                return SyncReport(sent, accepted, rejected)
            self.state = replace(self.state, request_started=time.monotonic())
            try:
                results = self.transport.send_batch(
                    self.kiosk_id, [(row.envelope, row.signature) for row in pending]
                )
            finally:
                self.state = replace(self.state, request_started=None)
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
                raise SequenceGapError(gap)
            if not outcomes:
                raise UnexpectedAnswerError("the central service answered nothing")

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
        """Sync until `stop`; back off on network trouble, slow down on a refusal.

        While backing off, the service's port is probed every `probe_s` (a TCP connect, no
        request): when the network comes back, the next try is immediate rather than at the
        end of a long backoff.
        """
        rng = random.Random(seed)  # noqa: S311 - jitter, not secrecy
        backoff = backoff or Backoff()
        while not stop.is_set():
            try:
                self._pass(stop, rng, backoff, idle_s=idle_s, probe_s=probe_s)
            except Exception:  # noqa: BLE001 - even the waiting failed: say it, try again later
                log.exception("sync loop failed")
                self.state = SyncState(online=self.state.online, refusal="unexpected")
                self._wake.wait(max(_REFUSED_RETRY_S, idle_s))  # a new action tries at once
                self._wake.clear()

    def _pass(
        self,
        stop: threading.Event,
        rng: random.Random,
        backoff: Backoff,
        *,
        idle_s: float,
        probe_s: float,
    ) -> None:
        """One try, then the wait before the next."""
        answered = self.answered
        try:
            self.sync_once()
            self.state = SyncState(online=True)
            backoff.reset()
            delay = idle_s
        except CentralUnreachableError as exc:
            self.state = SyncState(online=False)
            if self.answered != answered:
                backoff.reset()  # a flaky network that still moves the queue: no long waits
            delay = backoff.next_delay(rng)
            log.info("central service unreachable (%s); next try in %.1f s", exc, delay)
            self._wait_for_network(stop, delay, probe_s)
            return
        except CentralRefusedError as exc:
            self._refused(exc.reason, f"HTTP {exc.status}")
            delay = max(_REFUSED_RETRY_S, idle_s)
        except SyncError as exc:
            self._refused(exc.code, str(exc))
            delay = max(_REFUSED_RETRY_S, idle_s)
        except Exception:  # a bug must not end syncing silently: say it, try again later
            log.exception("sync pass failed")
            self.state = SyncState(online=self.state.online, refusal="unexpected")
            delay = max(_REFUSED_RETRY_S, idle_s)
        self._wake.wait(delay)
        self._wake.clear()

    def _refused(self, reason: str, detail: str) -> None:
        if self.state.refusal != reason:  # once per refusal, not at every retry
            log.error("central service refuses this kiosk's queue: %s (%s)", reason, detail)
        self.state = SyncState(online=True, refusal=reason)

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
