"""Carte Vitale 2: holders (insured person first, then beneficiaries), NIR, card validity.

Read sequence (CARDS.md): SELECT MF, READ BINARY SFI 2 (one 65 template per holder with 80
birth name, 81 first name, 82 birth date), SELECT the VITALE application, READ BINARY SFI 2
(one 65 template per holder with 90 nationality and 93 NIR, then a 66 template with 80 the
card's validity start). A card NIR is not an INS: for a child it is usually the parent's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dmpcommon import is_valid_nir
from kiosk.cardreader.apdu import ApduProtocol
from kiosk.cardreader.profiles._fields import (
    birth_date,
    card_date,
    required,
    text,
)
from kiosk.cardreader.tlv import Tlv, find_all, parse_tlvs
from kiosk.core.errors import CardDataError

__all__ = ["VITALE_AID", "Vitale2Session", "VitaleCard", "VitaleHolder"]

VITALE_AID = bytes.fromhex("D2 50 00 00 02 56 49 54 41 4C 45")  # D2500000 02 "VITALE"
_MF = b"\x3f\x00"
_HOLDERS_SFI = 2
_TAG_HOLDER = 0x65
_TAG_CARD = 0x66


@dataclass(frozen=True, slots=True)
class VitaleHolder:
    """One person on the card, as the card says it (a retrieved identity, not an INS)."""

    nom: str
    prenom: str
    birth_date: str  # YYYY-MM-DD, possibly a lunar date
    nationality: str
    nir: str
    nir_valid: bool


@dataclass(frozen=True, slots=True)
class VitaleCard:
    """What a Vitale 2 card holds that the kiosk reads."""

    atr: bytes
    valid_from: dt.date
    holders: tuple[VitaleHolder, ...]


def _templates(tlvs: list[Tlv], tag: int) -> list[list[Tlv]]:
    return [t.children() for t in find_all(tlvs, tag)]


def _parse_identity(template: list[Tlv]) -> tuple[str, str, str]:
    return (
        text(required(template, 0x80, "birth name"), "birth name"),
        text(required(template, 0x81, "first name"), "first name"),
        birth_date(required(template, 0x82, "birth date")),
    )


def _parse_rights(template: list[Tlv]) -> tuple[str, str]:
    nationality = text(required(template, 0x90, "nationality"), "nationality")
    raw_nir = required(template, 0x93, "NIR")
    if len(raw_nir) != 15 or not raw_nir.isascii() or not raw_nir.isalnum():
        raise CardDataError("malformed NIR")
    return nationality, raw_nir.decode("ascii").upper()


def _parse_card(mf_file: bytes, vitale_file: bytes, atr: bytes) -> VitaleCard:
    identities = [_parse_identity(t) for t in _templates(parse_tlvs(mf_file), _TAG_HOLDER)]
    app_tlvs = parse_tlvs(vitale_file)
    rights = [_parse_rights(t) for t in _templates(app_tlvs, _TAG_HOLDER)]
    if not identities:
        raise CardDataError("no holder on the card")
    if len(identities) != len(rights):
        raise CardDataError("holder files disagree")
    card_templates = _templates(app_tlvs, _TAG_CARD)
    if len(card_templates) != 1:
        raise CardDataError("missing card data (tag 66)")
    valid_from = card_date(required(card_templates[0], 0x80, "validity date"), "validity date")
    holders = tuple(
        VitaleHolder(
            nom=nom,
            prenom=prenom,
            birth_date=born,
            nationality=nationality,
            nir=nir,
            nir_valid=is_valid_nir(nir),
        )
        for (nom, prenom, born), (nationality, nir) in zip(identities, rights, strict=True)
    )
    return VitaleCard(atr=atr, valid_from=valid_from, holders=holders)


class Vitale2Session:
    """Reads a Vitale 2 card over an APDU protocol."""

    def __init__(self, protocol: ApduProtocol, atr: bytes) -> None:
        self._protocol = protocol
        self._atr = atr

    def read(self) -> VitaleCard:
        """Read every holder and the card's validity; all or nothing."""
        self._protocol.select_file(_MF)
        mf_file = self._protocol.read_binary(sfi=_HOLDERS_SFI)
        self._protocol.select_file(VITALE_AID, p1=0x04)
        vitale_file = self._protocol.read_binary(sfi=_HOLDERS_SFI)
        return _parse_card(mf_file, vitale_file, self._atr)
