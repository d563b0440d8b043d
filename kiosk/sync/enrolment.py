"""Enrolling the kiosk: device key, one-time token, and the configuration it leaves."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from dmpcommon.signing import public_bytes
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.transport import CentralClient

__all__ = ["KioskIdentity", "enroll", "load_identity"]

CONFIG = "kiosk.toml"


@dataclass(frozen=True, slots=True)
class KioskIdentity:
    """Who this kiosk is for the central service."""

    kiosk_id: str
    site: str
    central_url: str
    central_key: bytes


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def enroll(
    home: Path, *, central_url: str, token: str, client: CentralClient | None = None
) -> KioskIdentity:
    """Create the device key if needed, enrol it, and write `kiosk.toml`."""
    key = load_or_create_device_key(home / "device.key")
    client = client or CentralClient(central_url)
    try:
        result = client.enroll(token=token, public_key=public_bytes(key))
    finally:
        client.close()
    identity = KioskIdentity(
        kiosk_id=result.kiosk_id,
        site=result.site,
        central_url=central_url,
        central_key=result.central_key,
    )
    text = "\n".join(
        [
            "# Written by `kiosk enroll`.",
            f"kiosk_id = {_quote(identity.kiosk_id)}",
            f"site = {_quote(identity.site)}",
            f"central_url = {_quote(identity.central_url)}",
            f"central_key = {_quote(identity.central_key.hex())}",
            "",
        ]
    )
    tmp = home / f"{CONFIG}.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(home / CONFIG)
    return identity


def load_identity(home: Path) -> KioskIdentity | None:
    """The enrolment this kiosk holds, or None if it was never enrolled."""
    path = home / CONFIG
    if not path.exists():
        return None
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return KioskIdentity(
        kiosk_id=data["kiosk_id"],
        site=data["site"],
        central_url=data["central_url"],
        central_key=bytes.fromhex(data["central_key"]),
    )
