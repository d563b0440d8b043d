"""The central ingest, fed from the kiosk's real queue over HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from central.audit.models import AuditEntry
from central.db import utcnow
from central.dmp.models import Dmp
from central.sync.models import Kiosk, Receipt
from dmpcommon.actions import (
    AuthorisationGranted,
    AuthorisationRevoked,
    CardReadRefused,
    CardTraits,
    ConsentRecorded,
    ContactSet,
    DmpCreated,
    DmpOpened,
    DocumentAdded,
    IdentityChecked,
    IdentityToQualify,
    NotificationContact,
    OperatorSessionClosed,
    RefusedCard,
    Representative,
    TreatingDoctorSet,
)
from dmpcommon.signing import public_bytes
from dmpcommon.vocabulary import (
    AccessMode,
    BreakGlassReason,
    ContactChannel,
    CounterDocument,
    IdentityDocument,
)
from kiosk.core.errors import CentralRefusedError, SyncError
from kiosk.sync.client import SyncClient
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.queue import ActionQueue, open_engine
from kiosk.sync.transport import CentralClient, RequestSigner
from tests.support.aged import aged
from tests.support.central import Professional, Server
from tests.support.dmp import CLAIRE, JEANNE, LEO, PHYSICIAN, queued_creation
from tests.support.queues import batch, enrolled_queue, post_batch, queue_login
from tests.support.tamper import tamper

CLOSED = OperatorSessionClosed()


@pytest.fixture
def queue(server: Server, tmp_path: Path) -> ActionQueue:
    return enrolled_queue(server, tmp_path)


def test_actions_apply_once_and_a_rule_breach_does_not_block(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    queue_login(queue, pharmacist, "session-0001")
    queue.enqueue(queued_creation(server, JEANNE), session_id="session-0001")
    queue.enqueue(queued_creation(server, LEO), session_id="session-0001")  # no representative
    queue.enqueue(queued_creation(server, CLAIRE), session_id="session-0001")
    queue.enqueue_encoded("teleportation", b"{}", session_id="session-0001")
    code, body = post_batch(server, batch(queue), queue)
    assert code == 200, body
    assert [(r["seq"], r["outcome"], r.get("reason")) for r in body["results"]] == [
        (1, "accepted", None),
        (2, "accepted", None),
        (3, "rejected", "representative_required"),
        (4, "accepted", None),
        (5, "rejected", "unsupported_action_type"),
    ]
    again = post_batch(server, batch(queue), queue)  # the answer was lost: all sent again
    assert again == (200, body)
    with server.state.sessions() as db:
        assert {d.ins for d in db.scalars(select(Dmp))} == {JEANNE, CLAIRE}
        assert db.scalar(select(func.count()).select_from(Receipt)) == 5
        kiosk = db.get(Kiosk, queue.kiosk_id)
        assert kiosk is not None and kiosk.last_seq == 5 and kiosk.flagged is None


def test_a_gap_is_answered_with_the_sequence_expected(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    queue_login(queue, pharmacist, "session-0002")
    queue.enqueue(CLOSED, session_id="session-0002")
    code, body = post_batch(server, batch(queue, [2]), queue)
    assert code == 200 and body["results"] == [{"seq": 2, "status": "gap", "expected": 1}]
    assert post_batch(server, batch(queue), queue)[1]["results"][1]["outcome"] == "accepted"


def test_a_fork_is_refused_and_the_kiosk_flagged(
    server: Server, queue: ActionQueue, tmp_path: Path
) -> None:
    queue.enqueue(CLOSED, session_id="session-a")
    assert post_batch(server, batch(queue), queue)[0] == 200
    # A restored old backup of the kiosk writes another seq 1 with the same key.
    (tmp_path / "restored").mkdir()
    (tmp_path / "restored" / "device.key").write_bytes((tmp_path / "device.key").read_bytes())
    other = ActionQueue(
        open_engine(tmp_path / "restored" / "queue.db"),
        kiosk_id=queue.kiosk_id,
        signing_key=load_or_create_device_key(tmp_path / "restored" / "device.key"),
        central_key=queue.central_key,
    )
    other.enqueue(CLOSED, session_id="session-b")
    code, body = post_batch(server, batch(other), other)
    assert (code, body["error"]) == (409, "fork")
    with server.state.sessions() as db:
        kiosk = db.get(Kiosk, queue.kiosk_id)
        assert kiosk is not None and kiosk.flagged == "fork at seq 1"


def test_bad_signature_and_revoked_kiosk(server: Server, queue: ActionQueue) -> None:
    queue.enqueue(CLOSED, session_id="session-c")
    body = batch(queue)
    signature = bytearray(base64.b64decode(body["items"][0]["signature"]))
    signature[0] ^= 1
    forged = {
        **body,
        "items": [{**body["items"][0], "signature": base64.b64encode(bytes(signature)).decode()}],
    }
    code, answer = post_batch(server, forged, queue)
    assert (code, answer["error"]) == (409, "bad_signature")
    from central.sync.service import revoke

    with server.state.sessions() as db, db.begin():
        revoke(db, queue.kiosk_id, utcnow())
    code, answer = post_batch(server, body, queue)
    assert (code, answer["error"]) == (403, "kiosk_revoked")


JEANNE_CARD = CardTraits(nom="Bernard", prenom="Jeanne", birth_date=aged("1979-03-28"), nir=JEANNE)
LEO_CARD = CardTraits(nom="Martin", prenom="Léo", birth_date=aged("2015-06-30"), nir=CLAIRE)
NURSE = "860012345678"  # "8" + an RPPS number whose key holds


def test_every_action_type_of_the_workflow(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    session = "session-all-types"
    queue_login(queue, pharmacist, session)
    info = {"information_version": "2026-01"}
    unknown = JEANNE_CARD.model_copy(update={"prenom": "Personne"})
    typed = [
        IdentityToQualify.of(JEANNE_CARD),
        IdentityToQualify.of(unknown),
        ConsentRecorded(identity=JEANNE_CARD, **info),
        ConsentRecorded(identity=LEO_CARD, **info),  # a minor with no representative
        DmpCreated(
            identity=JEANNE_CARD,
            consent=True,
            **info,
            authorised_professionals=(pharmacist.id_nat,),
        ),
        ContactSet(
            ins=JEANNE,
            contact=NotificationContact(channel=ContactChannel.SMS, address="06 12 34 56 78"),
        ),
        TreatingDoctorSet(ins=JEANNE, id_nat=PHYSICIAN),
        # The pharmacist lets nobody else in; it withdraws, then authorises itself again
        # with the patient's agreement.
        AuthorisationGranted(ins=JEANNE, id_nat=NURSE, patient_agreement=True),
        AuthorisationRevoked(ins=JEANNE, id_nat=pharmacist.id_nat),
        AuthorisationGranted(ins=JEANNE, id_nat=pharmacist.id_nat, patient_agreement=True),
    ]
    for payload in typed:
        queue.enqueue(payload, session_id=session)
    # What the typed payloads refuse to build, an old or broken kiosk could still send.
    queue.enqueue_encoded(
        "authorisation_granted", b'{"ins":"%s","id_nat":"x"}' % JEANNE.encode(), session_id=session
    )
    queue.enqueue(CardReadRefused(reason=RefusedCard.VITALE1), session_id=session)
    never_served = DmpOpened(ins=JEANNE, mode=AccessMode.NORMAL)
    queue.enqueue(never_served, session_id=session)  # never served: not reconciled
    queue.enqueue_encoded(
        "dmp_opened", b'{"ins":"%s","mode":"bris_de_glace"}' % JEANNE.encode(), session_id=session
    )
    code, body = post_batch(server, batch(queue), queue)
    assert code == 200, body
    assert [(r["outcome"], r.get("reason")) for r in body["results"][1:]] == [
        ("accepted", None),
        ("rejected", "identity_not_found"),
        ("accepted", None),
        ("rejected", "representative_required"),
        ("accepted", None),
        ("accepted", None),
        ("accepted", None),
        ("rejected", "only_the_patient_authorises_others"),
        ("accepted", None),
        ("accepted", None),
        ("rejected", "invalid_payload:id_nat:id_nat_not_a_health_professional"),
        ("accepted", None),
        ("rejected", "access_not_served"),
        ("rejected", "invalid_payload:payload:reason_required"),
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
        ("identity_qualify", "qualified", "queued"),  # Leo's card, before his refused consent
        ("identity_qualify", "qualified", "queued"),
        ("create", "done", "consent=self;info=2026-01;etreat=1;btg=1;masked=1"),
        ("contact_set", "done", ""),
        ("treating_doctor_set", "done", PHYSICIAN),
        ("professional_authorise", "refused", "only_the_patient_authorises_others"),
        ("professional_revoke", "done", pharmacist.id_nat),
        ("professional_authorise", "done", pharmacist.id_nat),
        ("card_read_refused", "refused", "vitale1"),
    ]
    # Once the service has served the opening, the kiosk's trace of it reconciles.
    from tests.support.central import login
    from tests.support.dmp import open_record

    token = login(server, pharmacist)
    assert open_record(server, token, JEANNE)[0] == 200
    queue.enqueue(never_served, session_id=session)
    reason = {"reason_code": "URGENCE_VITALE", "reason_text": "patient inconscient"}
    assert open_record(server, token, JEANNE, "bris_de_glace", **reason)[0] == 200
    opened = DmpOpened(
        ins=JEANNE,
        mode=AccessMode.BREAK_GLASS,
        reason_code=BreakGlassReason.VITAL_EMERGENCY,
        reason_text="patient inconscient",
    )
    queue.enqueue(opened, session_id=session)
    queue.enqueue(opened.model_copy(update={"reason_text": "une autre raison"}), session_id=session)
    code, body = post_batch(server, batch(queue), queue)
    assert [r.get("reason") for r in body["results"][-3:]] == [None, None, "access_not_served"]
    with server.state.sessions() as db:  # reconciled, not traced twice
        opens = db.scalars(select(AuditEntry.id).where(AuditEntry.action == "open")).all()
        assert len(opens) == 2


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
    queue = enrolled_queue(server, tmp_path)
    queue_login(queue, pharmacist, "session-tamper")
    for _ in range(4):
        queue.enqueue(CardReadRefused(reason=RefusedCard.UNKNOWN), session_id="session-tamper")
    queue.close()
    tamper(tmp_path / "queue.db", how)
    problem = queue.verify(public_bytes(queue.signing_key))
    assert problem is not None and (problem.seq, problem.problem) == local
    signer = RequestSigner(queue.kiosk_id, queue.signing_key)
    client = SyncClient(queue, CentralClient(server.url, signer=signer), queue.kiosk_id)
    with pytest.raises(SyncError) as refused:
        client.sync_once()
    said = (
        f"refused: {refused.value.reason}"
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


def test_what_the_counter_queues_is_held_to_the_patients_rules(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    """The counter's new actions, refused where they must be: an identity document 'checked'
    for a patient this session never saw; care dated after the action. A representative on
    an identity document is recorded as such."""
    session = "session-counter-rules"
    queue_login(queue, pharmacist, session)
    tomorrow = (utcnow() + dt.timedelta(days=1)).date().isoformat()
    other_parent = Representative(
        nom="KERGOAT",
        prenom="Yann",
        birth_date=aged("1984-01-01"),
        identity_document=IdentityDocument.ID_CARD,
    )
    typed = [
        IdentityChecked(ins=JEANNE, document=IdentityDocument.PASSPORT),  # never seen here
        IdentityToQualify.of(JEANNE_CARD),
        IdentityChecked(ins=JEANNE, document=IdentityDocument.PASSPORT),
        DmpCreated(
            identity=JEANNE_CARD,
            consent=True,
            information_version="2026-01",
            authorised_professionals=(pharmacist.id_nat,),
        ),
        DocumentAdded(
            ins=JEANNE,
            kind=CounterDocument.VACCINATION,
            title="Vaccin",
            content="lot 1",
            document_date=tomorrow,
        ),
        ConsentRecorded(
            identity=LEO_CARD, information_version="2026-01", representative=other_parent
        ),
    ]
    for payload in typed:
        queue.enqueue(payload, session_id=session)
    code, body = post_batch(server, batch(queue), queue)
    assert code == 200, body
    assert [(r["outcome"], r.get("reason")) for r in body["results"][1:]] == [
        ("rejected", "patient_absent"),
        ("accepted", None),
        ("accepted", None),
        ("accepted", None),
        ("rejected", "document_date_in_future"),
        ("accepted", None),
    ]
    with server.state.sessions() as db:
        details = [
            (e.action, e.detail)
            for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action in ("identity_checked", "consent")
        ]
    assert details == [
        ("identity_checked", "passeport"),
        ("consent", "consent=representative;document=carte_identite;info=2026-01"),
    ]
