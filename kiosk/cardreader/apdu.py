"""ISO 7816-4 APDU layer: a transport interface and a chain of small processors on top of it.

`ApduProtocol.send_apdu` builds a short APDU, resends it with the right Le on 6Cxx, collects
61xx data with GET RESPONSE, and raises `ApduError` on anything but 9000. `read_binary`
reads a whole EF, chunk by chunk, until a reply is shorter than asked.
"""

from __future__ import annotations

import abc
import logging
from enum import IntEnum, unique

from kiosk.core.errors import ApduError, CardDataError

__all__ = [
    "SW",
    "ApduProtocol",
    "CardConnection",
    "Ins",
    "sw_name",
]

log = logging.getLogger(__name__)

# APDU traffic is logged below DEBUG, headers and lengths only: card data (names, NIRs,
# PINs) never reaches a log.
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_MAX_CHAINED_REPLIES = 64
_MAX_FILE_SIZE = 32 * 1024


@unique
class SW(IntEnum):
    """Status words our cards use."""

    OK = 0x9000
    FILE_NOT_FOUND = 0x6A82
    WRONG_OFFSET = 0x6B00
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTH_METHOD_BLOCKED = 0x6983
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00
    CPS3_WRONG_PIN = 0x9804
    CPS3_PIN_BLOCKED = 0x9840


@unique
class Ins(IntEnum):
    """Instructions our cards understand."""

    VERIFY = 0x20
    PERFORM_SECURITY_OPERATION = 0x2A
    SELECT = 0xA4
    READ_BINARY = 0xB0
    GET_RESPONSE = 0xC0


def sw_name(sw: int) -> str:
    """Name a status word: the enum name, a family name, or UNKNOWN."""
    try:
        return SW(sw).name
    except ValueError:
        pass
    high = sw >> 8
    if high == 0x61:
        return "BYTES_AVAILABLE"
    if high == 0x6C:
        return "WRONG_LE"
    if sw & 0xFFF0 == 0x63C0:
        return "WRONG_PIN"
    return "UNKNOWN"


class CardConnection(abc.ABC):
    """A connection to one card: raw APDU in, (data, status word) out."""

    @abc.abstractmethod
    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one APDU and return the reply's data and status word."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the card."""


def _build(cla: int, ins: int, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
    if len(data) > 255:
        raise ValueError("short APDUs only")
    apdu = bytes([cla, ins, p1, p2])
    if data:
        apdu += bytes([len(data)]) + data
    if le is not None:
        apdu += bytes([le & 0xFF])  # Le = 00 asks for 256 bytes
    return apdu


class ApduProtocol:
    """Short-APDU exchanges with 61xx/6Cxx handling over a CardConnection."""

    def __init__(self, connection: CardConnection) -> None:
        self.connection = connection
        self.apdu_count = 0

    def _exchange(self, apdu: bytes) -> tuple[bytes, int]:
        self.apdu_count += 1
        response, sw = self.connection.send_and_receive(apdu)
        # Header and lengths only: data may be a PIN or a health identifier.
        log.log(
            TRACE,
            "APDU %s Lc=%d -> %04X (%d bytes)",
            apdu[:4].hex(),
            len(apdu) - 4,
            sw,
            len(response),
        )
        return response, sw

    def transmit(
        self, cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None
    ) -> tuple[bytes, int]:
        """Send one command; follow 6Cxx and 61xx; return all data and the final status word."""
        apdu = _build(cla, ins, p1, p2, data, le)
        response, sw = self._exchange(apdu)
        if sw >> 8 == 0x6C:  # wrong Le: the card tells the right one
            apdu = _build(cla, ins, p1, p2, data, sw & 0xFF)
            response, sw = self._exchange(apdu)
        collected = bytearray(response)
        replies = 0
        while sw >> 8 == 0x61:  # more data waiting: GET RESPONSE
            replies += 1
            if replies > _MAX_CHAINED_REPLIES:
                raise CardDataError("endless GET RESPONSE chain")
            response, sw = self._exchange(
                _build(cla & 0x03, Ins.GET_RESPONSE, 0, 0, b"", sw & 0xFF)
            )
            collected += response
        return bytes(collected), sw

    def send_apdu(
        self, cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None
    ) -> bytes:
        """Like transmit, but raise ApduError on anything but 9000."""
        response, sw = self.transmit(cla, ins, p1, p2, data, le)
        if sw != SW.OK:
            raise ApduError(response, sw)
        return response

    def select_file(self, file_id: bytes, *, p1: int = 0x00, p2: int = 0x00) -> bytes:
        """SELECT by file identifier (P1 = 00) or by AID (P1 = 04); returns any FCI."""
        # No Le, as CARDS.md spells the commands; a T=0 card may still answer 61xx.
        return self.send_apdu(0x00, Ins.SELECT, p1, p2, file_id)

    def read_binary(self, *, sfi: int | None = None) -> bytes:
        """Read a whole EF: by short file identifier, or the current EF when sfi is None."""
        content = bytearray()
        offset = 0
        while True:
            if offset == 0 and sfi is not None:
                p1, p2 = 0x80 | (sfi & 0x1F), 0x00
            else:
                if offset > 0x7FFF:
                    raise CardDataError("file too long")
                p1, p2 = offset >> 8, offset & 0xFF
            chunk, sw = self.transmit(0x00, Ins.READ_BINARY, p1, p2, le=0x00)
            if sw == SW.WRONG_OFFSET and offset > 0:
                break  # the previous chunk ended exactly at the end of the file
            if sw != SW.OK:
                raise ApduError(chunk, sw)
            content += chunk
            offset += len(chunk)
            if len(chunk) < 256:
                break
            if len(content) > _MAX_FILE_SIZE:
                raise CardDataError("file too long")
        return bytes(content)
