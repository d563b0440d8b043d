"""The adapter only uses names pyscard really exports (mypy cannot see into pyscard)."""

from __future__ import annotations

import re
from pathlib import Path

from smartcard import scard

import kiosk.cardreader.pcsc as pcsc


def test_every_scard_name_used_by_the_adapter_exists() -> None:
    source = Path(pcsc.__file__).read_text(encoding="utf-8")
    used = set(re.findall(r"scard\.(\w+)", source))
    assert used, "the adapter should use pyscard"
    assert sorted(n for n in used if not hasattr(scard, n)) == []
