"""The APDU layer against a scripted connection that checks every byte sent."""

from __future__ import annotations

import pytest

from kiosk.cardreader.apdu import SW, ApduProtocol, sw_name
from kiosk.core.errors import ApduError, CardDataError
from tests.support.scripted import ScriptedConnection


def test_plain_command_returns_data_on_9000() -> None:
    conn = ScriptedConnection([("00A4000002 3F00", "9000")])
    assert ApduProtocol(conn).select_file(b"\x3f\x00") == b""
    assert conn.finished()


def test_6cxx_resends_with_the_length_the_card_gives() -> None:
    conn = ScriptedConnection([("00B0820000", "6C05"), ("00B0820005", "0102030405 9000")])
    assert ApduProtocol(conn).read_binary(sfi=2) == bytes([1, 2, 3, 4, 5])
    assert conn.finished()


def test_61xx_collects_data_with_get_response() -> None:
    conn = ScriptedConnection(
        [
            ("00A404000B D25000000256495441 4C45", "6104"),
            ("00C0000004", "6F02 8400 6102"),
            ("00C0000002", "AABB 9000"),
        ]
    )
    fci = ApduProtocol(conn).select_file(
        bytes.fromhex("D2500000025649544 14C45".replace(" ", "")), p1=4
    )
    assert fci == bytes.fromhex("6F028400AABB")
    assert conn.finished()


def test_chunked_read_stops_on_a_short_reply() -> None:
    conn = ScriptedConnection(
        [
            ("00B0000000", "AA" * 256 + "9000"),
            ("00B0010000", "BB" * 256 + "9000"),
            ("00B0020000", "CC" * 10 + "9000"),
        ]
    )
    content = ApduProtocol(conn).read_binary()
    assert content == b"\xaa" * 256 + b"\xbb" * 256 + b"\xcc" * 10
    assert conn.finished()


def test_chunked_read_by_sfi_then_offsets_ends_on_6b00_at_an_exact_multiple() -> None:
    conn = ScriptedConnection([("00B0820000", "11" * 256 + "9000"), ("00B0010000", "6B00")])
    assert ApduProtocol(conn).read_binary(sfi=2) == b"\x11" * 256
    assert conn.finished()


def test_error_status_raises_apdu_error_with_the_enum_name() -> None:
    conn = ScriptedConnection([("00B0820000", "6A82")])
    with pytest.raises(ApduError) as caught:
        ApduProtocol(conn).read_binary(sfi=2)
    assert caught.value.sw == SW.FILE_NOT_FOUND
    assert sw_name(caught.value.sw) == "FILE_NOT_FOUND"


def test_endless_get_response_chain_is_refused() -> None:
    script = [("00A4040002 AABB", "6101")] + [("00C0000001", "00 6101")] * 64
    conn = ScriptedConnection(script)
    with pytest.raises(CardDataError):
        ApduProtocol(conn).select_file(b"\xaa\xbb", p1=4)


def test_status_word_names() -> None:
    assert sw_name(0x63C2) == "WRONG_PIN"
    assert sw_name(0x6110) == "BYTES_AVAILABLE"
    assert sw_name(0x6C10) == "WRONG_LE"
    assert sw_name(0x1234) == "UNKNOWN"
    assert sw_name(0x9840) == "CPS3_PIN_BLOCKED"


def test_counts_every_apdu_exchanged() -> None:
    conn = ScriptedConnection([("00B0820000", "6C01"), ("00B0820001", "00 9000")])
    protocol = ApduProtocol(conn)
    protocol.read_binary(sfi=2)
    assert protocol.apdu_count == 2
