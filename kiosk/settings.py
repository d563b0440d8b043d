"""The kiosk's settings, validated once: defaults, then `KIOSK_HOME/kiosk.toml`, then `KIOSK_*`
variables, then command-line flags (each later source wins). A plain pydantic model and
twenty lines of merging: pydantic-settings cost a tenth of the kiosk's start-up.

`kiosk enroll` writes the enrolment (kiosk id, site, central service, sealing key) into the
same `kiosk.toml`, keeping what else the file holds. A value that does not validate is one
`SettingsError` naming where it came from (`KIOSK_IDLE_S`, `idle_s` in kiosk.toml, a flag),
never a traceback.

KIOSK_HOME holds the device key, the queue of actions and the enrolment: it is 0700 and its
files 0600 (`private_folder`, `private_file`), tightened at each start if found looser.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kiosk.core.errors import NotEnrolledError, SettingsError

__all__ = [
    "CONFIG_FILE",
    "FILE_MODE",
    "FOLDER_MODE",
    "KioskIdentity",
    "KioskSettings",
    "kiosk_home",
    "load_settings",
    "loose_paths",
    "portal_of",
    "private_file",
    "private_folder",
    "write_config",
]

CONFIG_FILE = "kiosk.toml"
_ENV_PREFIX = "KIOSK_"
FOLDER_MODE = 0o700
FILE_MODE = 0o600
# The data files a kiosk writes in its home, tightened with it (older versions left them
# at the umask's mode). The logs folder tightens its own files.
_DATA_FILES = ("device.key", "queue.db", "queue.db-wal", "queue.db-shm", CONFIG_FILE)


_HTTP_URL = re.compile(r"^https?://[^\s]+$")
_PORTAL_PATH = "/patient"  # where the central service serves the portal (central/portal)


def portal_of(central_url: str) -> str:
    """The patient portal of a central service: it serves it under `/patient`."""
    return central_url.rstrip("/") + _PORTAL_PATH


def kiosk_home() -> Path:
    """The kiosk's data folder: KIOSK_HOME, or the platform's user data folder."""
    return Path(os.environ.get("KIOSK_HOME") or user_data_dir("dmp-kiosk"))


def _tighten(path: Path, mode: int) -> bool:
    """chmod to `mode` if the path is looser; whether it is now tight (False if it cannot be:
    another owner, a read-only or non-POSIX file system)."""
    try:
        if stat.S_IMODE(path.stat().st_mode) & ~mode:
            path.chmod(mode)
        return stat.S_IMODE(path.stat().st_mode) & ~mode == 0
    except OSError:
        return False


def private_folder(path: Path) -> bool:
    """Create the folder 0700 (its parents too), or tighten it; whether it is 0700 or
    stricter. At the kiosk's home, the data files in it are tightened to 0600 as well."""
    try:
        path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    except OSError:
        return False
    tight = _tighten(path, FOLDER_MODE)
    for name in _DATA_FILES:
        if (path / name).exists():
            _tighten(path / name, FILE_MODE)
    return tight


def loose_paths(home: Path) -> list[tuple[Path, int]]:
    """The home, its data files and its logs that others may read or enter, with their mode
    (what `kiosk doctor` reports when tightening them failed)."""
    logs = home / "logs"
    candidates = [home, *(home / name for name in _DATA_FILES), logs]
    if logs.is_dir():
        candidates.extend(sorted(logs.iterdir()))
    loose = []
    for path in candidates:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue  # absent: nothing to protect
        if mode & 0o077:
            loose.append((path, mode))
    return loose


def private_file(path: Path) -> None:
    """Create the file empty with mode 0600 if it does not exist, or tighten it: before
    SQLite opens it (its -wal and -shm files then take the database's mode)."""
    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)  # not ours: `kiosk doctor` says so
    else:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class KioskIdentity:
    """Who this kiosk is for the central service (written by `kiosk enroll`)."""

    kiosk_id: str
    site: str
    central_url: str
    central_key: bytes


class KioskSettings(BaseModel):
    """Everything the kiosk can be told."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path
    idle_s: float = Field(default=90.0, gt=0, le=3600)  # forget the patient after this
    printer: str | None = None  # None: the default printer
    sheet_dir: Path | None = None  # write access sheets as PDF files there (demo, tests)
    # The patient portal printed on the access sheet. By default the one the central service
    # this kiosk is enrolled with serves (`/patient`): the codes it issues work there only.
    # Empty on a kiosk not enrolled, which prints no sheet.
    portal_url: str = Field(default="", pattern=r"^(https?://[^\s]+)?$", max_length=200)
    sheet_layout: Literal["a4", "ticket"] = "a4"  # an A4 sheet, or an 80 mm receipt ticket
    log_json: bool = False
    central_timeout_s: float = Field(default=5.0, gt=0, le=120)  # the counter is waiting
    # The enrolment, as `kiosk enroll` writes it.
    kiosk_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    site: str | None = Field(default=None, max_length=200)
    central_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=200)
    central_key: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="before")
    @classmethod
    def _portal_of_central(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("portal_url"):
            central = data.get("central_url")
            if isinstance(central, str) and _HTTP_URL.match(central):
                return {**data, "portal_url": portal_of(central)}
        return data

    def identity(self) -> KioskIdentity:
        """The enrolment, or NotEnrolledError."""
        if not (self.kiosk_id and self.site and self.central_url and self.central_key):
            raise NotEnrolledError("no enrolment in kiosk.toml")
        return KioskIdentity(
            kiosk_id=self.kiosk_id,
            site=self.site,
            central_url=self.central_url,
            central_key=bytes.fromhex(self.central_key),
        )

    @property
    def enrolled(self) -> bool:
        """Whether `kiosk enroll` has run here."""
        return bool(self.kiosk_id and self.site and self.central_url and self.central_key)


def load_settings(**flags: Any) -> KioskSettings:
    """The settings from every source, each later one winning: defaults, kiosk.toml,
    KIOSK_* variables, flags (flags set to None are not given)."""
    given = {k: v for k, v in flags.items() if v is not None}
    home = Path(given.pop("home", None) or kiosk_home())
    if home.exists():
        private_folder(home)  # a home left looser (older version, hand copy) is tightened
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    path = home / CONFIG_FILE
    if path.exists():
        try:
            written = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(str(path), "", "toml_syntax") from exc
        for name, value in written.items():
            if name not in KioskSettings.model_fields or name == "home":
                raise SettingsError(f"{name} ({CONFIG_FILE})", _shown(value), "unknown_setting")
            values[name], origin[name] = value, f"{name} ({CONFIG_FILE})"
    for name in KioskSettings.model_fields:
        variable = _ENV_PREFIX + name.upper()
        if name != "home" and variable in os.environ:
            values[name], origin[name] = os.environ[variable], variable
    for name, value in given.items():
        values[name], origin[name] = value, "--" + name.replace("_", "-")
    try:
        return KioskSettings(home=home, **values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        raise SettingsError(
            origin.get(field, field), _shown(error.get("input")), error["type"]
        ) from None


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _toml_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_config(home: Path, values: dict[str, str | int | float | bool]) -> None:
    """Set these keys in `kiosk.toml`, keeping the others; atomically (rename)."""
    path = home / CONFIG_FILE
    current: dict[str, Any] = {}
    if path.exists():
        current = tomllib.loads(path.read_text(encoding="utf-8"))
    current.update(values)
    lines = ["# Kiosk settings; `kiosk enroll` writes the enrolment keys."]
    for key, value in current.items():
        if isinstance(value, str | int | float | bool):
            lines.append(f"{key} = {_toml_value(value)}")
    private_folder(home)
    tmp = home / f"{CONFIG_FILE}.tmp"
    tmp.unlink(missing_ok=True)  # a leftover might be looser: O_EXCL below creates it 0600
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    tmp.replace(path)
