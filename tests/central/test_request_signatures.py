"""RFC 9421 signatures on sync requests: the real service, over loopback HTTP."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dmpcommon.actions import OperatorSessionClosed
from kiosk.sync.queue import ActionQueue
from kiosk.sync.transport import CentralClient, RequestSigner
from tests.support.central import Server
from tests.support.queues import batch, enrolled_queue


def _queue(server: Server, home: Path) -> ActionQueue:
    queue = enrolled_queue(server, home)
    queue.enqueue(OperatorSessionClosed(), session_id="session-sig")
    return queue


def _send(server: Server, prepared: requests.PreparedRequest) -> tuple[int, str]:
    with requests.Session() as session:
        response = session.send(prepared, timeout=30)
    return response.status_code, str(response.json().get("error", ""))


def _prepare(
    server: Server, body: object, signer: RequestSigner | None
) -> requests.PreparedRequest:
    request = requests.Request("POST", f"{server.url}/v1/sync/batch", json=body, auth=signer)
    return request.prepare()


def test_unsigned_forged_and_tampered_requests_are_refused(server: Server, tmp_path: Path) -> None:
    queue = _queue(server, tmp_path)
    body = batch(queue)
    assert _send(server, _prepare(server, body, None)) == (401, "bad_request_signature")
    impostor = RequestSigner(queue.kiosk_id, Ed25519PrivateKey.generate())
    assert _send(server, _prepare(server, body, impostor)) == (401, "bad_request_signature")
    unknown = RequestSigner("kiosk-unknown", queue.signing_key)
    assert _send(server, _prepare(server, body, unknown)) == (401, "bad_request_signature")
    # The body changed after signing: the signed Content-Digest no longer matches.
    prepared = _prepare(server, body, RequestSigner(queue.kiosk_id, queue.signing_key))
    assert isinstance(prepared.body, bytes)
    prepared.body = prepared.body.replace(b', "items"', b',"items" ')  # same length, valid
    assert _send(server, prepared) == (401, "bad_request_signature")
    # Nothing of the above reached the ledger.
    assert queue.status().pending == 1
    good = _prepare(server, body, RequestSigner(queue.kiosk_id, queue.signing_key))
    assert _send(server, good) == (200, "")


def test_a_replayed_request_is_refused(server: Server, tmp_path: Path) -> None:
    queue = _queue(server, tmp_path)
    prepared = _prepare(server, batch(queue), RequestSigner(queue.kiosk_id, queue.signing_key))
    assert _send(server, prepared) == (200, "")
    assert _send(server, prepared.copy()) == (401, "replayed_request")


def test_another_kiosks_batch_is_refused(server: Server, tmp_path: Path) -> None:
    mine, theirs = _queue(server, tmp_path / "a"), _queue(server, tmp_path / "b")
    signer = RequestSigner(mine.kiosk_id, mine.signing_key)
    assert _send(server, _prepare(server, batch(theirs), signer)) == (403, "wrong_kiosk")


def test_a_kiosk_clock_off_by_hours_is_corrected_from_the_service_date(
    server: Server, tmp_path: Path
) -> None:
    queue = _queue(server, tmp_path)
    late = RequestSigner(queue.kiosk_id, queue.signing_key)
    late.clock_offset = dt.timedelta(hours=-3)  # as if the kiosk's clock were 3 h behind
    assert _send(server, _prepare(server, batch(queue), late)) == (401, "request_signature_time")
    client = CentralClient(server.url, signer=late)
    results = client.send_batch(
        queue.kiosk_id, [(r.envelope, r.signature) for r in queue.pending()]
    )
    assert [(r["status"], r["reason"]) for r in results] == [("recorded", "no_operator_session")]
    assert abs(late.clock_offset) < dt.timedelta(seconds=15)
