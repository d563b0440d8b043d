"""The next HPKE seal, prepared on a helper thread while the queue's last commit is flushed.

An enqueue spends most of its time in two places: the ephemeral X25519 key, Diffie-Hellman and
key schedule of its seal (pure CPU), and the fsync of its commit (the disk, with the GIL
released). The seal's costly half depends on nothing but the central key, so the queue asks
for the next one just before it commits, and the helper computes it during the flush.

The helper is woken only then: woken earlier, it would take the GIL at each of the commit's
earlier statements and the writer would wait for it each time (measured: no gain at all).
A prepared seal lives in memory only and seals one payload; nothing is prepared in advance
beyond the next one.
"""

from __future__ import annotations

import queue
import threading

from dmpcommon.sealing import PreparedSeal, Recipient

__all__ = ["SealAhead"]

_STOP = None


class SealAhead:
    """At most one prepared seal, ready for the next enqueue. One caller at a time."""

    def __init__(self, recipient: Recipient) -> None:
        self._recipient = recipient
        # C-level queues: a plain put() is the cheapest way to wake the helper (a Condition
        # cost 20 µs per enqueue, a tenth of the commit it overlaps).
        self._requests: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[PreparedSeal | BaseException] = queue.SimpleQueue()
        self._outstanding = False  # a request whose result has not been taken
        self._thread: threading.Thread | None = None
        self._closed = False

    def take(self) -> PreparedSeal:
        """The prepared seal, or one prepared here and now."""
        if self._outstanding:
            self._outstanding = False
            result = self._results.get()  # almost always there already: it had a whole flush
            if isinstance(result, PreparedSeal):
                return result
        return self._recipient.prepare()  # nothing asked, or the helper failed: raise here

    def request(self) -> None:
        """Prepare the next seal now (the caller is about to block on the disk)."""
        if self._closed or self._outstanding:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="seal-ahead", daemon=True)
            self._thread.start()
        self._outstanding = True
        self._requests.put(True)

    def close(self) -> None:
        """Stop the helper and forget what it prepared."""
        self._closed = True
        thread, self._thread = self._thread, None
        if thread is not None:
            self._requests.put(_STOP)
            thread.join()
        if self._outstanding:
            self._outstanding = False
            self._results.get()

    def _run(self) -> None:
        while self._requests.get() is not _STOP:
            try:
                self._results.put(self._recipient.prepare())
            except Exception as exc:  # noqa: BLE001 - take() prepares inline and raises there
                self._results.put(exc)
