"""Reading a card whose family the ATR told us: the one entry point the kiosk calls."""

from __future__ import annotations

from kiosk.cardreader.apdu import ApduProtocol, CardConnection
from kiosk.cardreader.atr import CardFamily, identify_atr
from kiosk.cardreader.profiles.cps import CpsSession, ProfessionalCard
from kiosk.cardreader.profiles.vitale2 import Vitale2Session, VitaleCard
from kiosk.core.errors import UnknownCardError, UnsupportedCardError

__all__ = ["CardContents", "check_supported", "read_card"]

CardContents = VitaleCard | ProfessionalCard


def check_supported(atr: bytes) -> CardFamily:
    """Return the card's family, or raise UnknownCardError / UnsupportedCardError."""
    rule = identify_atr(atr)
    if rule.family is CardFamily.UNKNOWN:
        raise UnknownCardError(atr)
    if not rule.family.supported:
        raise UnsupportedCardError(atr, rule.family.value)
    return rule.family


def read_card(connection: CardConnection, atr: bytes) -> CardContents:
    """Read a Vitale 2 (holders) or a professional card (identity) in full."""
    family = check_supported(atr)
    protocol = ApduProtocol(connection)
    if family is CardFamily.VITALE2:
        return Vitale2Session(protocol, atr).read()
    session = CpsSession(protocol, atr)
    session.select()
    return session.read_identity()
