"""Every test here talks to the real pcscd with the vpcd driver and our virtual cards."""

from __future__ import annotations

import pytest

from tests.support import pcsc as pcsc_helpers


@pytest.fixture(autouse=True)
def pcscd() -> None:
    """pcscd must be up with both vpcd slots empty before each test."""
    pcsc_helpers.start_pcscd()
    for reader in pcsc_helpers.READERS:
        pcsc_helpers.wait_reader(reader, False)
