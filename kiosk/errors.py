"""The kiosk's error tree. Errors carry data; only the UI turns them into sentences.

KioskError
└── CardError                    anything about readers and cards
    ├── PcscUnavailableError     the PC/SC service (pcscd) cannot be reached
    ├── NoReaderError            no reader connected, or the named one is absent
    ├── NoCardError              the reader holds no card
    ├── CardRemovedError         the card left the reader during the exchange
    ├── CardMuteError            the card does not answer
    ├── CardCommunicationError   any other transport failure
    ├── UnknownCardError         an ATR that is in none of our tables (bank card...)
    ├── UnsupportedCardError     a recognised card we refuse (Vitale 1, phone app)
    ├── CardDataError            the card answered, but its data is malformed
    ├── ApduError                a status word other than 9000
    ├── PinError                 wrong PIN, with the tries left
    └── PinBlockedError          no PIN try left
"""

from __future__ import annotations

__all__ = [
    "ApduError",
    "CardCommunicationError",
    "CardDataError",
    "CardError",
    "CardMuteError",
    "CardRemovedError",
    "CentralRefusedError",
    "CentralUnreachableError",
    "KioskError",
    "NoCardError",
    "NoReaderError",
    "PcscUnavailableError",
    "PinBlockedError",
    "PinError",
    "SyncError",
    "UnknownCardError",
    "UnsupportedCardError",
]


class KioskError(Exception):
    """Root of every error the kiosk raises on purpose."""


class CardError(KioskError):
    """A reader or card problem."""


class PcscUnavailableError(CardError):
    """The PC/SC service cannot be reached."""


class NoReaderError(CardError):
    """No reader is connected, or not the one asked for."""

    def __init__(self, reader: str | None = None) -> None:
        super().__init__(reader or "no reader")
        self.reader = reader


class NoCardError(CardError):
    """The reader holds no card."""

    def __init__(self, reader: str | None = None) -> None:
        super().__init__(reader or "no card")
        self.reader = reader


class CardRemovedError(CardError):
    """The card was pulled out (or reset) during the exchange."""


class CardMuteError(CardError):
    """The card does not answer."""


class CardCommunicationError(CardError):
    """A transport failure that is neither a removal nor a mute card."""

    def __init__(self, code: int | None = None) -> None:
        super().__init__(f"communication error {code:#010x}" if code is not None else "")
        self.code = code


class UnknownCardError(CardError):
    """The card's ATR is in none of our tables."""

    def __init__(self, atr: bytes) -> None:
        super().__init__(atr.hex(" ").upper())
        self.atr = atr


class UnsupportedCardError(CardError):
    """A card we recognise but refuse, such as a Vitale 1."""

    def __init__(self, atr: bytes, kind: str) -> None:
        super().__init__(kind)
        self.atr = atr
        self.kind = kind


class CardDataError(CardError):
    """The card's data is malformed: truncated TLV, missing tag, bad date..."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class ApduError(CardError):
    """The card answered a status word other than 9000."""

    def __init__(self, data: bytes, sw: int) -> None:
        super().__init__(f"SW {sw:04X}")
        self.data = data
        self.sw = sw


class PinError(CardError):
    """Wrong PIN."""

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"wrong PIN, {tries_left} tries left")
        self.tries_left = tries_left


class PinBlockedError(CardError):
    """The PIN is blocked: no try left."""


class SyncError(KioskError):
    """A problem talking to the central service."""


class CentralUnreachableError(SyncError):
    """No answer, a timeout or a server error: worth retrying later."""


class CentralRefusedError(SyncError):
    """The central service refused the request; `code` is its error code."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
