"""Two installable sides: the kiosk installs no web service or PostgreSQL driver, the central
service no Qt or smart-card stack; both from locks with hashes that follow pyproject.toml."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
NEVER = {
    "kiosk": {
        "fastapi",
        "starlette",
        "uvicorn",
        "psycopg",
        "psycopg-binary",
        "jinja2",
        "pydantic-settings",
    },
    "central": {"pyside6-essentials", "shiboken6", "pyscard", "requests"},
}
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _lock(side: str) -> dict[str, str]:
    """name -> version of a lock; every pin carries at least one hash."""
    pins: dict[str, str] = {}
    blocks = (ROOT / "requirements" / f"{side}.txt").read_text(encoding="utf-8").split("\n")
    current = None
    for line in blocks:
        match = _PIN.match(line)
        if match:
            current = _name(match.group(1))
            pins[current] = match.group(2)
            assert line.rstrip().endswith("\\"), f"{side}: {current} has no hash"
        elif line.strip().startswith("--hash=sha256:"):
            assert current is not None
    return pins


def _pinned(requirements: list[str]) -> dict[str, str]:
    out = {}
    for requirement in requirements:
        match = _PIN.match(requirement)
        if match:
            out[_name(match.group(1))] = match.group(2)
    return out


@pytest.mark.parametrize("side", ["kiosk", "central"])
def test_each_side_locks_what_pyproject_pins_and_nothing_of_the_other(side: str) -> None:
    lock = _lock(side)
    wanted = _pinned(PROJECT["dependencies"]) | _pinned(PROJECT["optional-dependencies"][side])
    assert {name: lock.get(name) for name in wanted} == wanted
    assert not NEVER[side] & set(lock), NEVER[side] & set(lock)


def test_the_dev_lock_holds_both_sides_at_the_same_versions() -> None:
    dev = _lock("dev")
    for side in ("kiosk", "central"):
        for name, version in _lock(side).items():
            assert dev.get(name) == version, (side, name)
    assert _pinned(PROJECT["optional-dependencies"]["dev"]).items() <= dev.items()


_BLOCK = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {blocked}:
            raise ImportError("not installed on this side: " + name)
sys.meta_path.insert(0, Block())
"""


def _imports_without(blocked: set[str], code: str) -> subprocess.CompletedProcess[str]:
    program = _BLOCK.format(blocked=sorted(blocked)) + code
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_the_central_service_runs_without_the_kiosk_side() -> None:
    result = _imports_without(
        {"PySide6", "shiboken6", "smartcard", "requests", "kiosk", "drivers"},
        "import central.cli, central.app, central.models\n"
        "from central.config import Settings\n"
        "import tempfile, pathlib\n"
        "home = pathlib.Path(tempfile.mkdtemp())\n"
        "app = central.app.create_app(Settings(home=home, db=f'sqlite:///{home}/c.db'))\n"
        "print(len(app.routes))\n",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.split()[-1]) > 10


def test_the_kiosk_runs_without_the_central_side() -> None:
    result = _imports_without(
        {"fastapi", "starlette", "uvicorn", "psycopg", "jinja2", "central", "multipart"},
        "import kiosk.cli, kiosk.doctor, kiosk.ui.app, kiosk.sync.client, kiosk.sync.online\n"
        "import kiosk.cardreader.pcsc, drivers.cards\n"
        "print('ok')\n",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_the_kiosk_can_open_a_real_window_on_this_machine() -> None:
    """`make demo` on a screen uses Qt's xcb platform: every library it loads is installed
    (the bootstrap's list), not only those the offscreen tests need."""
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    libraries = [qt / "plugins" / "platforms" / "libqxcb.so", *qt.glob("lib/libQt6XcbQpa.so*")]
    assert libraries[0].exists() and len(libraries) > 1, libraries
    for library in libraries:
        linked = subprocess.run(
            ["ldd", str(library)], capture_output=True, text=True, check=True
        ).stdout
        missing = [line.split()[0] for line in linked.splitlines() if "not found" in line]
        assert missing == [], f"{library.name} needs {missing}: add them to the bootstrap"
