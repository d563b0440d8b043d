"""The real kiosk app offscreen (pytest-qt): build it, wait for a step, tap a control."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from kiosk.core import Step
from kiosk.settings import load_settings
from kiosk.ui.app import Kiosk, build_kiosk
from tests.support.central import Server
from tests.support.counter import enrolled_home

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

KioskFactory = Callable[..., Kiosk]


@pytest.fixture
def make_kiosk(qtbot: QtBot, server: Server, tmp_path: Path) -> Iterator[KioskFactory]:
    """Build enrolled kiosks (their sheets as PDF files in tmp_path/sheets); all stopped after."""
    started: list[Kiosk] = []

    def factory(*, idle_s: float = 90.0, central_url: str | None = None) -> Kiosk:
        home = enrolled_home(server, tmp_path / f"kiosk-{len(started)}")
        settings = load_settings(
            home=home,
            idle_s=idle_s,
            central_url=central_url,
            portal_url="http://portail.test",
            sheet_dir=tmp_path / "sheets",
        )
        kiosk = build_kiosk(settings)
        qtbot.addWidget(kiosk.window)
        kiosk.window.resize(1024, 768)
        kiosk.window.show()
        started.append(kiosk)
        return kiosk

    yield factory
    for kiosk in started:
        kiosk.stop()


def wait_step(qtbot: QtBot, kiosk: Kiosk, step: Step, timeout_ms: int = 10_000) -> None:
    """Wait until the window draws this step."""

    def reached() -> None:
        view = kiosk.window.view
        assert view is not None and view.step is step, view and (view.step, view.notice)

    qtbot.waitUntil(reached, timeout=timeout_ms)


def wait_not_busy(qtbot: QtBot, kiosk: Kiosk, timeout_ms: int = 10_000) -> None:
    """Wait until no busy command is queued or running (taps would be swallowed)."""
    qtbot.waitUntil(lambda: kiosk.runner.busy_label is None, timeout=timeout_ms)


def tap(qtbot: QtBot, kiosk: Kiosk, name: str) -> None:
    """Tap the visible control with this object name on the current screen, once the
    kiosk is no longer busy (a tap while busy is swallowed, as on the counter)."""
    wait_not_busy(qtbot, kiosk)
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
