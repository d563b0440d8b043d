"""Kiosk enrolment end to end: `central enroll-token`, then `kiosk enroll` over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from central.sync.models import Kiosk
from dmpcommon.signing import public_bytes
from kiosk.core.errors import CentralUnreachableError
from kiosk.messages import describe_error, describe_refusal
from kiosk.sync.keys import load_or_create_device_key
from tests.support.central import ROOT, Server


def _run(module: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, **env},
    )


def _token(server: Server, site: str = "Pharmacie du Port, Lorient") -> str:
    result = _run(
        "central",
        "enroll-token",
        "--site",
        site,
        "--db",
        server.state.settings.database_url,
        CENTRAL_HOME=str(server.state.settings.home),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_enrol_then_the_token_is_spent(server: Server, tmp_path: Path) -> None:
    token = _token(server)
    result = _run(
        "kiosk", "enroll", "--central", server.url, "--token", token, KIOSK_HOME=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    config = tomllib.loads((tmp_path / "kiosk.toml").read_text(encoding="utf-8"))
    assert (
        result.stdout.strip()
        == f"kiosque enrôlé : {config['kiosk_id']} (Pharmacie du Port, Lorient)"
    )
    assert bytes.fromhex(config["central_key"]) == server.state.settings.sealing_key()[1]
    assert oct((tmp_path / "device.key").stat().st_mode & 0o777) == "0o600"
    with server.state.sessions() as db:
        kiosk = db.get(Kiosk, config["kiosk_id"])
        assert kiosk is not None and kiosk.status == "active"
        device = public_bytes(load_or_create_device_key(tmp_path / "device.key"))
        assert kiosk.public_key == device.hex()
    again = _run(
        "kiosk",
        "enroll",
        "--central",
        server.url,
        "--token",
        token,
        KIOSK_HOME=str(tmp_path / "other"),
    )
    assert again.returncode == 1
    assert again.stderr.strip() == f"kiosk: {describe_refusal('token_used')}"

    revoked = _run(
        "central",
        "kiosk",
        "revoke",
        config["kiosk_id"],
        "--db",
        server.state.settings.database_url,
        CENTRAL_HOME=str(server.state.settings.home),
    )
    assert revoked.returncode == 0, revoked.stderr
    with server.state.sessions() as db:
        kiosk = db.get(Kiosk, config["kiosk_id"])
        assert kiosk is not None and kiosk.status == "revoked" and kiosk.revoked_at is not None


def test_expired_and_unknown_tokens(server: Server, tmp_path: Path) -> None:
    token = _token(server)
    server.clock.advance(hours=73)
    expired = _run(
        "kiosk", "enroll", "--central", server.url, "--token", token, KIOSK_HOME=str(tmp_path)
    )
    assert expired.returncode == 1
    assert expired.stderr.strip() == f"kiosk: {describe_refusal('token_expired')}"
    unknown = _run(
        "kiosk", "enroll", "--central", server.url, "--token", "x" * 43, KIOSK_HOME=str(tmp_path)
    )
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == f"kiosk: {describe_refusal('bad_token')}"
    assert not (tmp_path / "kiosk.toml").exists()


def test_central_unreachable_is_one_line(tmp_path: Path) -> None:
    result = _run(
        "kiosk",
        "enroll",
        "--central",
        "http://127.0.0.1:9",
        "--token",
        "x" * 43,
        KIOSK_HOME=str(tmp_path),
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"kiosk: {describe_error(CentralUnreachableError('x'))}"
    assert "Traceback" not in result.stderr


def test_key_files_are_read_at_start_up_not_per_request(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the service runs, enrolment, sync and the portal's forms use the keys it loaded:
    a key file gone missing (or slow disk) changes nothing for a request."""
    from central.config import Settings
    from dmpcommon.actions import OperatorSessionClosed
    from tests.support.central import enrollment_token
    from tests.support.queues import enrolled_queue, sync

    def no_file(_self: Settings) -> bytes:
        raise AssertionError("a key file read during a request")

    monkeypatch.setattr(Settings, "secret_key", no_file)
    monkeypatch.setattr(Settings, "sealing_key", no_file)
    queue = enrolled_queue(server, tmp_path)  # enrolment hands out the loaded sealing key
    assert queue.central_key == server.state.keys.sealing_public
    queue.enqueue(OperatorSessionClosed(), session_id="s")
    sync(server, queue)  # opened with the loaded private key
    assert queue.status().acknowledged == 1
    assert enrollment_token(server)
    with server.client() as client:
        assert client.get("/patient/").status_code == 200
