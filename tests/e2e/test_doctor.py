"""`kiosk doctor` against the real pcscd and central service: one failing line per problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dmpcommon.actions import CardReadRefused, RefusedCard
from kiosk.settings import load_settings
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.queue import ActionQueue, open_engine
from tests.support import pcsc as pcsc_helpers
from tests.support.central import Server
from tests.support.counter import enrolled_home
from tests.support.pcsc import run_kiosk
from tests.support.tamper import tamper


@pytest.fixture
def home(server: Server, tmp_path: Path) -> Path:
    home = enrolled_home(server, tmp_path / "kiosk")
    identity = load_settings(home=home).identity()
    queue = ActionQueue(
        open_engine(home / "queue.db"),
        kiosk_id=identity.kiosk_id,
        signing_key=load_or_create_device_key(home / "device.key"),
        central_key=identity.central_key,
    )
    for _ in range(4):
        queue.enqueue(CardReadRefused(reason=RefusedCard.UNKNOWN), session_id="s")
    queue.close()
    return home


def _doctor(home: Path) -> tuple[int, list[str]]:
    result = run_kiosk("doctor", home=home)
    return result.returncode, result.stdout.splitlines()


def _failing(lines: list[str]) -> list[str]:
    return [line.split()[1] for line in lines if line.startswith("ÉCHEC")]


def test_all_is_well(home: Path) -> None:
    code, lines = _doctor(home)
    assert code == 0, lines
    assert lines[-1] == "tout est en ordre"
    assert any("chaîne de la file" in line and "vérifiés" in line for line in lines)


def test_pcscd_stopped(home: Path) -> None:
    pcsc_helpers.stop_pcscd()
    try:
        code, lines = _doctor(home)
    finally:
        pcsc_helpers.start_pcscd()
    assert code == 1 and _failing(lines) == ["pcscd"], lines
    assert any("systemctl start pcscd" in line for line in lines)


def test_central_service_down(home: Path, server: Server) -> None:
    server.stop()
    code, lines = _doctor(home)
    assert code == 1 and _failing(lines) == ["service"], lines
    assert any("service central" in line and "injoignable" in line for line in lines)


def test_key_file_readable_by_others_is_tightened(home: Path) -> None:
    """A key (or any data file) left readable by others is tightened as soon as the kiosk
    starts; `kiosk doctor` warns only when that cannot be done (see test_settings)."""
    os.chmod(home / "device.key", 0o644)
    os.chmod(home, 0o755)  # noqa: S103 (the loose home under test)
    code, lines = _doctor(home)
    assert code == 0, lines
    assert any("droits des données" in line and "0700" in line for line in lines)
    assert oct(os.stat(home / "device.key").st_mode & 0o777) == "0o600"
    assert oct(os.stat(home).st_mode & 0o777) == "0o700"


def test_a_corrupted_queue(home: Path) -> None:
    tamper(home / "queue.db", "flip")
    code, lines = _doctor(home)
    assert code == 1 and _failing(lines) == ["chaîne"], lines
    assert any("action n° 3 : bad signature" in line for line in lines)
