"""CPS / CPE professional card: identity, certificate, PIN and signature.

Identity (EF 0001) and certificate (EF 0002) are readable without PIN. VERIFY takes the PIN
as ASCII digits padded with FF to 8 bytes; wrong PIN is 63Cx (ISO) or 9804 (CPS3 dialect),
blocked is 6983 or 9840. PSO COMPUTE DIGITAL SIGNATURE signs a SHA-256 digest (ECDSA P-256,
DER) once the PIN is verified.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kiosk.cardreader.apdu import SW, ApduProtocol, Ins
from kiosk.cardreader.profiles._fields import ascii_digits, card_date, required, text
from kiosk.cardreader.tlv import find, parse_tlvs
from kiosk.core.domain import PIN_LENGTH_MAX, pin_format_ok
from kiosk.core.errors import ApduError, CardDataError, PinBlockedError, PinError

__all__ = ["CPS_AID", "CpsSession", "ProfessionalCard"]

CPS_AID = bytes.fromhex("E8 28 BD 08 0F 80 25 00 00 01 FF 00 10")
_EF_IDENTITY = b"\x00\x01"
_EF_CERTIFICATE = b"\x00\x02"
_PIN_REF = 0x01


@dataclass(frozen=True, slots=True)
class ProfessionalCard:
    """The identity a CPS or CPE card declares (the certificate is what proves it)."""

    atr: bytes
    card_type: str  # "CPS" or "CPE"
    id_nat: str
    nom: str
    prenom: str
    profession: str | None  # TRE_G15 code: "21" pharmacist, "10" physician; None for a CPE
    structure_id: str
    structure_name: str
    serial: str
    expiry: dt.date


def _parse_identity(data: bytes, atr: bytes) -> ProfessionalCard:
    tlvs = parse_tlvs(data)
    card_type = text(required(tlvs, 0xC0, "card type"), "card type")
    if card_type not in ("CPS", "CPE"):
        raise CardDataError("unknown professional card type")
    profession_tlv = find(tlvs, 0xC4)
    profession = ascii_digits(profession_tlv.value, "profession code") if profession_tlv else None
    if card_type == "CPS" and profession is None:
        raise CardDataError("missing profession code (tag C4)")
    return ProfessionalCard(
        atr=atr,
        card_type=card_type,
        id_nat=text(required(tlvs, 0xC1, "national id"), "national id"),
        nom=text(required(tlvs, 0xC2, "name"), "name"),
        prenom=text(required(tlvs, 0xC3, "first name"), "first name"),
        profession=profession,
        structure_id=text(required(tlvs, 0xC5, "structure id"), "structure id"),
        structure_name=text(required(tlvs, 0xC6, "structure name"), "structure name"),
        serial=text(required(tlvs, 0xC7, "serial"), "serial"),
        expiry=card_date(required(tlvs, 0xC8, "expiry date"), "expiry date"),
    )


def _pin_block(pin: str) -> bytes:
    if not pin_format_ok(pin):
        raise ValueError("a PIN is 4 to 8 digits")
    return pin.encode("ascii").ljust(PIN_LENGTH_MAX, b"\xff")


def _raise_for_pin_status(sw: int, data: bytes) -> None:
    """Turn a VERIFY status word into our PIN errors (both dialects)."""
    if sw == SW.OK:
        return
    if sw & 0xFFF0 == 0x63C0:
        if sw & 0x0F == 0:
            raise PinBlockedError("no try left")
        raise PinError(sw & 0x0F)
    if sw in (SW.AUTH_METHOD_BLOCKED, SW.CPS3_PIN_BLOCKED):
        raise PinBlockedError("no try left")
    if sw == SW.CPS3_WRONG_PIN:
        # The CPS3 dialect does not say how many tries are left with the error.
        raise PinError(-1)
    raise ApduError(data, sw)


class CpsSession:
    """Talks to a CPS or CPE card over an APDU protocol."""

    def __init__(self, protocol: ApduProtocol, atr: bytes) -> None:
        self._protocol = protocol
        self._atr = atr

    def select(self) -> None:
        """Select the professional card application."""
        self._protocol.select_file(CPS_AID, p1=0x04)

    def read_identity(self) -> ProfessionalCard:
        """Read EF 0001 (no PIN needed)."""
        self._protocol.select_file(_EF_IDENTITY, p2=0x0C)
        return _parse_identity(self._protocol.read_binary(), self._atr)

    def read_certificate(self) -> bytes:
        """Read EF 0002: the card's X.509 certificate, DER."""
        self._protocol.select_file(_EF_CERTIFICATE, p2=0x0C)
        certificate = self._protocol.read_binary()
        if not certificate or certificate[0] != 0x30:
            raise CardDataError("malformed certificate")
        return certificate

    def pin_tries_left(self) -> int | None:
        """Tries left before the PIN blocks; None once the PIN is verified in this session."""
        data, sw = self._protocol.transmit(0x00, Ins.VERIFY, 0x00, _PIN_REF)
        if sw == SW.OK:
            return None
        if sw & 0xFFF0 == 0x63C0:
            return sw & 0x0F
        if sw in (SW.AUTH_METHOD_BLOCKED, SW.CPS3_PIN_BLOCKED):
            return 0
        raise ApduError(data, sw)

    def verify_pin(self, pin: str) -> None:
        """Present the PIN; raise PinError(tries_left) or PinBlockedError."""
        data, sw = self._protocol.transmit(0x00, Ins.VERIFY, 0x00, _PIN_REF, _pin_block(pin))
        if sw == SW.CPS3_WRONG_PIN:
            # Ask the card how many tries are left, so the operator sees it in both dialects.
            tries = self.pin_tries_left()
            if tries == 0:
                raise PinBlockedError("no try left")
            raise PinError(tries if tries is not None else -1)
        _raise_for_pin_status(sw, data)

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a SHA-256 digest (PIN verified first); returns a DER ECDSA signature."""
        if len(digest) != 32:
            raise ValueError("a SHA-256 digest is 32 bytes")
        signature = self._protocol.send_apdu(
            0x00, Ins.PERFORM_SECURITY_OPERATION, 0x9E, 0x9A, digest, le=0x00
        )
        if not signature or signature[0] != 0x30:
            raise CardDataError("malformed signature")
        return signature
