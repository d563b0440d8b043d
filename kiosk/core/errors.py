"""The kiosk's error tree. Errors carry data and a code; only the UI and the command line
turn them into sentences (kiosk/messages.py).

KioskError
├── CardError                    anything about readers and cards
│   ├── PcscUnavailableError     the PC/SC service (pcscd) cannot be reached
│   ├── NoReaderError            no reader connected, or the named one is absent
│   ├── NoCardError              the reader holds no card
│   ├── CardRemovedError         the card left the reader during the exchange
│   ├── CardMuteError            the card does not answer
│   ├── CardCommunicationError   any other transport failure
│   ├── UnknownCardError         an ATR that is in none of our tables (bank card...)
│   ├── UnsupportedCardError     a recognised card we refuse (Vitale 1, phone app)
│   ├── CardDataError            the card answered, but its data is malformed
│   ├── ApduError                a status word other than 9000
│   ├── PinError                 wrong PIN, with the tries left
│   └── PinBlockedError          no PIN try left
├── SyncError                    talking to the central service
│   ├── CentralUnreachableError  no answer, a timeout, a server error: retry later
│   └── CentralRefusedError      the service refused, with its error code
├── SettingsError                a setting that is not valid, named with its source
├── DocumentUnreadableError      a document's file the viewer cannot show
└── NotEnrolledError             the kiosk has no enrolment yet

Each class has a `code`: what a notice, a log line or a test names it by.
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
    "DocumentUnreadableError",
    "KioskError",
    "NoCardError",
    "NotEnrolledError",
    "NoReaderError",
    "PcscUnavailableError",
    "PinBlockedError",
    "PinError",
    "SettingsError",
    "SyncError",
    "UnknownCardError",
    "UnsupportedCardError",
]


class KioskError(Exception):
    """Root of every error the kiosk raises on purpose."""

    code = "unexpected"


class CardError(KioskError):
    """A reader or card problem."""

    code = "card_error"


class PcscUnavailableError(CardError):
    """The PC/SC service cannot be reached."""

    code = "pcsc_unavailable"


class NoReaderError(CardError):
    """No reader is connected, or not the one asked for."""

    code = "no_reader"

    def __init__(self, reader: str | None = None) -> None:
        super().__init__(reader or "no reader")
        self.reader = reader


class NoCardError(CardError):
    """The reader holds no card."""

    code = "no_card"

    def __init__(self, reader: str | None = None) -> None:
        super().__init__(reader or "no card")
        self.reader = reader


class CardRemovedError(CardError):
    """The card was pulled out (or reset) during the exchange."""

    code = "card_removed"


class CardMuteError(CardError):
    """The card does not answer."""

    code = "card_mute"


class CardCommunicationError(CardError):
    """A transport failure that is neither a removal nor a mute card."""

    code = "card_communication"

    def __init__(self, pcsc_code: int | None = None) -> None:
        super().__init__(f"communication error {pcsc_code:#010x}" if pcsc_code is not None else "")
        self.pcsc_code = pcsc_code


class UnknownCardError(CardError):
    """The card's ATR is in none of our tables."""

    code = "card_unknown"

    def __init__(self, atr: bytes) -> None:
        super().__init__(atr.hex(" ").upper())
        self.atr = atr


class UnsupportedCardError(CardError):
    """A card we recognise but refuse, such as a Vitale 1."""

    code = "card_unsupported"

    def __init__(self, atr: bytes, kind: str) -> None:
        super().__init__(kind)
        self.atr = atr
        self.kind = kind


class CardDataError(CardError):
    """The card's data is malformed: truncated TLV, missing tag, bad date..."""

    code = "card_data"

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class ApduError(CardError):
    """The card answered a status word other than 9000."""

    code = "card_apdu"

    def __init__(self, data: bytes, sw: int) -> None:
        super().__init__(f"SW {sw:04X}")
        self.data = data
        self.sw = sw


class PinError(CardError):
    """Wrong PIN."""

    code = "pin_wrong"

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"wrong PIN, {tries_left} tries left")
        self.tries_left = tries_left


class PinBlockedError(CardError):
    """The PIN is blocked: no try left."""

    code = "pin_blocked"


class SyncError(KioskError):
    """A problem talking to the central service."""

    code = "sync_error"


class CentralUnreachableError(SyncError):
    """No answer, a timeout or a server error: worth retrying later."""

    code = "central_unreachable"


class CentralRefusedError(SyncError):
    """The central service refused the request; `reason` is its error code."""

    code = "central_refused"

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(f"{status} {reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail


class SettingsError(KioskError):
    """A setting that is not valid: its name (as the person who set it writes it), the value
    seen, and the problem's code (pydantic's error type: float_parsing, less_than_equal...)."""

    code = "settings_invalid"

    def __init__(self, name: str, value: str, problem: str) -> None:
        super().__init__(f"{name}={value!r}: {problem}")
        self.name = name
        self.value = value
        self.problem = problem


class NotEnrolledError(KioskError):
    """The kiosk holds no enrolment (`kiosk enroll` first)."""

    code = "not_enrolled"


class DocumentUnreadableError(KioskError):
    """A document's file that cannot be shown (a PDF that does not render, a CDA that is not
    one), or that is not the one the summary listed (its hash differs)."""

    code = "document_unreadable"
