"""The pyscard adapter: the only module that imports `smartcard`.

It converts lists to bytes and PC/SC result codes to our errors; nothing above it sees a
pyscard type or exception. Monitoring is our own loop on SCardGetStatusChange (pyscard's
CardMonitor thread dies silently when pcscd restarts).
"""

from __future__ import annotations

import logging
from typing import Any

from smartcard import scard

from kiosk.cardreader.apdu import CardConnection
from kiosk.cardreader.backend import PcscBackend, ReaderState
from kiosk.core.errors import (
    CardCommunicationError,
    CardMuteError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    PcscUnavailableError,
)

__all__ = ["PyscardBackend", "PyscardConnection"]

log = logging.getLogger(__name__)

_PNP = "\\\\?PnP?\\Notification"
_REMOVAL_GRACE_MS = 600


def _u32(code: int) -> int:
    return code & 0xFFFFFFFF


_SERVICE_LOST = {
    _u32(scard.SCARD_E_NO_SERVICE),
    _u32(scard.SCARD_F_COMM_ERROR),
    _u32(scard.SCARD_E_INVALID_HANDLE),
    _u32(scard.SCARD_E_SERVICE_STOPPED),
}
_REMOVED = {
    _u32(scard.SCARD_W_REMOVED_CARD),
    _u32(scard.SCARD_W_RESET_CARD),
    _u32(scard.SCARD_E_NO_SMARTCARD),
}
_MUTE = {_u32(scard.SCARD_W_UNRESPONSIVE_CARD), _u32(scard.SCARD_W_UNPOWERED_CARD)}
_NO_READER = {
    _u32(scard.SCARD_E_UNKNOWN_READER),
    _u32(scard.SCARD_E_READER_UNAVAILABLE),
    _u32(scard.SCARD_E_NO_READERS_AVAILABLE),
}
_OK = _u32(scard.SCARD_S_SUCCESS)
_TIMEOUT = _u32(scard.SCARD_E_TIMEOUT)
_CANCELLED = _u32(scard.SCARD_E_CANCELLED)


def _raise_for(code: int, *, reader: str | None = None) -> None:
    """Translate a PC/SC result code into our error tree."""
    code = _u32(code)
    if code == _OK:
        return
    if code in _SERVICE_LOST:
        raise PcscUnavailableError(f"{code:#010x}")
    if code in _REMOVED:
        raise CardRemovedError(f"{code:#010x}")
    if code in _MUTE:
        raise CardMuteError(f"{code:#010x}")
    if code in _NO_READER:
        raise NoReaderError(reader)
    raise CardCommunicationError(code)


class PyscardConnection(CardConnection):
    """A connected card."""

    def __init__(self, context: int, card: int, protocol: int, reader: str) -> None:
        self._context = context
        self._card: int | None = card
        self._protocol = protocol
        self._reader = reader

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one APDU; a reply without status word means the card left or went silent."""
        if self._card is None:
            raise CardRemovedError("connection closed")
        code, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        _raise_for(code, reader=self._reader)
        if len(response) < 2:
            # vpcd (and some readers) report a card pulled out mid-command as an empty reply.
            self._raise_absent_or_mute()
        data = bytes(response)
        return data[:-2], int.from_bytes(data[-2:], "big")

    def _raise_absent_or_mute(self) -> None:
        # PC/SC learns of the removal at its next presence poll (pcscd polls vpcd every
        # 400 ms): wait for the reader's state to change rather than trust it right away.
        code, states = scard.SCardGetStatusChange(
            self._context, 0, [(self._reader, scard.SCARD_STATE_UNAWARE)]
        )
        if _u32(code) == _OK and states[0][1] & scard.SCARD_STATE_PRESENT:
            code, states = scard.SCardGetStatusChange(
                self._context, _REMOVAL_GRACE_MS, [(self._reader, states[0][1])]
            )
            if _u32(code) == _TIMEOUT:
                raise CardCommunicationError(None)  # still there: the reply was garbage
        if _u32(code) != _OK or not states[0][1] & scard.SCARD_STATE_PRESENT:
            raise CardRemovedError("no reply")
        raise CardCommunicationError(None)

    def close(self) -> None:
        """Disconnect and power the card down, so a PIN verified here does not linger."""
        if self._card is None:
            return
        card, self._card = self._card, None
        code = scard.SCardDisconnect(card, scard.SCARD_UNPOWER_CARD)
        if _u32(code) != _OK:
            log.debug("disconnect returned %#010x", _u32(code))


class PyscardBackend(PcscBackend):
    """A PC/SC context through pyscard."""

    def __init__(self) -> None:
        code, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        _raise_for(code)
        self._context: Any = context

    def _readers(self) -> list[str]:
        code, readers = scard.SCardListReaders(self._context, [])
        if _u32(code) in _NO_READER:
            return []
        _raise_for(code)
        return list(readers)

    def snapshot(self) -> dict[str, ReaderState]:
        """Every reader now connected, with its card state."""
        readers = self._readers()
        if not readers:
            return {}
        code, states = scard.SCardGetStatusChange(
            self._context, 0, [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
        )
        if _u32(code) in _NO_READER:
            return {}  # a reader left between the two calls; the next wait catches it
        _raise_for(code)
        return {name: self._state(name, event, atr) for name, event, atr in states}

    @staticmethod
    def _state(name: str, event: int, atr: list[int]) -> ReaderState:
        present = bool(event & scard.SCARD_STATE_PRESENT)
        return ReaderState(
            reader=name,
            present=present,
            atr=bytes(atr) if present else b"",
            mute=bool(event & scard.SCARD_STATE_MUTE),
            token=event & ~scard.SCARD_STATE_CHANGED,
        )

    def wait_for_change(self, known: dict[str, ReaderState], timeout_s: float) -> bool:
        """Block until readers or cards differ from `known`; False on timeout or cancel."""
        states = [(_PNP, len(known) << 16)]
        states += [(name, state.token) for name, state in known.items()]
        code, _new = scard.SCardGetStatusChange(self._context, int(timeout_s * 1000), states)
        code = _u32(code)
        if code in (_TIMEOUT, _CANCELLED):
            return False
        if code in _NO_READER:
            return True  # a reader we were watching is gone
        _raise_for(code)
        return True

    def cancel(self) -> None:
        """Wake a blocked wait_for_change (pcsc-lite allows this from another thread)."""
        scard.SCardCancel(self._context)

    def connect(self, reader: str) -> tuple[CardConnection, bytes]:
        """Connect to the card in `reader` (T=0 or T=1, shared)."""
        code, card, protocol = scard.SCardConnect(
            self._context,
            reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        code = _u32(code)
        if code in (_u32(scard.SCARD_E_NO_SMARTCARD), _u32(scard.SCARD_W_REMOVED_CARD)):
            raise NoCardError(reader)
        _raise_for(code, reader=reader)
        connection = PyscardConnection(self._context, card, protocol, reader)
        status, _name, _state, _proto, atr = scard.SCardStatus(card)
        if _u32(status) != _OK:
            connection.close()
            _raise_for(status, reader=reader)
        return connection, bytes(atr)

    def close(self) -> None:
        """Release the context; errors are moot, the context is being thrown away."""
        scard.SCardReleaseContext(self._context)
