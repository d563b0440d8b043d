"""Card models: a minimal ISO 7816-4 card with files, and the Vitale 2 and CPS/CPE cards.

`VirtualCard.process(apdu)` returns the reply (data + SW) exactly as CARDS.md describes;
`MisbehavingCard` wraps it with the image's `behaviour` (6Cxx, 61xx, garbage).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from drivers.image import CardImage, ImageError, resolve_path
from drivers.tlv import tlv

__all__ = ["CpsCard", "MisbehavingCard", "VirtualCard", "Vitale2Card", "build_card"]

OK = b"\x90\x00"
FILE_NOT_FOUND = b"\x6a\x82"
WRONG_OFFSET = b"\x6b\x00"
SECURITY_NOT_SATISFIED = b"\x69\x82"
PIN_BLOCKED = b"\x69\x83"
INS_NOT_SUPPORTED = b"\x6d\x00"
CLA_NOT_SUPPORTED = b"\x6e\x00"
WRONG_P1P2 = b"\x6a\x86"
WRONG_LENGTH = b"\x67\x00"
CPS3_WRONG_PIN = b"\x98\x04"
CPS3_PIN_BLOCKED = b"\x98\x40"

VITALE_AID = bytes.fromhex("D2 50 00 00 02 56 49 54 41 4C 45")
CPS_AID = bytes.fromhex("E8 28 BD 08 0F 80 25 00 00 01 FF 00 10")


@dataclass
class Command:
    """A parsed short command APDU."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None  # 256 for Le = 00

    @classmethod
    def parse(cls, apdu: bytes) -> Command | None:
        if len(apdu) < 4:
            return None
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        if not body:
            return cls(cla, ins, p1, p2, b"", None)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, b"", body[0] or 256)
        lc = body[0]
        if lc == 0 or len(body) not in (1 + lc, 2 + lc):
            return None
        le = (body[1 + lc] or 256) if len(body) == 2 + lc else None
        return cls(cla, ins, p1, p2, body[1 : 1 + lc], le)


@dataclass
class Application:
    """A DF: files by FID and by SFI."""

    aid: bytes | None
    files: dict[bytes, bytes] = field(default_factory=dict)
    sfi: dict[int, bytes] = field(default_factory=dict)


class VirtualCard:
    """An ISO 7816-4 card with SELECT and READ BINARY; subclasses add the rest."""

    def __init__(self, image: CardImage) -> None:
        self.image = image
        self.atr = image.atr
        self.mf = Application(aid=None)
        self.apps: list[Application] = []
        self.current_df = self.mf
        self.current_ef: bytes | None = None

    def power_on(self) -> None:
        self.reset()

    def power_off(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.current_df = self.mf
        self.current_ef = None

    def process(self, apdu: bytes) -> bytes:
        command = Command.parse(apdu)
        if command is None:
            return WRONG_LENGTH
        if command.cla not in (0x00, 0x80):
            return CLA_NOT_SUPPORTED
        handler = {0xA4: self.select, 0xB0: self.read_binary}.get(command.ins)
        if handler is None:
            return self.other(command)
        return handler(command)

    def other(self, command: Command) -> bytes:
        return INS_NOT_SUPPORTED

    def select(self, command: Command) -> bytes:
        if command.p1 == 0x04:
            for app in self.apps:
                if app.aid == command.data:
                    self.current_df, self.current_ef = app, None
                    if command.p2 & 0x0C == 0x0C:
                        return OK
                    return tlv(0x6F, tlv(0x84, app.aid)) + OK  # FCI with the AID
            return FILE_NOT_FOUND
        if command.p1 == 0x00:
            if command.data in (b"\x3f\x00", b""):
                self.current_df, self.current_ef = self.mf, None
                return OK
            if command.data in self.current_df.files:
                self.current_ef = self.current_df.files[command.data]
                return OK
            return FILE_NOT_FOUND
        return WRONG_P1P2

    def read_binary(self, command: Command) -> bytes:
        if command.p1 & 0x80:
            content = self.current_df.sfi.get(command.p1 & 0x1F)
            if content is None:
                return FILE_NOT_FOUND
            self.current_ef = content
            offset = command.p2
        else:
            if self.current_ef is None:
                return FILE_NOT_FOUND
            content = self.current_ef
            offset = (command.p1 << 8) | command.p2
        if offset > len(content) or (offset == len(content) and offset > 0):
            return WRONG_OFFSET
        wanted = command.le or 256
        return content[offset : offset + wanted] + OK


def _date(value: object) -> bytes:
    return str(value).replace("-", "").encode("ascii")


def _text(value: object) -> bytes:
    return str(value).encode("iso-8859-1", errors="replace")


def _truncate(content: bytes, cut: int | None) -> bytes:
    return content[: max(0, len(content) - cut)] if cut else content


class Vitale2Card(VirtualCard):
    """Carte Vitale 2: holders in the MF's EF SFI 2 and the VITALE application's EF SFI 2."""

    def __init__(self, image: CardImage) -> None:
        super().__init__(image)
        holders = image.data.get("holders") or []
        if not isinstance(holders, list):
            raise ImageError("holders must be a list")
        identities = b""
        rights = b""
        # A field absent from the image is absent from the card: tests need missing tags.
        for holder in holders:
            identity = b""
            for tag, key, encode in (
                (0x80, "nom", _text),
                (0x81, "prenom", _text),
                (0x82, "birth_date", _date),
            ):
                if key in holder:
                    identity += tlv(tag, encode(holder[key]))
            identities += tlv(0x65, identity)
            right = b""
            if "nationality" in holder:
                right += tlv(0x90, _text(holder["nationality"]))
            if "nir" in holder:
                right += tlv(0x93, str(holder["nir"]).encode("ascii", errors="replace"))
            rights += tlv(0x65, right)
        if "valid_from" in image.data:
            rights += tlv(0x66, tlv(0x80, _date(image.data["valid_from"])))
        self.mf.sfi[2] = _truncate(identities, image.behaviour.truncate_tlv)
        self.apps.append(Application(aid=VITALE_AID, sfi={2: rights}))


class CpsCard(VirtualCard):
    """CPS / CPE: identity (EF 0001), certificate (EF 0002), PIN, ECDSA P-256 signature."""

    def __init__(self, image: CardImage) -> None:
        super().__init__(image)
        data = image.data
        identity = b""
        for tag, key in (
            (0xC0, "card_type"),
            (0xC1, "id_nat"),
            (0xC2, "nom"),
            (0xC3, "prenom"),
            (0xC4, "profession"),
            (0xC5, "structure_id"),
            (0xC6, "structure_name"),
            (0xC7, "serial"),
        ):
            if data.get(key) is not None:
                identity += tlv(tag, _text(data[key]))
        if data.get("expiry") is not None:
            identity += tlv(0xC8, _date(data["expiry"]))
        certificate = b""
        if data.get("certificate"):
            certificate = resolve_path(image, str(data["certificate"])).read_bytes()
        self.key: ec.EllipticCurvePrivateKey | None = None
        if data.get("key_pem"):
            pem = resolve_path(image, str(data["key_pem"])).read_bytes()
            private_key = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(private_key, ec.EllipticCurvePrivateKey):
                raise ImageError("key_pem must hold an EC P-256 key")
            self.key = private_key
        self.pin = str(data.get("pin", "1234")).encode("ascii").ljust(8, b"\xff")
        self.max_tries = 3
        self.tries_left = int(data.get("tries_left", self.max_tries))
        self.cps3_dialect = data.get("pin_dialect", "iso") == "cps3"
        self.verified = False
        files = {
            b"\x00\x01": _truncate(identity, image.behaviour.truncate_tlv),
            b"\x00\x02": certificate,
        }
        self.apps.append(Application(aid=CPS_AID, files=files))

    def reset(self) -> None:
        super().reset()
        self.verified = False  # power-off or reset forgets the PIN

    def other(self, command: Command) -> bytes:
        if self.current_df is self.mf:
            return INS_NOT_SUPPORTED if command.ins not in (0x20, 0x2A) else SECURITY_NOT_SATISFIED
        if command.ins == 0x20 and command.p1 == 0x00 and command.p2 == 0x01:
            return self.verify(command.data)
        if command.ins == 0x2A and command.p1 == 0x9E and command.p2 == 0x9A:
            return self.sign(command.data)
        return INS_NOT_SUPPORTED

    def _blocked(self) -> bytes:
        return CPS3_PIN_BLOCKED if self.cps3_dialect else PIN_BLOCKED

    def verify(self, pin: bytes) -> bytes:
        if not pin:  # ask for the tries left
            if self.tries_left == 0:
                return self._blocked()
            return OK if self.verified else bytes([0x63, 0xC0 | self.tries_left])
        if self.tries_left == 0:
            return self._blocked()
        if len(pin) != 8:
            return WRONG_LENGTH
        if pin == self.pin:
            self.tries_left = self.max_tries
            self.verified = True
            return OK
        self.verified = False
        self.tries_left -= 1
        if self.tries_left == 0:
            return self._blocked() if self.cps3_dialect else b"\x63\xc0"
        return CPS3_WRONG_PIN if self.cps3_dialect else bytes([0x63, 0xC0 | self.tries_left])

    def sign(self, digest: bytes) -> bytes:
        if not self.verified:
            return SECURITY_NOT_SATISFIED
        if len(digest) != 32 or self.key is None:
            return WRONG_LENGTH if len(digest) != 32 else SECURITY_NOT_SATISFIED
        signature = self.key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return signature + OK


class MisbehavingCard:
    """Applies the T=0 behaviours (6Cxx, 61xx) and garbage replies on top of a card."""

    def __init__(self, card: VirtualCard) -> None:
        self.card = card
        self.atr = card.atr
        self.behaviour = card.image.behaviour
        self.apdus = 0
        self._pending = b""  # data waiting for GET RESPONSE
        self._random = random.Random(len(card.atr))  # noqa: S311 - test noise, not crypto

    def power_on(self) -> None:
        self._pending = b""
        self.card.power_on()

    def power_off(self) -> None:
        self._pending = b""
        self.card.power_off()

    def reset(self) -> None:
        self._pending = b""
        self.card.reset()

    def process(self, apdu: bytes) -> bytes:
        self.apdus += 1
        garbage_after = self.behaviour.garbage_after_apdus
        if garbage_after is not None and self.apdus > garbage_after:
            return self._garbage()
        if self.behaviour.get_response and len(apdu) >= 4 and apdu[1] == 0xC0:
            return self._get_response(apdu)
        reply = self.card.process(apdu)
        data, sw = reply[:-2], reply[-2:]
        command = Command.parse(apdu)
        if (
            self.behaviour.t0_wrong_length
            and sw == OK
            and command is not None
            and command.le is not None
            and command.le != len(data)
            and data
            and command.ins == 0xB0
        ):
            return bytes([0x6C, len(data) & 0xFF])
        if self.behaviour.get_response and sw == OK and data and command is not None:
            if command.ins in (0xA4, 0x2A):
                self._pending = data
                return bytes([0x61, min(len(data), 256) & 0xFF])
        return reply

    def _get_response(self, apdu: bytes) -> bytes:
        if not self._pending:
            return b"\x69\x85"  # conditions of use not satisfied
        wanted = (apdu[4] if len(apdu) > 4 else 0) or 256
        chunk, self._pending = self._pending[:wanted], self._pending[wanted:]
        if self._pending:
            return chunk + bytes([0x61, min(len(self._pending), 256) & 0xFF])
        return chunk + OK

    def _garbage(self) -> bytes:
        choice = self._random.randrange(3)
        if choice == 0:
            return bytes([self._random.randrange(256)])  # no status word at all
        length = self._random.randrange(0, 40)
        noise = bytes(self._random.randrange(256) for _ in range(length))
        if choice == 1:
            return noise + b"\x12\x34"  # an unknown status word
        return noise + OK  # data that means nothing


def build_card(image: CardImage) -> MisbehavingCard:
    """The card model for an image, wrapped with its behaviour."""
    models: dict[str, type[VirtualCard]] = {
        "vitale2": Vitale2Card,
        "cps": CpsCard,
        "cpe": CpsCard,
        "other": VirtualCard,
    }
    model = models.get(image.kind)
    if model is None:
        raise ImageError(f"unknown card kind {image.kind!r}")
    return MisbehavingCard(model(image))
