"""Shared fixtures of the queue tests."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)


@pytest.fixture
def central_keys() -> tuple[bytes, bytes]:
    """The central service's X25519 sealing key pair (raw private, raw public)."""
    private = x25519.X25519PrivateKey.generate()
    return (
        private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
        private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )
