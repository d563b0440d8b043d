"""Shared paths for every test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import CARDS


@pytest.fixture(scope="session")
def cards_dir() -> Path:
    return CARDS
