"""The real kiosk app offscreen (pytest-qt) over the real pcscd, cards and central service."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from kiosk.session import Step
from kiosk.ui.app import Kiosk, build_kiosk
from kiosk.ui.window import PrintSettings
from tests.central.harness import Server
from tests.e2e import conftest as e2e
from tests.e2e.conftest import enrolled_home

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The e2e fixtures: pcscd up with empty slots, the central service, its mailbox.
pcscd, server, mailbox = e2e.pcscd, e2e.server, e2e.mailbox


KioskFactory = Callable[..., Kiosk]


@pytest.fixture
def make_kiosk(
    qtbot: QtBot,
    server: Server,
    tmp_path: Path,
) -> Iterator[KioskFactory]:
    started: list[Kiosk] = []

    def factory(*, idle_s: float = 90.0, central_url: str | None = None) -> Kiosk:
        home = enrolled_home(server, tmp_path / f"kiosk-{len(started)}")
        from kiosk.sync.enrolment import load_identity

        identity = load_identity(home)
        assert identity is not None
        if central_url:
            from dataclasses import replace

            identity = replace(identity, central_url=central_url)
        kiosk = build_kiosk(
            home,
            identity,
            idle_s=idle_s,
            printing=PrintSettings(portal_url="http://portail.test", pdf_dir=tmp_path / "sheets"),
        )
        qtbot.addWidget(kiosk.window)
        kiosk.window.resize(1024, 768)
        kiosk.window.show()
        started.append(kiosk)
        return kiosk

    yield factory
    for kiosk in started:
        kiosk.stop()


def wait_step(qtbot: QtBot, kiosk: Kiosk, step: Step, timeout_ms: int = 10_000) -> None:
    def reached() -> None:
        view = kiosk.window.view
        assert view is not None and view.step is step, view and (view.step, view.notice)

    qtbot.waitUntil(reached, timeout=timeout_ms)


def tap(qtbot: QtBot, kiosk: Kiosk, name: str) -> None:
    """Tap the visible control with this object name on the current screen."""
    screen = kiosk.window.stack.currentWidget()
    assert isinstance(screen, QWidget)
    control = screen.findChild(QAbstractButton, name)
    assert control is not None and control.isVisible(), f"no visible {name!r}"
    if isinstance(control, QCheckBox | QRadioButton):
        # Their click area is the box and its text, not the whole row: tap the box.
        point = QPoint(min(20, control.width() // 2), control.height() // 2)
        qtbot.mouseClick(control, Qt.MouseButton.LeftButton, pos=point)
    else:
        qtbot.mouseClick(control, Qt.MouseButton.LeftButton)
