"""Shared paths for every test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CARDS = ROOT / "fixtures" / "cards"


@pytest.fixture(scope="session")
def cards_dir() -> Path:
    return CARDS
