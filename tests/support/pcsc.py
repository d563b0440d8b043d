"""Helpers for tests that go through the real pcscd + vpcd: control pcscd, insert cards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drivers.image import CardImage, load_image, parse_image
from drivers.vpcd import VirtualCardLink, insert_card
from kiosk.cardreader.pcsc import PyscardBackend
from kiosk.core.errors import PcscUnavailableError

SOCKET = Path("/run/pcscd/pcscd.comm")
READERS = ("Virtual PCD 00 00", "Virtual PCD 00 01")
SUDO = [] if os.geteuid() == 0 else ["sudo", "-n"]


def pcscd_running() -> bool:
    return subprocess.run(["pgrep", "-x", "pcscd"], capture_output=True).returncode == 0


def start_pcscd(config_dir: Path | None = None) -> None:
    """Start pcscd (optionally with another reader.conf.d) and wait for the vpcd slots."""
    if pcscd_running():
        return
    binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
    subprocess.run([*SUDO, "mkdir", "-p", "/run/pcscd"], check=True)
    args = [*SUDO, binary]
    if config_dir is not None:
        args += ["-c", str(config_dir)]
    subprocess.run(args, check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            backend = PyscardBackend()
            try:
                readers = backend.snapshot()
            finally:
                backend.close()
            if config_dir is not None or all(r in readers for r in READERS):
                return
        except PcscUnavailableError:
            pass
        time.sleep(0.05)
    raise RuntimeError("pcscd did not come up with the vpcd readers")


def spawn_pcscd() -> None:
    """Start pcscd and return at once, while it is still coming up."""
    binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
    subprocess.run([*SUDO, "mkdir", "-p", "/run/pcscd"], check=True)
    subprocess.run([*SUDO, binary], check=True)


def stop_pcscd() -> None:
    """Kill pcscd and wait until it is gone."""
    subprocess.run([*SUDO, "pkill", "-x", "pcscd"], check=False)
    deadline = time.monotonic() + 10
    while pcscd_running() and time.monotonic() < deadline:
        time.sleep(0.05)
    if pcscd_running():
        subprocess.run([*SUDO, "pkill", "-9", "-x", "pcscd"], check=False)
        time.sleep(0.2)


def reader_state(reader: str) -> bool | None:
    """Whether PC/SC sees a card in the reader (None: no such reader or no service)."""
    try:
        backend = PyscardBackend()
    except PcscUnavailableError:
        return None
    try:
        state = backend.snapshot().get(reader)
    except PcscUnavailableError:
        return None
    finally:
        backend.close()
    return None if state is None else state.present


def wait_reader(reader: str, present: bool, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if reader_state(reader) is present:
            return
        time.sleep(0.02)
    raise AssertionError(f"{reader}: card {'present' if present else 'absent'} expected")


def image_with(path: Path, **behaviour: object) -> CardImage:
    """A fixture card image with some behaviour changed."""
    image = load_image(path)
    data = dict(image.data)
    data["behaviour"] = {**(data.get("behaviour") or {}), **behaviour}
    return parse_image(data, path)


@contextmanager
def card_in_slot(
    image: CardImage | Path, slot: int = 0, *, wait: bool = True
) -> Iterator[VirtualCardLink]:
    """Insert a card, wait until pcscd sees it, remove it (and wait) afterwards."""
    link = insert_card(image, slot=slot, reconnect=True)
    try:
        if wait:
            wait_reader(READERS[slot], True)
        yield link
    finally:
        link.remove()
        wait_reader(READERS[slot], False)


def run_kiosk(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `kiosk` command as a user would, in a fresh process (KIOSK_HOME=home)."""
    env = {**os.environ, "KIOSK_HOME": str(home)} if home is not None else None
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=60,
        env=env,
    )
