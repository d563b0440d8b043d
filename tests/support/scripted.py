"""A scripted card connection that asserts the exact bytes the reader sends."""

from __future__ import annotations

from kiosk.cardreader.apdu import CardConnection


class ScriptedConnection(CardConnection):
    """Replays (expected command, reply) pairs; fails on any other command."""

    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.script = [(bytes.fromhex(c), bytes.fromhex(r)) for c, r in script]
        self.sent: list[bytes] = []
        self.closed = False

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        index = len(self.sent)
        self.sent.append(apdu)
        assert index < len(self.script), f"unexpected extra APDU {apdu.hex(' ')}"
        expected, reply = self.script[index]
        assert apdu == expected, f"APDU {index}: sent {apdu.hex(' ')}, expected {expected.hex(' ')}"
        return reply[:-2], int.from_bytes(reply[-2:], "big")

    def close(self) -> None:
        self.closed = True

    def finished(self) -> bool:
        return len(self.sent) == len(self.script)
