"""The `central` command: migrate, serve, enroll-token, and clear one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.central import ROOT
from tests.support.ports import free_port


def _central(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "central", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "CENTRAL_HOME": str(home), **env},
    )


def test_serve_with_no_option_keeps_its_sqlite_database_in_the_data_folder(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "central", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "CENTRAL_HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "central serve did not start"
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
        assert "/v1/identity/qualify" in spec["paths"] and "/v1/dmp/{ins}/open" in spec["paths"]
        missing = httpx.get(f"http://127.0.0.1:{port}/nope")
        assert missing.status_code == 404 and set(missing.json()) == {"error", "detail"}
    finally:
        process.terminate()
        _out, errors = process.communicate(timeout=15)
    assert b"Traceback" not in errors
    assert (tmp_path / "central.db").exists()
    assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"


def test_enroll_token_prints_the_token_alone_on_its_last_line(tmp_path: Path) -> None:
    result = _central("enroll-token", "--site", "Pharmacie du Port, Lorient", home=tmp_path)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    again = _central("enroll-token", "--site", "Enim Paimpol", home=tmp_path)
    assert again.stdout.strip().splitlines()[-1] != token


def test_migrate_then_verify_an_empty_chain(tmp_path: Path) -> None:
    assert _central("migrate", home=tmp_path).returncode == 0
    verify = _central("audit", "verify", home=tmp_path)
    assert verify.returncode == 0 and "OK : 0 entrées" in verify.stdout


def test_an_empty_chain_has_a_head_and_the_command_line_makes_no_audit_key(
    tmp_path: Path,
) -> None:
    assert _central("migrate", home=tmp_path).returncode == 0
    head = _central("audit", "head", home=tmp_path)
    assert (head.returncode, head.stdout) == (0, f"0:{'0' * 64}\n")
    verify = _central("audit", "verify", "--expect-head", head.stdout.strip(), home=tmp_path)
    assert verify.returncode == 0, verify.stderr
    # A key made here would only hide a lost one: the service makes it, on first use.
    assert not (tmp_path / "audit.key").exists()


def test_production_refuses_the_test_register_in_one_line(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.support.central import other_ca

    (tmp_path / "ca.pem").write_bytes(other_ca()[1].public_bytes(Encoding.PEM))
    result = _central(
        "serve",
        "--port",
        "9",
        home=tmp_path,
        CENTRAL_PRODUCTION="true",
        CENTRAL_PROFESSIONAL_CA=str(tmp_path / "ca.pem"),  # not the test CA, refused too
        CENTRAL_PORTAL_URL="https://dmp.example/patient",
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "CENTRAL_IDENTITIES" in result.stderr


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = _central(
        "migrate", "--db", "postgresql+psycopg://nobody:x@127.0.0.1:9/none", home=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.startswith("central : base de données injoignable")
    assert "Traceback" not in result.stderr


def test_enrolment_tokens_never_look_like_an_option() -> None:
    from central.security import new_enrollment_token

    tokens = {new_enrollment_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert not any(t.startswith("-") for t in tokens)
