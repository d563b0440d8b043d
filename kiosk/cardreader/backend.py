"""What the card service needs from PC/SC, as a small interface the pyscard adapter implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from kiosk.cardreader.apdu import CardConnection

__all__ = ["PcscBackend", "ReaderState"]


@dataclass(frozen=True, slots=True)
class ReaderState:
    """One reader as PC/SC last saw it. `token` is opaque: the backend's own change marker."""

    reader: str
    present: bool
    atr: bytes
    mute: bool = False
    token: int = 0


class PcscBackend(abc.ABC):
    """One PC/SC context. Raises PcscUnavailableError when the service is gone; the caller
    then throws the context away and makes a fresh one (an old context never recovers)."""

    @abc.abstractmethod
    def snapshot(self) -> dict[str, ReaderState]:
        """Every reader now connected, with its card state."""

    @abc.abstractmethod
    def wait_for_change(self, known: dict[str, ReaderState], timeout_s: float) -> bool:
        """Block until readers or cards differ from `known`; False on timeout or cancel."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Wake a blocked wait_for_change. The only method callable from another thread."""

    @abc.abstractmethod
    def connect(self, reader: str) -> tuple[CardConnection, bytes]:
        """Connect to the card in `reader`; return the connection and the card's ATR."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the context."""
