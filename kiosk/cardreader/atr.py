"""Card recognition by ATR, from a table.

Each rule names a card family (the core's CardFamily) by an exact ATR or an ATR prefix. A
card in none of the rules is unknown (a bank card, a transport card...), which is not the
same as "not a Vitale".
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.core.domain import CardFamily

__all__ = ["ATR_TABLE", "AtrRule", "CardFamily", "identify_atr"]


@dataclass(frozen=True, slots=True)
class AtrRule:
    """An ATR (exact, or a prefix when `prefix` is set) and the family and model it means."""

    atr: bytes
    family: CardFamily
    model: str
    prefix: bool = False

    def matches(self, atr: bytes) -> bool:
        """Whether this rule recognises the ATR."""
        return atr.startswith(self.atr) if self.prefix else atr == self.atr


def _h(text: str) -> bytes:
    return bytes.fromhex(text)


ATR_TABLE: tuple[AtrRule, ...] = (
    # Vitale 2 (public reverse engineering; the fifth byte varies with the chip batch).
    *(
        AtrRule(_h(f"3B 75 13 00 00 {b} 09 EA 90 00"), CardFamily.VITALE2, "Vitale 2")
        for b in ("43", "44", "45", "47", "48", "49")
    ),
    AtrRule(_h("3F 65 25"), CardFamily.VITALE1, "Vitale 1", prefix=True),
    # PC/SC part 3 pseudo-ATR of an ISO 14443-4 type A card without historical bytes: what a
    # phone's host card emulation (the carte Vitale app) shows on a contactless reader.
    AtrRule(_h("3B 80 80 01 01"), CardFamily.APCV, "application carte Vitale"),
    AtrRule(
        _h("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00"), CardFamily.PROFESSIONAL, "CPS3"
    ),
    AtrRule(
        _h("3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44"), CardFamily.PROFESSIONAL, "CPS4"
    ),
)


def identify_atr(atr: bytes) -> AtrRule:
    """Return the rule that recognises this ATR, or an UNKNOWN rule carrying it."""
    for rule in ATR_TABLE:
        if rule.matches(atr):
            return rule
    return AtrRule(atr, CardFamily.UNKNOWN, "unknown")
