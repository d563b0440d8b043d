"""Input is bounded before it is parsed, and one bad envelope is refused alone (DESIGN.md,
"Whom the central service trusts, and how far"): sizes, NUL characters, huge numbers, deep
JSON, and a database refusal in the middle of a batch, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
import html
import socket
import statistics
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from central.limits import RouteLimits
from dmpcommon.actions import CardTraits, IdentityToQualify
from dmpcommon.envelope import ActionEnvelope
from dmpcommon.signing import sign
from kiosk.sync.queue import ActionQueue
from tests.support.central import Professional, Server, login
from tests.support.dmp import CLAIRE, JEANNE, card_traits
from tests.support.queues import batch, enrolled_queue, post_batch, queue_login

LIMITS = RouteLimits()


@pytest.fixture
def queue(server: Server, tmp_path: Path) -> ActionQueue:
    return enrolled_queue(server, tmp_path)


def _raw_post(server: Server, path: str, head: str, body_chunks: int) -> tuple[str, float]:
    """POST by hand: the status line the service answers, and how long it took, while the
    client is still pushing megabytes."""
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        started = time.perf_counter()
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n{head}\r\n".encode())
        chunk = b"[" * (1024 * 1024)
        sock.settimeout(0.01)
        answer = b""
        for _ in range(body_chunks):
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            try:
                answer += sock.recv(4096)
            except (TimeoutError, BlockingIOError):
                continue
            if answer:
                break
        sock.settimeout(10)
        while b"\r\n" not in answer:
            more = sock.recv(4096)
            if not more:
                break
            answer += more
        return answer.split(b"\r\n", 1)[0].decode(), time.perf_counter() - started


def test_a_50_mb_body_is_refused_at_once_and_the_service_stays_responsive(
    server: Server,
) -> None:
    status, seconds = _raw_post(
        server,
        "/v1/sync/batch",
        f"Content-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n",
        body_chunks=50,
    )
    assert status.endswith("413 Request Entity Too Large") or " 413 " in status, status
    assert seconds < 2.0  # from the headers alone, not after reading 50 MB

    pushing = threading.Event()
    latencies: list[float] = []

    def push() -> None:  # another client pushes a huge chunked body meanwhile
        pushing.set()
        _raw_post(
            server,
            "/v1/sessions",
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
            body_chunks=50,
        )

    pusher = threading.Thread(target=push)
    pusher.start()
    pushing.wait()
    with httpx.Client(base_url=server.url, timeout=5) as client:
        client.get("/health")  # the connection, opened once
        for _ in range(7):
            started = time.perf_counter()
            assert client.get("/health").status_code == 200
            latencies.append(time.perf_counter() - started)
    pusher.join(30)
    assert statistics.median(latencies) < 0.100, latencies


def test_a_body_without_a_length_is_cut_at_the_routes_limit(server: Server) -> None:
    def chunks() -> object:
        for _ in range(LIMITS.default // 1024 + 2):
            yield b" " * 1024

    with httpx.Client(base_url=server.url, timeout=10) as client:
        answer = client.post(
            "/v1/sessions", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert (answer.status_code, answer.json()["error"]) == (413, "body_too_large")
    assert answer.headers["x-content-type-options"] == "nosniff"  # a refusal is an answer too


def test_nul_characters_are_refused_cleanly_live_and_queued(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    token = login(server, pharmacist)
    traits = card_traits(server, JEANNE) | {"nom": "BER\u0000NARD"}
    with server.client(token) as client:
        live = client.post("/v1/identity/qualify", json=traits)
        form = client.post(
            "/patient/code",
            content=b"nir=2790351215189%0089&birth_date=1979-03-28",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert (live.status_code, live.json()["error"]) == (400, "nul_in_body")

    def one_byte_at_a_time() -> object:  # "\u0000" cut across six chunks
        body = f'{{"nom": "BER\\u0000NARD", "prenom": "{traits["prenom"]}"}}'.encode()
        for i in range(len(body)):
            yield body[i : i + 1]

    with server.client(token, kiosk=False) as client:  # read (and refused) before any check
        trickled = client.post(
            "/v1/identity/qualify",
            content=one_byte_at_a_time(),
            headers={"Content-Type": "application/json"},
        )
    assert (trickled.status_code, trickled.json()["error"]) == (400, "nul_in_body")
    # A person's form: refused as well, in a French page rather than JSON.
    assert form.status_code == 400 and form.headers["content-type"].startswith("text/html")
    assert "Rien n'a été fait" in html.unescape(form.text)

    queue_login(queue, pharmacist, "session-nul-1")
    queue.enqueue_encoded(  # a free text, which no pattern of its own guards
        "dmp_opened",
        b'{"ins":"279035121518989","mode":"bris_de_glace","reason_code":"AUTRE",'
        b'"reason_text":"malaise\\u0000 au comptoir"}',
        session_id="session-nul-1",
    )
    code, body = post_batch(server, batch(queue), queue)
    assert code == 200, body
    assert [(r["outcome"], r.get("reason")) for r in body["results"]] == [
        ("accepted", None),
        ("rejected", "invalid_payload:payload:nul_character"),
    ]


def test_huge_numbers_and_deep_json_get_a_4xx(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    queue_login(queue, pharmacist, "session-big-1")
    row = queue.pending(limit=1)[0]
    envelope = dataclasses.replace(ActionEnvelope.decode(row.envelope), seq=2**63)
    data = envelope.encode()
    item = {
        "envelope": base64.b64encode(data).decode(),
        "signature": base64.b64encode(sign(queue.signing_key, data)).decode(),
    }
    code, body = post_batch(server, {"kiosk_id": queue.kiosk_id, "items": [item]}, queue)
    assert code == 200, body
    assert body["results"] == [{"seq": 2**63, "status": "gap", "expected": 1}]

    token = login(server, pharmacist)
    with server.client(token) as client:
        deep = client.post(
            "/v1/identity/qualify",
            content=b"[" * 30_000 + b"]" * 30_000,
            headers={"Content-Type": "application/json"},
        )
        huge = client.post(
            "/v1/identity/qualify",
            content=b'{"nom": 1' + b"0" * 5000 + b"}",
            headers={"Content-Type": "application/json"},
        )
    assert 400 <= deep.status_code < 500, deep.text
    assert 400 <= huge.status_code < 500, huge.text


def test_one_bad_envelope_in_a_batch_of_200_is_refused_alone(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    """The database refuses one action's write: that action is rejected with its reason,
    the 199 others are applied (the kiosk once resent the whole batch for ever)."""
    queue_login(queue, pharmacist, "session-200-1")
    jeanne = IdentityToQualify.of(CardTraits(**card_traits(server, JEANNE)))
    claire = IdentityToQualify.of(CardTraits(**card_traits(server, CLAIRE)))
    for i in range(199):
        queue.enqueue(claire if i == 99 else jeanne, session_id="session-200-1")
    engine = server.state.engine
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:  # a write the database itself refuses, for Claire only
        if postgres:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.ins = '{CLAIRE}' THEN RAISE EXCEPTION 'refused'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_one BEFORE INSERT ON patient_presences "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_one()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_one BEFORE INSERT ON patient_presences "
                    f"WHEN NEW.ins = '{CLAIRE}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    try:
        code, body = post_batch(server, batch(queue), queue)
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("DROP TRIGGER refuse_one" + (" ON patient_presences" if postgres else ""))
            )
            if postgres:
                conn.execute(text("DROP FUNCTION refuse_one()"))
    assert code == 200, body
    outcomes = [(r["seq"], r["outcome"], r.get("reason")) for r in body["results"]]
    assert len(outcomes) == 200
    assert outcomes[100] == (101, "rejected", "database_refused")  # Claire, the 100th
    assert all(o[1] == "accepted" for i, o in enumerate(outcomes) if i != 100)
