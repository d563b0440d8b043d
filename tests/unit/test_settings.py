"""The kiosk's settings: defaults, then kiosk.toml, then KIOSK_* variables, then flags; a bad
value is one clear line naming where it came from."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.errors import NotEnrolledError, SettingsError
from kiosk.messages import describe_error
from kiosk.settings import load_settings, loose_paths, write_config
from tests.support.paths import ROOT


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)


def test_defaults_then_the_file_then_variables_then_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(home=tmp_path).idle_s == 90.0
    (tmp_path / "kiosk.toml").write_text('idle_s = 60\nprinter = "Accueil"\n', "utf-8")
    settings = load_settings(home=tmp_path)
    assert (settings.idle_s, settings.printer) == (60.0, "Accueil")
    monkeypatch.setenv("KIOSK_IDLE_S", "45")
    assert load_settings(home=tmp_path).idle_s == 45.0
    assert load_settings(home=tmp_path, idle_s=30).idle_s == 30.0
    monkeypatch.setenv("KIOSK_HOME", str(tmp_path))
    assert load_settings().printer == "Accueil"  # the file of KIOSK_HOME


@pytest.mark.parametrize(
    ("where", "value", "name", "problem"),
    [
        ("env", "abc", "KIOSK_IDLE_S", "float_parsing"),
        ("env", "0", "KIOSK_IDLE_S", "greater_than"),
        ("env", "86400", "KIOSK_IDLE_S", "less_than_equal"),
        ("file", '"abc"', "idle_s (kiosk.toml)", "float_parsing"),
        ("flag", "abc", "--idle-s", "float_parsing"),
    ],
)
def test_a_bad_value_names_its_source(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    value: str,
    name: str,
    problem: str,
) -> None:
    flags: dict[str, object] = {"home": tmp_path}
    if where == "env":
        monkeypatch.setenv("KIOSK_IDLE_S", value)
    elif where == "file":
        (tmp_path / "kiosk.toml").write_text(f"idle_s = {value}\n", "utf-8")
    else:
        flags["idle_s"] = value
    with pytest.raises(SettingsError) as refused:
        load_settings(**flags)
    assert (refused.value.name, refused.value.problem) == (name, problem)
    line = describe_error(refused.value)
    assert name in line and "\n" not in line


def test_a_file_that_is_not_toml(tmp_path: Path) -> None:
    (tmp_path / "kiosk.toml").write_text("idle_s = = 3\n", "utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings(home=tmp_path)
    assert refused.value.problem == "toml_syntax"


def test_enrolment_is_written_to_the_file_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "kiosk.toml").write_text('printer = "Accueil"\nidle_s = 60\n', "utf-8")
    with pytest.raises(NotEnrolledError):
        load_settings(home=tmp_path).identity()
    write_config(
        tmp_path,
        {
            "kiosk_id": "kiosk-ab12",
            "site": 'Pharmacie "du Port"',
            "central_url": "https://dmp.example",
            "central_key": "ab" * 32,
        },
    )
    settings = load_settings(home=tmp_path)
    identity = settings.identity()
    assert (identity.kiosk_id, identity.site, identity.central_key) == (
        "kiosk-ab12",
        'Pharmacie "du Port"',
        bytes.fromhex("ab" * 32),
    )
    assert (settings.printer, settings.idle_s) == ("Accueil", 60.0)


def _kiosk(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
    )


def test_the_command_line_says_one_line_for_a_bad_setting(tmp_path: Path) -> None:
    result = _kiosk("queue", "status", KIOSK_HOME=str(tmp_path), KIOSK_IDLE_S="abc")
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "KIOSK_IDLE_S" in lines[0] and "Traceback" not in result.stderr


def test_a_kiosk_that_is_not_enrolled_says_so_before_any_window(tmp_path: Path) -> None:
    result = _kiosk("run", "--windowed", KIOSK_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == f"kiosk: {describe_error(NotEnrolledError('x'))}"


def test_a_setting_the_kiosk_does_not_know_is_a_typo_to_fix(tmp_path: Path) -> None:
    (tmp_path / "kiosk.toml").write_text("idle_secondes = 60\n", "utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings(home=tmp_path)
    assert (refused.value.name, refused.value.problem) == (
        "idle_secondes (kiosk.toml)",
        "unknown_setting",
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that would leave files readable by all: the modes must not depend on it."""
    previous = os.umask(0o002)
    yield
    os.umask(previous)


def test_the_enrolment_file_is_private_in_a_private_home(tmp_path: Path, loose_umask: None) -> None:
    home = tmp_path / "new" / "home"
    write_config(home, {"site": "Pharmacie du Port"})
    assert _mode(home) == 0o700 and _mode(home / "kiosk.toml") == 0o600
    (home / "kiosk.toml").chmod(0o644)
    (home / "kiosk.toml.tmp").write_text("left over", "utf-8")  # a crash between write and rename
    (home / "kiosk.toml.tmp").chmod(0o666)
    write_config(home, {"idle_s": 60})
    assert _mode(home / "kiosk.toml") == 0o600 and not (home / "kiosk.toml.tmp").exists()
    assert load_settings(home=home).idle_s == 60


def test_a_looser_home_is_tightened_at_start(tmp_path: Path) -> None:
    """A home copied by hand or left by an older version: the folder and the data files in
    it are tightened as soon as the settings are read."""
    for name in ("device.key", "queue.db", "queue.db-wal", "queue.db-shm", "kiosk.toml"):
        (tmp_path / name).write_text("", "utf-8")
        (tmp_path / name).chmod(0o644)
    tmp_path.chmod(0o755)
    assert len(loose_paths(tmp_path)) == 6
    load_settings(home=tmp_path)
    assert _mode(tmp_path) == 0o700 and loose_paths(tmp_path) == []
    assert all(_mode(p) == 0o600 for p in tmp_path.iterdir())


def test_reading_the_settings_creates_no_home(tmp_path: Path) -> None:
    load_settings(home=tmp_path / "absent")
    assert not (tmp_path / "absent").exists()


def test_doctor_warns_when_the_home_cannot_be_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A home the kiosk cannot tighten (another owner, a read-only file system): no
    traceback, and `kiosk doctor` names what others can read and what to do. The refusal is
    made by chmod itself failing, as it does for a user who does not own the home (running
    the kiosk as another user needs an interpreter that user may run, which a clean clone
    in a private folder is not)."""
    from kiosk.cli import main

    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "kiosk.toml").write_text("idle_s = 60\n", "utf-8")
    (home / "kiosk.toml").chmod(0o644)

    def not_the_owner(path: Path, mode: int, **_: object) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(Path, "chmod", not_the_owner)
    monkeypatch.setenv("KIOSK_HOME", str(home))
    code = main(["doctor"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    failing = [line for line in lines if line.startswith("ÉCHEC droits des données")]
    assert len(failing) == 1, lines
    assert f"{home} 0755" in failing[0] and f"{home / 'kiosk.toml'} 0644" in failing[0]
    assert any(f"chmod 700 {home}" in line for line in lines)
    monkeypatch.undo()
    assert _mode(home) == 0o755  # nothing changed, nothing crashed
