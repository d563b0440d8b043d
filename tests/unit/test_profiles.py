"""Vitale 2 and CPS/CPE profiles against scripted cards (exact APDUs), plus fuzzing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.cardreader.apdu import ApduProtocol, CardConnection
from kiosk.cardreader.profiles.cps import CpsSession
from kiosk.cardreader.profiles.vitale2 import Vitale2Session
from kiosk.cardreader.reading import read_card
from kiosk.core.errors import (
    CardDataError,
    KioskError,
    PinBlockedError,
    PinError,
    UnknownCardError,
    UnsupportedCardError,
)
from tests.support.scripted import ScriptedConnection

VITALE_ATR = bytes.fromhex("3B751300004709EA9000")
CPS_ATR = bytes.fromhex("3BAC00402A001225006480000310009000")


def _t(tag: int, value: bytes) -> str:
    return (bytes([tag, len(value)]) + value).hex()


def _holder_id(nom: str, prenom: str, born: str) -> str:
    body = bytes.fromhex(
        _t(0x80, nom.encode("latin-1"))
        + _t(0x81, prenom.encode("latin-1"))
        + _t(0x82, born.encode())
    )
    return _t(0x65, body)


def _holder_rights(nir: str) -> str:
    return _t(0x65, bytes.fromhex(_t(0x90, b"FRA") + _t(0x93, nir.encode())))


MF_FILE = _holder_id("MARTIN", "CLAIRE", "19840211") + _holder_id("MARTIN", "LÉO", "20150630")
APP_FILE = (
    _holder_rights("284027511234577")
    + _holder_rights("284027511234577")
    + _t(0x66, bytes.fromhex(_t(0x80, b"20190901")))
)
VITALE_SCRIPT = [
    ("00A4000002 3F00", "9000"),
    ("00B0820000", MF_FILE + "9000"),
    ("00A404000B D250000002564954414C45", "9000"),
    ("00B0820000", APP_FILE + "9000"),
]


def test_vitale2_read_sends_exactly_the_documented_sequence() -> None:
    conn = ScriptedConnection(VITALE_SCRIPT)
    card = Vitale2Session(ApduProtocol(conn), VITALE_ATR).read()
    assert conn.finished()
    assert card.valid_from == dt.date(2019, 9, 1)
    assert [(h.prenom, h.birth_date, h.nir_valid) for h in card.holders] == [
        ("CLAIRE", "1984-02-11", True),
        ("LÉO", "2015-06-30", True),
    ]
    assert card.holders[1].nir == "284027511234577"  # the parent's NIR: not an INS


def test_vitale2_holder_files_that_disagree_are_refused() -> None:
    script = list(VITALE_SCRIPT)
    script[3] = (
        "00B0820000",
        _holder_rights("284027511234577") + _t(0x66, bytes.fromhex(_t(0x80, b"20190901"))) + "9000",
    )
    with pytest.raises(CardDataError):
        Vitale2Session(ApduProtocol(ScriptedConnection(script)), VITALE_ATR).read()


def test_vitale2_lunar_birth_date_reads_as_text() -> None:
    script = list(VITALE_SCRIPT)
    script[1] = (
        "00B0820000",
        _holder_id("DIALLO", "AWA", "19800000") + _holder_id("X", "Y", "20100532") + "9000",
    )
    card = Vitale2Session(ApduProtocol(ScriptedConnection(script)), VITALE_ATR).read()
    assert [h.birth_date for h in card.holders] == ["1980-00-00", "2010-05-32"]


IDENTITY = (
    _t(0xC0, b"CPS")
    + _t(0xC1, b"899700218896")
    + _t(0xC2, b"DUPONT")
    + _t(0xC3, b"ANNE")
    + _t(0xC4, b"21")
    + _t(0xC5, b"560012345")
    + _t(0xC6, b"Pharmacie du Port")
    + _t(0xC7, b"1234567890")
    + _t(0xC8, b"20291231")
)


def test_cps_identity_sequence() -> None:
    conn = ScriptedConnection(
        [
            ("00A404000D E828BD080F8025000001FF0010", "9000"),
            ("00A4000C02 0001", "9000"),
            ("00B0000000", IDENTITY + "9000"),
        ]
    )
    session = CpsSession(ApduProtocol(conn), CPS_ATR)
    session.select()
    card = session.read_identity()
    assert conn.finished()
    assert (card.card_type, card.id_nat, card.profession, card.expiry) == (
        "CPS",
        "899700218896",
        "21",
        dt.date(2029, 12, 31),
    )


def test_pin_is_padded_with_ff_and_wrong_pin_reports_tries_left() -> None:
    conn = ScriptedConnection([("0020000108 31323334FFFFFFFF", "63C2")])
    with pytest.raises(PinError) as caught:
        CpsSession(ApduProtocol(conn), CPS_ATR).verify_pin("1234")
    assert caught.value.tries_left == 2


def test_cps3_dialect_wrong_pin_asks_for_the_tries_left() -> None:
    conn = ScriptedConnection([("0020000108 39393939FFFFFFFF", "9804"), ("00200001", "63C1")])
    with pytest.raises(PinError) as caught:
        CpsSession(ApduProtocol(conn), CPS_ATR).verify_pin("9999")
    assert caught.value.tries_left == 1


@pytest.mark.parametrize("sw", ["6983", "9840", "63C0"])
def test_blocked_pin_in_both_dialects(sw: str) -> None:
    conn = ScriptedConnection([("0020000108 31323334FFFFFFFF", sw)])
    with pytest.raises(PinBlockedError):
        CpsSession(ApduProtocol(conn), CPS_ATR).verify_pin("1234")


def test_sign_digest_sends_pso_with_le() -> None:
    digest = bytes(range(32))
    conn = ScriptedConnection([("002A9E9A20" + digest.hex() + "00", "3006020101020101 9000")])
    assert CpsSession(ApduProtocol(conn), CPS_ATR).sign_digest(digest) == bytes.fromhex(
        "3006020101020101"
    )


@pytest.mark.parametrize("pin", ["12", "123456789", "12a4", "١٢٣٤"])
def test_malformed_pins_never_reach_the_card(pin: str) -> None:
    conn = ScriptedConnection([])
    with pytest.raises(ValueError):
        CpsSession(ApduProtocol(conn), CPS_ATR).verify_pin(pin)
    assert conn.sent == []


def test_unknown_and_unsupported_atrs_send_nothing() -> None:
    conn = ScriptedConnection([])
    with pytest.raises(UnknownCardError):
        read_card(conn, bytes.fromhex("3B6500002063CB6A00"))
    with pytest.raises(UnsupportedCardError) as caught:
        read_card(conn, bytes.fromhex("3F6525089304 6C9000".replace(" ", "")))
    assert caught.value.kind == "vitale1"
    assert conn.sent == []


class RandomCard(CardConnection):
    """Answers every APDU with fuzzed data and status words."""

    def __init__(self, replies: list[tuple[bytes, int]]) -> None:
        self.replies = replies
        self.count = 0

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        reply = self.replies[self.count % len(self.replies)]
        self.count += 1
        if self.count > 500:
            raise AssertionError("the reader looped on a fuzzed card")
        return reply

    def close(self) -> None:
        pass


_replies = st.lists(
    st.tuples(
        st.binary(max_size=300),
        st.one_of(
            st.sampled_from([0x9000, 0x6B00, 0x6A82, 0x6C10, 0x6104, 0x63C1]),
            st.integers(0, 0xFFFF),
        ),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_replies, st.sampled_from([VITALE_ATR, CPS_ATR]))
def test_fuzzed_card_replies_give_a_card_or_our_own_errors(
    replies: list[tuple[bytes, int]], atr: bytes
) -> None:
    try:
        read_card(RandomCard(replies), atr)
    except KioskError:
        pass


@settings(max_examples=300)
@given(st.binary(max_size=400), st.binary(max_size=400))
def test_fuzzed_vitale_files_give_a_card_or_card_data_error(mf: bytes, app: bytes) -> None:
    conn = ScriptedConnection(
        [
            ("00A4000002 3F00", "9000"),
            ("00B0820000", mf.hex()[:510] + "9000"),
            ("00A404000B D250000002564954414C45", "9000"),
            ("00B0820000", app.hex()[:510] + "9000"),
        ]
    )
    try:
        card = Vitale2Session(ApduProtocol(conn), VITALE_ATR).read()
    except CardDataError:
        return
    assert card.holders
