"""Enrolling the kiosk: device key, one-time token, and the enrolment it writes to kiosk.toml.

The token is a secret: it comes from a prompt or a file, never the command line (`ps` shows
that to every user). The central service is reached over HTTPS; plain HTTP only to this
machine, for tests (the command line asks for an explicit flag even then).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from dmpcommon.signing import public_bytes
from kiosk.settings import KioskIdentity, private_folder, write_config
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.transport import CentralClient

__all__ = ["central_url_problem", "enroll", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether the host is this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def central_url_problem(url: str, *, insecure_http_for_tests: bool = False) -> str | None:
    """Why this central URL cannot be enrolled with, as a code, or None.

    `bad_url`: not an http(s) URL with a host; `not_https`: plain HTTP to another machine;
    `http_needs_test_flag`: plain HTTP to this machine without the test flag."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return "bad_url"
    if parts.scheme not in ("https", "http") or not host:
        return "bad_url"
    if parts.scheme == "https":
        return None
    if not is_loopback(host):
        return "not_https"
    return None if insecure_http_for_tests else "http_needs_test_flag"


def enroll(
    home: Path, *, central_url: str, token: str, client: CentralClient | None = None
) -> KioskIdentity:
    """Create the device key if needed, enrol it, and write the enrolment to `kiosk.toml`
    (the file's other settings are kept). Plain HTTP is refused but to this machine: a token
    and a sealing key in clear on a network would be anyone's."""
    problem = central_url_problem(central_url, insecure_http_for_tests=True)
    if problem is not None:
        raise ValueError(f"central URL refused: {problem}")
    private_folder(home)
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
