"""The central ingest, fed from the kiosk's real queue over HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from central.audit.models import AuditEntry
from central.db import utcnow
from central.dmp.models import Dmp
from central.sync.models import Kiosk, Receipt
from dmpcommon.signing import public_bytes
from kiosk.errors import CentralRefusedError, SyncError
from kiosk.sync.client import SyncClient
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.queue import ActionQueue, open_engine
from kiosk.sync.transport import CentralClient, RequestSigner
from tests.central.dmp_helpers import CLAIRE, JEANNE, LEO, PHYSICIAN
from tests.central.harness import Professional, Server, enrollment_token
from tests.sync.tamper import tamper


def _enrolled_queue(server: Server, home: Path) -> ActionQueue:
    token = enrollment_token(server)
    key = load_or_create_device_key(home / "device.key")
    result = CentralClient(server.url).enroll(token=token, public_key=public_bytes(key))
    return ActionQueue(
        open_engine(home / "queue.db"),
        kiosk_id=result.kiosk_id,
        signing_key=key,
        central_key=result.central_key,
    )


def _batch(queue: ActionQueue, seqs: list[int] | None = None) -> dict[str, Any]:
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


def _post(
    server: Server, body: dict[str, Any], queue: ActionQueue | None = None
) -> tuple[int, dict[str, Any]]:
    """POST a batch signed (RFC 9421) with the queue's device key, as the kiosk does."""
    signer = None if queue is None else RequestSigner(queue.kiosk_id, queue.signing_key)
    response = requests.post(f"{server.url}/v1/sync/batch", json=body, auth=signer, timeout=30)
    return response.status_code, dict(response.json())


def _session(queue: ActionQueue, pharmacist: Professional, session_id: str) -> None:
    attestation = pharmacist.attestation(kiosk_id=queue.kiosk_id, session_id=session_id)
    queue.enqueue(
        "operator_session_opened",
        {k: attestation[k] for k in ("issued_at", "certificate", "signature")},
        session_id=session_id,
    )


@pytest.fixture
def queue(server: Server, tmp_path: Path) -> ActionQueue:
    return _enrolled_queue(server, tmp_path)


def test_actions_apply_once_and_a_rule_breach_does_not_block(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    _session(queue, pharmacist, "session-0001")
    base = {"consent": True, "information_version": "2026-01"}
    queue.enqueue("dmp_created", {"ins": JEANNE, **base}, session_id="session-0001")
    queue.enqueue(
        "dmp_created", {"ins": LEO, **base}, session_id="session-0001"
    )  # no representative
    queue.enqueue("dmp_created", {"ins": CLAIRE, **base}, session_id="session-0001")
    queue.enqueue("teleportation", {}, session_id="session-0001")
    code, body = _post(server, _batch(queue), queue)
    assert code == 200, body
    assert [(r["seq"], r["outcome"], r.get("reason")) for r in body["results"]] == [
        (1, "accepted", None),
        (2, "accepted", None),
        (3, "rejected", "representative_required"),
        (4, "accepted", None),
        (5, "rejected", "unsupported_action_type"),
    ]
    again = _post(
        server, _batch(queue), queue
    )  # the response was lost: the kiosk sends it all again
    assert again == (200, body)
    with server.state.sessions() as db:
        assert {d.ins for d in db.scalars(select(Dmp))} == {JEANNE, CLAIRE}
        assert db.scalar(select(func.count()).select_from(Receipt)) == 5
        kiosk = db.get(Kiosk, queue.kiosk_id)
        assert kiosk is not None and kiosk.last_seq == 5 and kiosk.flagged is None


def test_a_gap_is_answered_with_the_sequence_expected(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    _session(queue, pharmacist, "session-0002")
    queue.enqueue("operator_session_closed", {}, session_id="session-0002")
    code, body = _post(server, _batch(queue, [2]), queue)
    assert code == 200 and body["results"] == [{"seq": 2, "status": "gap", "expected": 1}]
    assert _post(server, _batch(queue), queue)[1]["results"][1]["outcome"] == "accepted"


def test_a_fork_is_refused_and_the_kiosk_flagged(
    server: Server, queue: ActionQueue, tmp_path: Path
) -> None:
    queue.enqueue("operator_session_closed", {}, session_id="session-a")
    assert _post(server, _batch(queue), queue)[0] == 200
    # A restored old backup of the kiosk writes another seq 1 with the same key.
    (tmp_path / "restored").mkdir()
    (tmp_path / "restored" / "device.key").write_bytes((tmp_path / "device.key").read_bytes())
    other = ActionQueue(
        open_engine(tmp_path / "restored" / "queue.db"),
        kiosk_id=queue.kiosk_id,
        signing_key=load_or_create_device_key(tmp_path / "restored" / "device.key"),
        central_key=queue.central_key,
    )
    other.enqueue("operator_session_closed", {}, session_id="session-b")
    code, body = _post(server, _batch(other), other)
    assert (code, body["error"]) == (409, "fork")
    with server.state.sessions() as db:
        kiosk = db.get(Kiosk, queue.kiosk_id)
        assert kiosk is not None and kiosk.flagged == "fork at seq 1"


def test_bad_signature_and_revoked_kiosk(server: Server, queue: ActionQueue) -> None:
    queue.enqueue("operator_session_closed", {}, session_id="session-c")
    body = _batch(queue)
    signature = bytearray(base64.b64decode(body["items"][0]["signature"]))
    signature[0] ^= 1
    forged = {
        **body,
        "items": [{**body["items"][0], "signature": base64.b64encode(bytes(signature)).decode()}],
    }
    code, answer = _post(server, forged, queue)
    assert (code, answer["error"]) == (409, "bad_signature")
    from central.sync.service import revoke

    with server.state.sessions() as db, db.begin():
        revoke(db, queue.kiosk_id, utcnow())
    code, answer = _post(server, body, queue)
    assert (code, answer["error"]) == (403, "kiosk_revoked")


JEANNE_CARD = {"nom": "Bernard", "prenom": "Jeanne", "birth_date": "1979-03-28", "nir": JEANNE}
NURSE = "600012345678"


def test_every_action_type_of_the_workflow(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    session = "session-all-types"
    _session(queue, pharmacist, session)
    info = {"information_version": "2026-01"}
    unknown = {**JEANNE_CARD, "prenom": "Personne"}
    for action_type, payload in [
        ("identity_to_qualify", JEANNE_CARD),
        ("identity_to_qualify", unknown),
        ("consent_recorded", {"identity": JEANNE_CARD, **info}),
        ("consent_recorded", {"ins": LEO, **info}),  # a minor with no representative
        (
            "dmp_created",
            {
                "identity": JEANNE_CARD,
                "consent": True,
                **info,
                "authorised_professionals": [pharmacist.id_nat],
            },
        ),
        (
            "contact_set",
            {"ins": JEANNE, "contact": {"channel": "sms", "address": "06 12 34 56 78"}},
        ),
        ("treating_doctor_set", {"ins": JEANNE, "id_nat": PHYSICIAN}),
        ("authorisation_granted", {"ins": JEANNE, "id_nat": NURSE}),
        ("authorisation_revoked", {"ins": JEANNE, "id_nat": NURSE}),
        ("authorisation_granted", {"ins": JEANNE, "id_nat": "x"}),  # malformed
        ("card_read_refused", {"reason": "vitale1"}),
        ("dmp_opened", {"ins": JEANNE, "mode": "normal"}),  # never served: not reconciled
        ("dmp_opened", {"ins": JEANNE, "mode": "bris_de_glace"}),  # no reason
    ]:
        queue.enqueue(action_type, payload, session_id=session)
    code, body = _post(server, _batch(queue), queue)
    assert code == 200, body
    assert [(r["outcome"], r.get("reason")) for r in body["results"][1:]] == [
        ("accepted", None),
        ("rejected", "identity_not_found"),
        ("accepted", None),
        ("rejected", "representative_required"),
        ("accepted", None),
        ("accepted", None),
        ("accepted", None),
        ("accepted", None),
        ("accepted", None),
        ("rejected", "malformed_payload"),
        ("accepted", None),
        ("rejected", "access_not_served"),
        ("rejected", "reason_required"),
    ]
    with server.state.sessions() as db:
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None
        assert (dmp.notify_channel, dmp.notify_address) == ("sms", "+33612345678")
        assert dmp.treating_doctor == PHYSICIAN
        assert dmp.information_version == "2026-01" and dmp.created_by == pharmacist.id_nat
        trail = [
            (e.action, e.outcome, e.detail)
            for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action != "operator_login"
        ]
    assert trail == [
        ("identity_qualify", "qualified", "queued"),
        ("identity_qualify", "not_found", "queued"),  # the trace of a rejected action stays
        ("identity_qualify", "qualified", "queued"),
        ("consent", "recorded", "consent=self;info=2026-01"),
        ("identity_qualify", "qualified", "queued"),
        ("create", "done", "consent=self;info=2026-01;etreat=1;btg=1;masked=1"),
        ("contact_set", "done", ""),
        ("treating_doctor_set", "done", PHYSICIAN),
        ("professional_authorise", "done", NURSE),
        ("professional_revoke", "done", NURSE),
        ("card_read_refused", "refused", "vitale1"),
    ]
    # Once the service has served the opening, the kiosk's trace of it reconciles.
    from tests.central.dmp_helpers import open_record
    from tests.central.harness import login

    assert open_record(server, login(server, pharmacist), JEANNE)[0] == 200
    queue.enqueue("dmp_opened", {"ins": JEANNE, "mode": "normal"}, session_id=session)
    code, body = _post(server, _batch(queue), queue)
    assert body["results"][-1] == {"seq": 15, "status": "recorded", "outcome": "accepted"}
    with server.state.sessions() as db:  # reconciled, not traced twice
        opens = db.scalars(select(AuditEntry.id).where(AuditEntry.action == "open")).all()
        assert len(opens) == 1


@pytest.mark.parametrize(
    ("how", "local", "answer"),
    [
        ("flip", (3, "bad signature"), "refused: bad_signature"),
        ("delete", (3, "missing"), "central expects seq 3"),
        ("swap", (2, "moved"), "central expects seq 2"),
    ],
)
def test_a_tampered_queue_is_named_locally_and_refused_by_the_service(
    server: Server,
    tmp_path: Path,
    pharmacist: Professional,
    how: str,
    local: tuple[int, str],
    answer: str,
) -> None:
    queue = _enrolled_queue(server, tmp_path)
    _session(queue, pharmacist, "session-tamper")
    for i in range(4):
        queue.enqueue("card_read_refused", {"reason": f"t{i}"}, session_id="session-tamper")
    queue.close()
    tamper(tmp_path / "queue.db", how)
    problem = queue.verify(public_bytes(queue.signing_key))
    assert problem is not None and (problem.seq, problem.problem) == local
    signer = RequestSigner(queue.kiosk_id, queue.signing_key)
    client = SyncClient(queue, CentralClient(server.url, signer=signer), queue.kiosk_id)
    with pytest.raises(SyncError) as refused:
        client.sync_once()
    said = (
        f"refused: {refused.value.code}"
        if isinstance(refused.value, CentralRefusedError)
        else str(refused.value)
    )
    assert said == answer
    with server.state.sessions() as db:  # nothing at or after the damage was applied
        kiosk = db.get(Kiosk, queue.kiosk_id)
        assert kiosk is not None and kiosk.last_seq == local[0] - 1
        applied = db.scalars(select(Receipt.seq).where(Receipt.kiosk_id == queue.kiosk_id)).all()
        assert sorted(applied) == list(range(1, local[0]))
        assert kiosk.flagged == ("bad envelope or signature after seq 2" if how == "flip" else None)
