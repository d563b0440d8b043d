"""Kiosk queues enrolled with a running central service, and batches posted by hand."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import requests

from dmpcommon.actions import OperatorSessionOpened
from dmpcommon.signing import public_bytes
from kiosk.sync.client import SyncClient
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.queue import ActionQueue, open_engine
from kiosk.sync.transport import CentralClient, RequestSigner
from tests.support.central import Professional, Server, enrollment_token


def enrolled_queue(server: Server, home: Path) -> ActionQueue:
    """A kiosk queue whose device key the service enrolled (one-time token spent)."""
    token = enrollment_token(server)
    key = load_or_create_device_key(home / "device.key")
    result = CentralClient(server.url).enroll(token=token, public_key=public_bytes(key))
    return ActionQueue(
        open_engine(home / "queue.db"),
        kiosk_id=result.kiosk_id,
        signing_key=key,
        central_key=result.central_key,
    )


def batch(queue: ActionQueue, seqs: list[int] | None = None) -> dict[str, Any]:
    """The sync body of the pending actions (or of some of them)."""
    rows = [r for r in queue.pending(limit=10_000) if seqs is None or r.seq in seqs]
    return {
        "kiosk_id": queue.kiosk_id,
        "items": [
            {
                "envelope": base64.b64encode(r.envelope).decode(),
                "signature": base64.b64encode(r.signature).decode(),
            }
            for r in rows
        ],
    }


def post_batch(
    server: Server, body: dict[str, Any], queue: ActionQueue | None = None
) -> tuple[int, dict[str, Any]]:
    """POST a batch signed (RFC 9421) with the queue's device key, as the kiosk does."""
    signer = None if queue is None else RequestSigner(queue.kiosk_id, queue.signing_key)
    response = requests.post(f"{server.url}/v1/sync/batch", json=body, auth=signer, timeout=30)
    return response.status_code, dict(response.json())


def queue_login(queue: ActionQueue, professional: Professional, session_id: str) -> None:
    """Queue an operator login signed by this professional's card."""
    attestation = professional.attestation(kiosk_id=queue.kiosk_id, session_id=session_id)
    queue.enqueue(
        OperatorSessionOpened(
            issued_at=attestation["issued_at"],
            certificate=attestation["certificate"],
            signature=attestation["signature"],
        ),
        session_id=session_id,
    )


def sync(server: Server, queue: ActionQueue) -> None:
    """One sync pass of the queue to the service, as the kiosk's sync thread does."""
    signer = RequestSigner(queue.kiosk_id, queue.signing_key)
    SyncClient(queue, CentralClient(server.url, signer=signer), queue.kiosk_id).sync_once()
