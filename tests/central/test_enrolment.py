"""Kiosk enrolment end to end: `central enroll-token`, then `kiosk enroll` over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from central.sync.models import Kiosk
from dmpcommon.signing import public_bytes
from kiosk.sync.keys import load_or_create_device_key
from tests.central.harness import ROOT, Server


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
    assert again.stderr.strip() == "kiosk: jeton d'enrôlement déjà utilisé : demandez-en un nouveau"

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
    assert expired.returncode == 1 and "expiré" in expired.stderr
    unknown = _run(
        "kiosk", "enroll", "--central", server.url, "--token", "x" * 43, KIOSK_HOME=str(tmp_path)
    )
    assert unknown.returncode == 1 and "inconnu" in unknown.stderr
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
    assert result.stderr.strip().startswith("kiosk: service central injoignable")
    assert "Traceback" not in result.stderr
