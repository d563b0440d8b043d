from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.cardreader.tlv import Tlv, find, find_all, parse_tlvs
from kiosk.core.errors import CardDataError


def test_short_long_and_two_byte_tags() -> None:
    data = bytes.fromhex("80 03 414243") + bytes.fromhex("5F20 02 4142")
    data += bytes.fromhex("81 81 80") + b"x" * 0x80 + bytes.fromhex("82 82 0100") + b"y" * 256
    tlvs = parse_tlvs(data)
    assert [t.tag for t in tlvs] == [0x80, 0x5F20, 0x81, 0x82]
    assert tlvs[0].value == b"ABC"
    assert tlvs[1].value == b"AB"
    assert len(tlvs[2].value) == 0x80
    assert len(tlvs[3].value) == 256


def test_constructed_templates_and_fillers() -> None:
    data = bytes.fromhex("65 06 8001 41 8101 42") + b"\x00\xff" + bytes.fromhex("65 00")
    tlvs = parse_tlvs(data)
    assert [t.tag for t in find_all(tlvs, 0x65)] == [0x65, 0x65]
    children = tlvs[0].children()
    assert find(children, 0x81) == Tlv(0x81, b"B")
    assert find(children, 0x82) is None


def test_primitive_tag_has_no_children() -> None:
    with pytest.raises(CardDataError):
        Tlv(0x80, b"\x01").children()


@pytest.mark.parametrize(
    "data",
    ["80 05 4142", "80", "5F", "80 81", "80 82 01", "80 83 000001", "65 04 8005 41"],
)
def test_truncated_or_unsupported_forms_are_card_data_errors(data: str) -> None:
    with pytest.raises(CardDataError):
        tlvs = parse_tlvs(bytes.fromhex(data))
        for t in tlvs:
            if t.constructed:
                t.children()


@given(st.binary(max_size=600))
def test_fuzzed_bytes_give_tlvs_or_our_error_only(data: bytes) -> None:
    try:
        tlvs = parse_tlvs(data)
    except CardDataError:
        return
    for t in tlvs:
        if t.constructed:
            try:
                t.children()
            except CardDataError:
                pass


@given(st.lists(st.tuples(st.integers(0x80, 0x9E), st.binary(max_size=300)), max_size=6))
def test_encoded_objects_parse_back(objects: list[tuple[int, bytes]]) -> None:
    data = b""
    for tag, value in objects:
        n = len(value)
        length = (
            bytes([n])
            if n < 0x80
            else bytes([0x81, n])
            if n < 256
            else bytes([0x82]) + n.to_bytes(2, "big")
        )
        data += bytes([tag]) + length + value
    assert [(t.tag, t.value) for t in parse_tlvs(data)] == objects
