"""The kiosk's settings, validated once: defaults, then `KIOSK_HOME/kiosk.toml`, then `KIOSK_*`
variables, then command-line flags (each later source wins). A plain pydantic model and
twenty lines of merging: pydantic-settings cost a tenth of the kiosk's start-up.

`kiosk enroll` writes the enrolment (kiosk id, site, central service, sealing key) into the
same `kiosk.toml`, keeping what else the file holds. A value that does not validate is one
`SettingsError` naming where it came from (`KIOSK_IDLE_S`, `idle_s` in kiosk.toml, a flag),
never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.core.errors import NotEnrolledError, SettingsError

__all__ = [
    "CONFIG_FILE",
    "KioskIdentity",
    "KioskSettings",
    "kiosk_home",
    "load_settings",
    "write_config",
]

CONFIG_FILE = "kiosk.toml"
_ENV_PREFIX = "KIOSK_"


def kiosk_home() -> Path:
    """The kiosk's data folder: KIOSK_HOME, or the platform's user data folder."""
    return Path(os.environ.get("KIOSK_HOME") or user_data_dir("dmp-kiosk"))


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
    portal_url: str = Field(
        default="https://www.monespacesante.fr", pattern=r"^https?://[^\s]+$", max_length=200
    )
    log_json: bool = False
    central_timeout_s: float = Field(default=5.0, gt=0, le=120)  # the counter is waiting
    # The enrolment, as `kiosk enroll` writes it.
    kiosk_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    site: str | None = Field(default=None, max_length=200)
    central_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=200)
    central_key: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

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
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f"{CONFIG_FILE}.tmp"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
