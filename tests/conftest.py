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


# The one pair of virtual readers (pcscd with vpcd): every test that uses them runs in one
# pytest-xdist worker (`--dist loadgroup`), the rest spread over the others.
_CARD_SUITES = {"ui", "e2e", "emulated"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        suite = item.path.parent.relative_to(config.rootpath / "tests").parts[:1]
        fixtures = set(getattr(item, "fixturenames", ()))
        if set(suite) & _CARD_SUITES or fixtures & {"pcscd", "cards"}:
            item.add_marker(pytest.mark.xdist_group("cards"))
