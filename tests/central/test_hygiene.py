"""The service's hygiene (issue 14, point 7): its key files and the modes of its data files,
what `central serve` says about a weak key, the security headers and cookies of every answer,
the CSRF token of the portal's forms shown before log-in, and no API docs in production."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import tests.support.central as support
from central.config import Settings
from central.dmp.models import Dmp
from central.notify.models import OutboxMessage
from central.state import AppState
from tests.support.central import ROOT, Server, sqlite_only, start_server
from tests.support.dmp import JEANNE, create
from tests.support.mail import Mailbox
from tests.support.ports import free_port

EMAIL = "jeanne.bernard@exemple.test"
SERIAL = "7901234561"  # Jeanne's Vitale card, fixtures/make_cards.py
FORGED = "formulaire expiré ou venu d'un autre site"
HTTPS = {"X-Forwarded-Proto": "https"}  # TLS ended by a proxy on this host, as in production


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    # The umask most systems start with: files SQLite makes alone would be 0644.
    return subprocess.Popen(
        [sys.executable, "-m", "central", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "CENTRAL_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.umask(0o022),  # a fresh child: no threads to race
    )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """`central serve` on a home that was world-readable, with a key copied in loosely."""
    home = tmp_path / "central"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    loose = home / "sealing.key"
    loose.write_bytes(os.urandom(32))
    loose.chmod(0o644)
    port = free_port()
    process = _serve(home, port)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "central serve did not start"
                time.sleep(0.1)
        yield home, url
    finally:
        process.terminate()
        _out, errors = process.communicate(timeout=15)
        assert b"Traceback" not in errors


def _mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


def test_the_home_is_0700_and_every_data_file_in_it_0600(running: tuple[Path, str]) -> None:
    home, url = running
    # A write, so that the database's -wal and -shm files are there while it runs.
    assert httpx.post(f"{url}/v1/patient/code", json={"ins": "x"}).status_code in (400, 422)
    files = {p.name: _mode(p) for p in home.iterdir()}
    assert {"central.db", "central.db-wal", "central.db-shm", "secret.key", "sealing.key"} <= set(
        files
    ), files
    assert _mode(home) == "0o700"
    assert {name: mode for name, mode in files.items() if mode != "0o600"} == {}


@pytest.mark.parametrize("content", [b"", b"\n", b"0123456789abcdef0123456789abcde"])
def test_serve_refuses_an_empty_or_short_secret_key_in_one_french_line(
    tmp_path: Path, content: bytes
) -> None:
    home = tmp_path / "central"
    home.mkdir()
    (home / "secret.key").write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "central", "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "CENTRAL_HOME": str(home)},
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"central : clé secrète {home / 'secret.key'} ")
    assert "32 octets au moins" in result.stderr
    assert (home / "secret.key").read_bytes() == content  # left for the operator to fix


def test_a_short_sealing_key_is_refused_in_one_line_too(tmp_path: Path) -> None:
    home = tmp_path / "central"
    home.mkdir()
    (home / "sealing.key").write_bytes(b"short")
    result = subprocess.run(
        [sys.executable, "-m", "central", "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "CENTRAL_HOME": str(home)},
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "clé de scellement" in result.stderr


# -- headers, cookies, CSRF and docs over HTTP ------------------------------------------------


def _form(url: str, path: str = "/patient/connexion", **headers: str) -> tuple[str, str]:
    """A page with forms, as a browser gets it: its form cookie and the forms' token."""
    page = httpx.get(f"{url}{path}", headers=headers)
    assert page.status_code == 200
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert token is not None, page.text
    return page.cookies["dmp_formulaire"], token.group(1)


def _set_cookie(response: httpx.Response, name: str) -> str:
    found = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1, response.headers
    return found[0].lower()


def _outbox_count(server: Server) -> int:
    with server.state.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


@sqlite_only
def test_every_answer_carries_the_security_headers(server: Server) -> None:
    answers = [
        httpx.get(f"{server.url}/patient/connexion"),
        httpx.get(f"{server.url}/patient/creation"),
        httpx.get(f"{server.url}/health"),
        httpx.get(f"{server.url}/nope"),
        httpx.post(f"{server.url}/v1/patient/code", json={}),
        httpx.post(f"{server.url}/patient/activation", data={"identifier": "x", "code": "1"}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 404, 422, 403]
    for answer in answers:
        headers = answer.headers
        policy = {d.strip() for d in headers["content-security-policy"].split(";")}
        assert {"default-src 'none'", "frame-ancestors 'none'", "style-src 'self'"} <= policy
        assert not any(d.startswith("script-src") for d in policy)  # no script at all
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in headers  # not in production
    style = httpx.get(f"{server.url}/patient/portail.css")
    assert style.headers["content-type"].startswith("text/css") and "header {" in style.text
    assert style.headers["x-content-type-options"] == "nosniff"


@sqlite_only
def test_the_portals_cookies_are_secure_when_the_page_came_over_https(
    server: Server, tokens: dict[str, str]
) -> None:
    jeanne = create(server, tokens["agent"], contact={"channel": "email", "address": EMAIL})
    plain = _set_cookie(httpx.get(f"{server.url}/patient/connexion"), "dmp_formulaire")
    assert "httponly" in plain and "samesite=strict" in plain and "secure" not in plain
    cookie, token = _form(server.url, **HTTPS)
    page = httpx.get(f"{server.url}/patient/connexion", headers=HTTPS)
    assert "; secure" in _set_cookie(page, "dmp_formulaire")
    logged_in = httpx.post(
        f"{server.url}/patient/activation",
        data={
            "identifier": jeanne["access_identifier"],
            "code": jeanne["activation_code"],
            **_born("activation_birth", jeanne["birth_date"]),
            "csrf": token,
        },
        headers={**HTTPS, "Cookie": f"dmp_formulaire={cookie}"},
    )
    assert logged_in.status_code == 303, logged_in.text
    session = _set_cookie(logged_in, "dmp_patient")
    assert "; secure" in session and "httponly" in session and "samesite=strict" in session


def _born(prefix: str, birth_date: str) -> dict[str, str]:
    """A birth date as the portal's three boxes take it (day, month, year)."""
    year, month, day = birth_date.split("-")
    return {f"{prefix}_day": day, f"{prefix}_month": month, f"{prefix}_year": year}


@sqlite_only
def test_forms_shown_before_log_in_refuse_a_missing_or_foreign_token_and_change_nothing(
    server: Server, tokens: dict[str, str], mailbox: Mailbox
) -> None:
    jeanne = create(server, tokens["agent"], contact={"channel": "email", "address": EMAIL})
    born = server.state.register.by_ins(JEANNE)
    assert born is not None
    cookie, token = _form(server.url)
    _other_cookie, other_token = _form(server.url)  # another browser's (the attacker's)
    forms = {
        "/patient/activation": {
            "identifier": jeanne["access_identifier"],
            "code": jeanne["activation_code"],
            **_born("activation_birth", born.birth_date),
        },
        "/patient/code": {"ins": JEANNE, **_born("birth", born.birth_date)},
        "/patient/connexion": {"ins": JEANNE, "birth_date": born.birth_date, "code": "123456"},
        "/patient/creation": {
            "nir": JEANNE,
            "birth_date": born.birth_date,
            "vitale_serial": SERIAL,
            "information_version": "2026-01",
            "channel": "email",
            "address": EMAIL,
            "consent": "true",
        },
        "/patient/creation/confirmation": {
            "nir": JEANNE,
            "birth_date": born.birth_date,
            "vitale_serial": SERIAL,
            "address": EMAIL,
            "code": "123456",
        },
    }
    queued = _outbox_count(server)
    forgeries = [
        ({}, None),  # a form posted from another site: no cookie, no token
        ({}, cookie),  # the victim's cookie went along, the token did not
        ({"csrf": other_token}, cookie),  # the attacker's own token
        ({"csrf": token}, None),  # a stolen token without the browser's cookie
        ({"csrf": "0" * 64}, cookie),
    ]
    for path, fields in forms.items():
        for extra, sent_cookie in forgeries:
            headers = {"Cookie": f"dmp_formulaire={sent_cookie}"} if sent_cookie else {}
            answer = httpx.post(f"{server.url}{path}", data={**fields, **extra}, headers=headers)
            assert answer.status_code == 403, (path, extra, answer.text)
            assert FORGED in html.unescape(answer.text) and "<!doctype html>" in answer.text
            assert "dmp_patient=" not in answer.headers.get("set-cookie", "")
    assert _outbox_count(server) == queued  # no code sent, nothing created
    assert mailbox.transmissions == []
    # The same forms with the browser's own token: the activation code was not spent.
    headers = {"Cookie": f"dmp_formulaire={cookie}"}
    activated = httpx.post(
        f"{server.url}/patient/activation",
        data={**forms["/patient/activation"], "csrf": token},
        headers=headers,
    )
    assert activated.status_code == 303, activated.text
    asked = httpx.post(
        f"{server.url}/patient/code",
        data={**forms["/patient/code"], "csrf": token},
        headers=headers,
    )
    assert asked.status_code == 200 and "Saisissez le code reçu" in asked.text
    assert mailbox.code_for(EMAIL)


@pytest.fixture
def production(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The service as production serves it (built on the test register and CA, which
    production itself refuses, then told it is in production)."""
    build = support.build_state

    def in_production(given: Settings) -> AppState:
        state = build(given)
        state.settings = given.overridden(production=True)
        return state

    monkeypatch.setattr(support, "build_state", in_production)
    running = start_server(settings)
    yield running
    running.stop()


@sqlite_only
@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_production_serves_no_api_docs(production: Server, path: str) -> None:
    answer = httpx.get(f"{production.url}{path}")
    assert answer.status_code == 404
    assert answer.json()["error"] == "http_error"


@sqlite_only
def test_outside_production_the_docs_are_served(server: Server) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert httpx.get(f"{server.url}{path}").status_code == 200, path


@sqlite_only
def test_production_asks_browsers_for_https_and_sets_secure_cookies(production: Server) -> None:
    page = httpx.get(f"{production.url}/patient/connexion")
    assert page.headers["strict-transport-security"].startswith("max-age=63072000")
    assert "; secure" in _set_cookie(page, "dmp_formulaire")


@sqlite_only
def test_the_portals_forms_answer_odd_fields_with_a_french_page_and_do_nothing(
    server: Server, tokens: dict[str, str]
) -> None:
    """Too long, a value never offered, a number with a wrong key: a page in French saying
    what to do, never a JSON body, and no code sent."""
    create(server, tokens["agent"], contact={"channel": "email", "address": EMAIL})
    cookie, token = _form(server.url)
    headers = {"Cookie": f"dmp_formulaire={cookie}"}
    queued = _outbox_count(server)
    born = {"birth_day": "28", "birth_month": "03", "birth_year": "1979", "csrf": token}
    odd = [
        ("/patient/code", {"ins": "1" * 41, **born}),
        ("/patient/activation", {"identifier": "A" * 41, "code": "1", "csrf": token}),
        ("/patient/contact", {"channel": "fax", "address": EMAIL, "csrf": token}),
        ("/patient/creation", {"nir": JEANNE, "channel": "pigeon", "csrf": token}),
    ]
    for path, fields in odd:
        answer = httpx.post(f"{server.url}{path}", data=fields, headers=headers)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.headers["content-type"].startswith("text/html"), path
        assert "Rien n'a été fait" in html.unescape(answer.text), path
    # A NIR one digit short, or with a wrong key: told beside the field, nothing sent.
    for number in (JEANNE[:13], JEANNE[:13] + "00"):
        answer = httpx.post(
            f"{server.url}/patient/code", data={"ins": number, **born}, headers=headers
        )
        text = html.unescape(answer.text)
        assert answer.status_code == 400 and 'id="ins-error"' in text, number
        assert f'value="{number}"' in text  # kept, to be corrected
    assert _outbox_count(server) == queued
    # A page that does not exist, a page asked the wrong way, a body too long or holding a
    # NUL: a French page each time, never JSON (the API keeps its JSON).
    as_form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    strays = [
        httpx.get(f"{server.url}/patient/nulle-part"),
        httpx.get(f"{server.url}/patient/fermeture"),
        httpx.post(f"{server.url}/patient/code", content=b"ins=" + b"1" * 300_000, headers=as_form),
        httpx.post(f"{server.url}/patient/code", content=b"ins=1%00", headers=as_form),
    ]
    for answer in strays:
        assert answer.status_code in (400, 404, 405, 413), answer.text
        assert answer.headers["content-type"].startswith("text/html"), answer.text
        assert "Rien n'a été fait" in html.unescape(answer.text)
    assert (
        httpx.get(f"{server.url}/v1/nulle-part")
        .headers["content-type"]
        .startswith("application/json")
    )


def test_a_search_by_name_holding_a_nul_is_a_name_not_a_server_error(
    server: Server, tokens: dict[str, str]
) -> None:
    """PostgreSQL refuses a NUL in a query: the portal drops control characters first."""
    create(server, tokens["agent"], contact={"channel": "email", "address": EMAIL})
    with server.state.sessions() as db, db.begin():
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None
        token = server.state.patients.open_session(db, dmp, server.state.now())
    answer = httpx.get(
        f"{server.url}/patient/acces", params={"nom": "du\x00pont"}, cookies={"dmp_patient": token}
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
