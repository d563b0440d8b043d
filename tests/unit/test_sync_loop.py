"""The sync thread never dies: a refusal, a gap or an answer it does not understand is shown
(SyncState) and logged, and the loop goes on. A fake transport and store; the real ones
against a revoked kiosk: tests/ui (the status line), tests/central (the refusals)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from kiosk.core.errors import CentralRefusedError, CentralUnreachableError
from kiosk.sync.client import SyncClient, SyncState
from kiosk.sync.queue import Outcome


@dataclass
class Row:
    seq: int
    envelope: bytes = b"e"
    signature: bytes = b"s"


@dataclass
class FakeStore:
    rows: list[Row] = field(default_factory=lambda: [Row(1), Row(2)])
    answered: list[Outcome] = field(default_factory=list)

    def pending(self, limit: int = 100) -> list[Row]:
        done = {o.seq for o in self.answered}
        return [r for r in self.rows if r.seq not in done][:limit]

    def record_outcomes(self, outcomes: list[Outcome]) -> None:
        self.answered.extend(outcomes)


class ScriptedTransport:
    """Answers each batch with the next of `answers`: an exception to raise, or results."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls = 0

    def send_batch(self, _kiosk: str, items: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else "ok"
        if isinstance(answer, BaseException):
            raise answer
        if answer == "ok":
            return [
                {"seq": i + 1, "status": "recorded", "outcome": "accepted"}
                for i in range(len(items))
            ]
        return list(answer)

    def reachable(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [
        (CentralRefusedError(403, "kiosk_revoked", "this kiosk is revoked"), "kiosk_revoked"),
        (CentralRefusedError(409, "fork", "fork at seq 1"), "fork"),
        ([{"seq": 1, "status": "gap", "expected": 7}], "sequence_gap"),
        ([], "unexpected_answer"),
        (ValueError("a bug of ours"), "unexpected"),
    ],
)
def test_a_refusal_is_shown_and_logged_and_the_loop_goes_on(
    answer: Any, refusal: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeStore()
    transport = ScriptedTransport([answer])
    client = SyncClient(store, transport, "kiosk-1")  # type: ignore[arg-type]
    stop = threading.Event()
    thread = threading.Thread(target=client.run, args=(stop,), kwargs={"idle_s": 0.01})
    with caplog.at_level(logging.ERROR, logger="kiosk.sync.client"):
        thread.start()
        deadline = time.monotonic() + 5
        while client.state.refusal != refusal and time.monotonic() < deadline:
            time.sleep(0.005)
        assert client.state == SyncState(online=client.state.online, refusal=refusal)
        client.wake()  # an administrator cleared it: the next try goes through
        while store.pending() and time.monotonic() < deadline:
            client.wake()
            time.sleep(0.005)
        stop.set()
        client.wake()
        thread.join(5)
    assert not thread.is_alive()
    assert store.pending() == [] and transport.calls >= 2  # nothing lost, it went on
    assert client.state == SyncState(online=True, refusal=None)
    assert refusal in caplog.text or "sync pass failed" in caplog.text


def test_an_unreachable_service_is_offline_not_refused() -> None:
    store = FakeStore()
    transport = ScriptedTransport([CentralUnreachableError("timeout")])
    client = SyncClient(store, transport, "kiosk-1")  # type: ignore[arg-type]
    with pytest.raises(CentralUnreachableError):
        client.sync_once()
    assert client.state == SyncState()  # sync_once says nothing; the loop sets the state


class BrokenProbe(ScriptedTransport):
    """Unreachable, and its probe of the network fails too (a bug, a URL it cannot parse)."""

    def reachable(self) -> bool:
        raise RuntimeError("the probe itself failed")


def test_the_loop_survives_a_failing_wait_too(caplog: pytest.LogCaptureFixture) -> None:
    transport = BrokenProbe([CentralUnreachableError("down")] * 3)
    client = SyncClient(FakeStore(), transport, "kiosk-1")  # type: ignore[arg-type]
    stop = threading.Event()
    thread = threading.Thread(target=client.run, args=(stop,), kwargs={"idle_s": 0.01})
    with caplog.at_level(logging.ERROR, logger="kiosk.sync.client"):
        thread.start()
        deadline = time.monotonic() + 5
        while "sync loop failed" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.005)
        assert thread.is_alive() and client.state.refusal == "unexpected"
        stop.set()
        client.wake()
        thread.join(5)
    assert not thread.is_alive()


def test_a_url_with_a_port_out_of_range_is_unreachable_not_a_crash() -> None:
    from kiosk.sync.transport import CentralClient

    assert CentralClient("http://central.example:99999").reachable() is False
