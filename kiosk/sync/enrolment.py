"""Enrolling the kiosk: device key, one-time token, and the enrolment it writes to kiosk.toml."""

from __future__ import annotations

from pathlib import Path

from dmpcommon.signing import public_bytes
from kiosk.settings import KioskIdentity, write_config
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.transport import CentralClient

__all__ = ["enroll"]


def enroll(
    home: Path, *, central_url: str, token: str, client: CentralClient | None = None
) -> KioskIdentity:
    """Create the device key if needed, enrol it, and write the enrolment to `kiosk.toml`
    (the file's other settings are kept)."""
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
    write_config(
        home,
        {
            "kiosk_id": identity.kiosk_id,
            "site": identity.site,
            "central_url": identity.central_url,
            "central_key": identity.central_key.hex(),
        },
    )
    return identity
