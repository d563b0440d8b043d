"""BER-TLV parsing (ISO 7816-4 / X.690 subset used by our cards).

One- and two-byte (or longer) tags, short lengths and the long forms 81 xx and 82 xx xx.
Anything else, or a value that runs past the end of the data, is a CardDataError.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kiosk.core.errors import CardDataError

__all__ = ["Tlv", "find", "find_all", "parse_tlvs"]

# Filler bytes ISO 7816-4 allows between and after data objects.
_FILLERS = (0x00, 0xFF)


@dataclass(frozen=True, slots=True)
class Tlv:
    """One data object: its tag as an integer (e.g. 0x65 or 0x5F20) and its value."""

    tag: int
    value: bytes

    @property
    def constructed(self) -> bool:
        """Whether the value holds nested data objects (bit 6 of the first tag byte)."""
        first = self.tag.to_bytes((self.tag.bit_length() + 7) // 8 or 1, "big")[0]
        return bool(first & 0x20)

    def children(self) -> list[Tlv]:
        """Parse the value as nested data objects."""
        if not self.constructed:
            raise CardDataError(f"tag {self.tag:X} is not constructed")
        return parse_tlvs(self.value)


def _iter_tlvs(data: bytes) -> Iterator[Tlv]:
    pos, end = 0, len(data)
    while pos < end:
        if data[pos] in _FILLERS:
            pos += 1
            continue
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:  # multi-byte tag: continuation while bit 8 is set
            while True:
                if pos >= end:
                    raise CardDataError("truncated TLV tag")
                byte = data[pos]
                pos += 1
                tag = (tag << 8) | byte
                if not byte & 0x80:
                    break
                if tag > 0xFFFFFF:
                    raise CardDataError("TLV tag too long")
        if pos >= end:
            raise CardDataError("truncated TLV length")
        length = data[pos]
        pos += 1
        if length == 0x81:
            if pos + 1 > end:
                raise CardDataError("truncated TLV length")
            length = data[pos]
            pos += 1
        elif length == 0x82:
            if pos + 2 > end:
                raise CardDataError("truncated TLV length")
            length = int.from_bytes(data[pos : pos + 2], "big")
            pos += 2
        elif length & 0x80:
            raise CardDataError(f"unsupported TLV length form {length:02X}")
        if pos + length > end:
            raise CardDataError("truncated TLV value")
        yield Tlv(tag, data[pos : pos + length])
        pos += length


def parse_tlvs(data: bytes) -> list[Tlv]:
    """Parse a sequence of BER-TLV data objects."""
    return list(_iter_tlvs(data))


def find(tlvs: list[Tlv], tag: int) -> Tlv | None:
    """Return the first data object with this tag, or None."""
    return next((t for t in tlvs if t.tag == tag), None)


def find_all(tlvs: list[Tlv], tag: int) -> list[Tlv]:
    """Return every data object with this tag, in order."""
    return [t for t in tlvs if t.tag == tag]
