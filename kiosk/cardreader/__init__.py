"""Card reading: APDU layer, ATR table, card profiles and the card I/O thread.

Only `kiosk.cardreader.pcsc` imports pyscard; everything else here works on the
`CardConnection` and `PcscBackend` interfaces.
"""

from __future__ import annotations

from kiosk.cardreader.apdu import SW, ApduProtocol, CardConnection, Ins
from kiosk.cardreader.atr import ATR_TABLE, AtrRule, CardFamily, identify_atr
from kiosk.cardreader.backend import PcscBackend, ReaderState
from kiosk.cardreader.profiles import (
    CpsSession,
    ProfessionalCard,
    Vitale2Session,
    VitaleCard,
    VitaleHolder,
)
from kiosk.cardreader.reading import CardContents, check_supported, read_card
from kiosk.cardreader.service import CardEvent, CardEventKind, CardService, diff_states

__all__ = [
    "ATR_TABLE",
    "SW",
    "ApduProtocol",
    "AtrRule",
    "CardConnection",
    "CardContents",
    "CardEvent",
    "CardEventKind",
    "CardFamily",
    "CardService",
    "CpsSession",
    "Ins",
    "PcscBackend",
    "ProfessionalCard",
    "ReaderState",
    "Vitale2Session",
    "VitaleCard",
    "VitaleHolder",
    "check_supported",
    "diff_states",
    "identify_atr",
    "read_card",
]
