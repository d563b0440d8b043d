"""BER-TLV encoding for the emulators."""

from __future__ import annotations

__all__ = ["tlv"]


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n <= 0xFF:
        return bytes([0x81, n])
    return bytes([0x82]) + n.to_bytes(2, "big")


def tlv(tag: int, value: bytes) -> bytes:
    """Encode one data object; tags above 0xFF are written on two bytes."""
    tag_bytes = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    return tag_bytes + _length(len(value)) + value
