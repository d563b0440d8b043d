"""Shared paths for every test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.paths import CARDS

# No screen in the tests, whoever runs them (`make test` sets it too): with the xcb libraries
# installed for the demo, Qt would otherwise look for a display and abort.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def cards_dir() -> Path:
    return CARDS
