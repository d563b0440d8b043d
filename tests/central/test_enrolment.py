"""Kiosk enrolment end to end: `central enroll-token`, then `kiosk enroll` over real HTTP."""

from __future__ import annotations

import os
import pty
import select
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from central.sync.models import Kiosk
from dmpcommon.signing import public_bytes
from kiosk.core.errors import CentralUnreachableError
from kiosk.messages import describe_error, describe_refusal, sentence
from kiosk.sync.keys import load_or_create_device_key
from tests.support.central import ROOT, Server


def _run(
    module: str, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        env={**os.environ, **env},
    )


def _enroll(url: str, token: str, home: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`kiosk enroll` as a test runs it: the token on stdin, plain HTTP to loopback allowed."""
    return _run(
        "kiosk",
        "enroll",
        "--central",
        url,
        "--insecure-http-for-tests",
        "--token-file",
        "-",
        *flags,
        stdin=token + "\n",
        KIOSK_HOME=str(home),
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
    result = _enroll(server.url, token, tmp_path)
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
    again = _enroll(server.url, token, tmp_path / "other")
    assert again.returncode == 1
    assert again.stderr.strip() == f"kiosk: {sentence(describe_refusal('token_used'))}"

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
    expired = _enroll(server.url, token, tmp_path)
    assert expired.returncode == 1
    assert expired.stderr.strip() == f"kiosk: {sentence(describe_refusal('token_expired'))}"
    unknown = _enroll(server.url, "x" * 43, tmp_path)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == f"kiosk: {sentence(describe_refusal('bad_token'))}"
    assert not (tmp_path / "kiosk.toml").exists()


def test_central_unreachable_is_one_line(tmp_path: Path) -> None:
    result = _enroll("http://127.0.0.1:9", "x" * 43, tmp_path)
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


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_token_is_read_from_a_file_and_the_enrolment_is_private(
    server: Server, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(_token(server) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    result = _run(
        "kiosk",
        "enroll",
        "--central",
        server.url,
        "--insecure-http-for-tests",
        "--token-file",
        str(token_file),
        KIOSK_HOME=str(home),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("kiosque enrôlé : ")
    assert _mode(home) == 0o700
    assert {p.name: _mode(p) for p in home.iterdir()} == {
        "device.key": 0o600,
        "kiosk.toml": 0o600,
    }


def test_the_token_is_never_taken_on_the_command_line(server: Server, tmp_path: Path) -> None:
    """`ps` shows a command line to every user: --token is refused (not even abbreviated
    into --token-file), its value is not echoed, and the token stays unspent."""
    token = _token(server)
    for option in ("--token", "--token-f"):
        refused = _run(
            "kiosk",
            "enroll",
            "--central",
            server.url,
            "--insecure-http-for-tests",
            option,
            token,
            KIOSK_HOME=str(tmp_path),
        )
        assert refused.returncode != 0, option
        assert token not in refused.stdout + refused.stderr
        assert "Traceback" not in refused.stderr
        assert not (tmp_path / "kiosk.toml").exists()
    lines = _run(
        "kiosk", "enroll", "--central", server.url, "--token", token, KIOSK_HOME=str(tmp_path)
    ).stderr.splitlines()
    assert lines == [
        "kiosk: --token n'est plus accepté (la ligne de commande se lit dans ps) : "
        "saisie masquée, --token-file FICHIER ou --token-file - (entrée standard)"
    ], lines
    assert _enroll(server.url, token, tmp_path).returncode == 0  # still unspent


def test_without_a_terminal_or_a_file_the_token_is_asked_for_properly(tmp_path: Path) -> None:
    result = _run(
        "kiosk",
        "enroll",
        "--central",
        "https://dmp.example.fr",
        KIOSK_HOME=str(tmp_path),
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "kiosk: pas de terminal pour saisir le jeton : --token-file FICHIER, ou --token-file - "
        "pour le lire sur l'entrée standard"
    ]
    empty = _run(
        "kiosk",
        "enroll",
        "--central",
        "https://dmp.example.fr",
        "--token-file",
        "-",
        stdin="\n",
        KIOSK_HOME=str(tmp_path),
    )
    assert (empty.returncode, empty.stderr) == (1, "kiosk: jeton d'enrôlement vide\n")
    missing = _run(
        "kiosk",
        "enroll",
        "--central",
        "https://dmp.example.fr",
        "--token-file",
        str(tmp_path / "absent"),
        KIOSK_HOME=str(tmp_path),
    )
    assert missing.returncode == 1 and missing.stderr.startswith(
        "kiosk: fichier du jeton illisible ("
    )
    assert not (tmp_path / "device.key").exists()


def test_the_token_is_typed_at_a_prompt_without_echo(server: Server, tmp_path: Path) -> None:
    """On a terminal (a real pseudo-terminal here), the prompt does not echo the token."""
    token = _token(server)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the kiosk on the terminal
        os.chdir(ROOT)
        os.environ["KIOSK_HOME"] = str(tmp_path)
        os.execv(  # noqa: S606
            sys.executable,
            [
                sys.executable,
                "-m",
                "kiosk",
                "enroll",
                "--central",
                server.url,
                "--insecure-http-for-tests",
            ],
        )
    shown = _read_until(fd, b"(masqu")
    os.write(fd, token.encode() + b"\n")
    shown += _read_until(fd, None)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = shown.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "Jeton d'enrôlement (masqué) :" in text and "kiosque enrôlé : " in text
    assert token not in text


def _read_until(fd: int, marker: bytes | None, timeout_s: float = 30) -> bytes:
    """Read the terminal until the marker shows (None: until the program ends)."""
    seen = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the program ended and closed the terminal
            return seen
        if not chunk:
            return seen
        seen += chunk
        if marker is not None and marker in seen:
            return seen
    raise AssertionError(f"the terminal showed only {seen!r}")


@pytest.mark.parametrize(
    ("url", "flags", "line"),
    [
        (
            None,
            (),
            "http:// n'est admis que pour un essai sur cette machine, avec "
            "--insecure-http-for-tests ; sinon, https://",
        ),
        (
            "http://dmp.example.fr",
            ("--insecure-http-for-tests",),
            "le service central se joint en HTTPS (https://…) : en http://, le jeton et les "
            "clés passeraient en clair sur le réseau",
        ),
        (
            "http://10.0.0.7:8080",
            ("--insecure-http-for-tests",),
            "le service central se joint en HTTPS (https://…) : en http://, le jeton et les "
            "clés passeraient en clair sur le réseau",
        ),
        (
            "ftp://dmp.example.fr",
            (),
            "adresse du service central invalide : https://hôte[:port] attendu",
        ),
        ("https://", (), "adresse du service central invalide : https://hôte[:port] attendu"),
    ],
)
def test_plain_http_is_refused_outside_the_test_flag_on_loopback(
    server: Server, tmp_path: Path, url: str | None, flags: tuple[str, ...], line: str
) -> None:
    token = _token(server)
    result = _run(
        "kiosk",
        "enroll",
        "--central",
        url or server.url,  # None: this machine's plain-HTTP service, without the flag
        *flags,
        "--token-file",
        "-",
        stdin=token + "\n",
        KIOSK_HOME=str(tmp_path),
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"kiosk: {line}"]
    assert not (tmp_path / "device.key").exists() and not (tmp_path / "kiosk.toml").exists()
    assert _enroll(server.url, token, tmp_path).returncode == 0  # the token was not sent


def test_the_enrolment_itself_refuses_plain_http_to_another_machine(tmp_path: Path) -> None:
    """Below the command line too: a script calling enroll() cannot send the token in clear
    over a network."""
    from kiosk.sync.enrolment import central_url_problem, enroll

    with pytest.raises(ValueError, match="not_https"):
        enroll(tmp_path, central_url="http://dmp.example.fr", token="x" * 43)
    assert not (tmp_path / "device.key").exists()
    assert central_url_problem("https://dmp.example.fr") is None
    assert central_url_problem("http://[::1]:8080", insecure_http_for_tests=True) is None
    assert central_url_problem("http://localhost:8080", insecure_http_for_tests=True) is None
    assert central_url_problem("http://127.0.0.1.example.fr", insecure_http_for_tests=True) == (
        "not_https"
    )
    assert central_url_problem("https://dmp.example.fr:port") == "bad_url"
