"""The seal prepared ahead: made on the helper thread when asked, used once, never stale."""

from __future__ import annotations

import threading

import pytest

from dmpcommon.sealing import PreparedSeal, Recipient, open_sealed
from kiosk.sync.sealahead import SealAhead


class _Watched(Recipient):
    """A real recipient that notes on which thread each seal was prepared."""

    def __init__(self, public_key: bytes) -> None:
        super().__init__(public_key)
        self.threads: list[threading.Thread] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail = False

    def prepare(self) -> PreparedSeal:
        self.threads.append(threading.current_thread())
        self.gate.wait(10)
        if self.fail:
            raise RuntimeError("no entropy today")
        return super().prepare()

    def names(self) -> list[str]:
        here = threading.current_thread()
        return ["here" if t is here else t.name for t in self.threads]


def test_a_requested_seal_is_prepared_on_the_helper_and_opens(
    central_keys: tuple[bytes, bytes],
) -> None:
    recipient = _Watched(central_keys[1])
    ahead = SealAhead(recipient)
    ahead.request()
    enc, ciphertext = ahead.take().seal(b'{"ins":"1"}', header=b"h")
    assert recipient.names() == ["seal-ahead"]
    assert open_sealed(central_keys[0], enc, ciphertext, header=b"h") == b'{"ins":"1"}'
    ahead.close()


def test_without_a_request_the_seal_is_prepared_inline_and_never_twice(
    central_keys: tuple[bytes, bytes],
) -> None:
    recipient = _Watched(central_keys[1])
    ahead = SealAhead(recipient)
    first, second = ahead.take(), ahead.take()
    assert recipient.names() == ["here", "here"]
    assert first.enc != second.enc
    ahead.request()
    ahead.request()  # one is enough: nothing is prepared further ahead
    third, fourth = ahead.take(), ahead.take()
    assert third.enc != fourth.enc
    assert recipient.names()[2:] == ["seal-ahead", "here"]
    ahead.close()


def test_take_waits_for_the_seal_being_prepared_instead_of_making_a_second(
    central_keys: tuple[bytes, bytes],
) -> None:
    recipient = _Watched(central_keys[1])
    recipient.gate.clear()
    ahead = SealAhead(recipient)
    ahead.request()
    threading.Timer(0.1, recipient.gate.set).start()
    ahead.take()
    assert recipient.names() == ["seal-ahead"]
    ahead.close()


def test_a_failure_on_the_helper_is_met_again_inline(central_keys: tuple[bytes, bytes]) -> None:
    recipient = _Watched(central_keys[1])
    recipient.fail = True
    ahead = SealAhead(recipient)
    ahead.request()
    with pytest.raises(RuntimeError, match="entropy"):
        ahead.take()
    assert recipient.names() == ["seal-ahead", "here"]
    recipient.fail = False
    ahead.request()  # the helper goes on after a failure
    ahead.take()
    assert recipient.names()[2:] == ["seal-ahead"]
    ahead.close()


def test_close_stops_the_helper_and_drops_what_it_prepared(
    central_keys: tuple[bytes, bytes],
) -> None:
    recipient = _Watched(central_keys[1])
    ahead = SealAhead(recipient)
    ahead.request()
    ahead.close()
    helper = recipient.threads[0]
    assert helper.name == "seal-ahead" and not helper.is_alive()
    ahead.request()  # after close: no helper again, seals are made inline
    ahead.take()
    assert recipient.names() == ["seal-ahead", "here"]
