"""Shared paths for every test suite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import CARDS

# No screen in the tests, whoever runs them (`make test` sets it too): with the xcb libraries
# installed for the demo, Qt would otherwise look for a display and abort.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def cards_dir() -> Path:
    return CARDS


# With several pytest-xdist workers (`make test`: one a core), each test module runs whole
# in one worker, in order (its module-scoped server is built once), and every test on the one
# pair of virtual readers (pcscd with vpcd) in the same worker. xdist's own loadgroup cannot
# do the latter under pytest 9 (it renames items through an attribute pytest no longer has).
_CARD_SUITES = ("tests/ui/", "tests/e2e/", "tests/emulated/")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class ModulesAndCards(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(_CARD_SUITES):
                return "cards"
            return nodeid.split("::", 1)[0]

    return ModulesAndCards(config, log)
