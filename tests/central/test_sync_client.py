"""The kiosk's sync client against the real central service over loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from central.audit.models import AuditEntry
from central.dmp.models import Dmp
from dmpcommon.actions import OperatorSessionClosed
from kiosk.core.errors import CentralUnreachableError
from kiosk.sync.client import SyncClient
from kiosk.sync.transport import CentralClient, RequestSigner
from tests.support.central import Professional, Server
from tests.support.dmp import CLAIRE, JEANNE, LEO, queued_creation
from tests.support.pcsc import run_kiosk
from tests.support.queues import enrolled_queue, queue_login

PHARMACIST_ID = "899700218896"
CLOSED = OperatorSessionClosed()


def test_offline_session_then_back_online(
    server: Server, tmp_path: Path, pharmacist: Professional
) -> None:
    queue = enrolled_queue(server, tmp_path)
    # A whole counter session while the network is down.
    queue_login(queue, pharmacist, "session-offline")
    queue.enqueue(queued_creation(server, JEANNE), session_id="session-offline")
    queue.enqueue(queued_creation(server, LEO), session_id="session-offline")
    queue.enqueue(CLOSED, session_id="session-offline")
    signer = RequestSigner(queue.kiosk_id, queue.signing_key)
    down = CentralClient("http://127.0.0.1:9", timeout_s=2, signer=signer)
    offline = SyncClient(queue, down, queue.kiosk_id)
    with pytest.raises(CentralUnreachableError):
        offline.sync_once()
    assert queue.status().pending == 4
    # The network is back.
    online = SyncClient(
        queue, CentralClient(server.url, signer=signer), queue.kiosk_id, batch_size=3
    )
    report = online.sync_once()
    assert (report.sent, report.accepted, report.rejected) == (4, 3, 1)
    status = queue.status()
    assert status.pending == 0 and status.acknowledged == 4
    assert [(r["seq"], r["reason"]) for r in status.rejected] == [(3, "representative_required")]
    assert online.sync_once().sent == 0
    with server.state.sessions() as db:
        assert {d.ins for d in db.scalars(select(Dmp))} == {JEANNE}


def test_kiosk_sync_command(server: Server, tmp_path: Path, pharmacist: Professional) -> None:
    queue = enrolled_queue(server, tmp_path)
    (tmp_path / "kiosk.toml").write_text(
        f'kiosk_id = "{queue.kiosk_id}"\nsite = "Pharmacie du Port"\n'
        f'central_url = "{server.url}"\ncentral_key = "{queue.central_key.hex()}"\n',
        encoding="utf-8",
    )
    queue_login(queue, pharmacist, "session-cli")
    queue.enqueue(queued_creation(server, CLAIRE), session_id="session-cli")
    queue.enqueue(CLOSED, session_id="session-cli")
    queue.close()

    result = run_kiosk("sync", "--once", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "envoyées : 3, acceptées : 3, rejetées : 0"
    status = json.loads(run_kiosk("queue", "status", "--json", home=tmp_path).stdout)
    assert status["pending"] == 0 and status["acknowledged"] == 3
    with server.state.sessions() as db:
        traced = db.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == PHARMACIST_ID))
        assert set(traced) >= {"operator_login", "operator_logout", "create"}


def test_sync_without_enrolment_says_what_to_do(tmp_path: Path) -> None:
    result = run_kiosk("sync", "--once", home=tmp_path)
    assert result.returncode == 1 and "kiosk enroll" in result.stderr
