"""The session comes back by itself (POST /v1/sessions/{id}/resume): a kiosk that lost its
token with the network, or logged in offline, proves itself by its request signature alone.
One service per database for the module."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from central.audit.models import AuditEntry
from central.config import Settings
from central.professionals.revocation import revoke_card
from central.sync.models import Kiosk
from dmpcommon.actions import IdentitySearch
from dmpcommon.vocabulary import IdentityDocument, QualificationStatus, Role
from kiosk.core.errors import CentralRefusedError
from kiosk.core.ports import Qualification, StrictTraits
from kiosk.sync.online import OnlineCentral
from kiosk.sync.transport import CentralClient
from tests.support.aged import aged
from tests.support.central import (
    TEST_KIOSK,
    TEST_KIOSK_ID,
    KioskAuth,
    Professional,
    Server,
    database_for,
    make_professional,
    signed_kiosk_client,
    start_server,
    wipe,
)
from tests.support.dmp import JEANNE, card_traits
from tests.support.queues import enrolled_queue, queue_login, sync


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, identities: Path
) -> Iterator[Server]:
    url, engine = database_for(request.param, tmp_path_factory.getbasetemp())
    wipe(engine)
    home = tmp_path_factory.mktemp("resume")
    running = start_server(
        Settings(db=url, identities=identities, home=home, portal_url="http://p.test")
    )
    yield running
    running.stop()


def _login(server: Server, pro: Professional) -> tuple[str, dict[str, Any]]:
    """A live login at the test kiosk: (session id, the answer)."""
    session_id = uuid.uuid4().hex
    with server.client() as client:
        response = client.post("/v1/sessions", json=pro.attestation(session_id=session_id))
    assert response.status_code == 201, response.text
    return session_id, dict(response.json())


def _resume(
    server: Server, session_id: str, *, kiosk: KioskAuth | bool = True, body: object = None
) -> tuple[int, dict[str, Any]]:
    with server.client(kiosk=kiosk) as client:
        response = client.post(f"/v1/sessions/{session_id}/resume", json=body or {})
    return response.status_code, dict(response.json())


def _serves(server: Server, token: str, kiosk: KioskAuth = TEST_KIOSK) -> int:
    """The status of an operator request with this token (200: it serves)."""
    with server.client(token, kiosk=kiosk) as client:
        return client.post("/v1/identity/qualify", json=card_traits(server, JEANNE)).status_code


def _logins(server: Server, actor_id: str) -> list[tuple[str, str]]:
    with server.state.sessions() as db:
        rows = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor_id == actor_id, AuditEntry.action == "operator_login")
            .order_by(AuditEntry.id)
        ).all()
        return [(e.outcome, e.detail) for e in rows]


def test_a_live_session_comes_back_with_a_new_token_and_the_old_one_void(
    server: Server, pharmacist: Professional
) -> None:
    session_id, opened = _login(server, pharmacist)
    code, resumed = _resume(server, session_id)
    assert code == 200, resumed
    assert resumed["token"] != opened["token"]
    # The same session: who, and until when (a resume does not lengthen it).
    assert {k: v for k, v in resumed.items() if k != "token"} == {
        k: v for k, v in opened.items() if k != "token"
    }
    assert (_serves(server, resumed["token"]), _serves(server, opened["token"])) == (200, 401)
    assert _logins(server, pharmacist.id_nat)[-2:] == [
        ("done", f"kiosk={TEST_KIOSK_ID}"),
        ("done", f"kiosk={TEST_KIOSK_ID};resumed"),
    ]

    # The exact signed request, played again: its nonce is spent.
    with httpx.Client(base_url=server.url) as client:
        request = client.build_request("POST", f"/v1/sessions/{session_id}/resume", json={})
        signed = next(TEST_KIOSK.auth_flow(request))
        assert client.send(signed).status_code == 200
        replayed = client.send(signed)
    assert (replayed.status_code, replayed.json()["error"]) == (401, "replayed_request")


def test_a_login_made_offline_comes_back_once_synced_and_only_at_its_kiosk(
    server: Server, physician: Professional, tmp_path: Path
) -> None:
    queue = enrolled_queue(server, tmp_path)
    offline = KioskAuth(queue.kiosk_id, queue.signing_key)
    queue_login(queue, physician, "offline-session-1")
    assert _resume(server, "offline-session-1", kiosk=offline) == (
        401,
        {"error": "no_operator_session", "detail": "no operator session of this id"},
    )
    sync(server, queue)
    code, resumed = _resume(server, "offline-session-1", kiosk=offline)
    assert (code, resumed["role"], resumed["id_nat"]) == (
        200,
        "professionnel_sante",
        physician.id_nat,
    )
    assert _serves(server, resumed["token"], kiosk=offline) == 200

    code, elsewhere = _resume(server, "offline-session-1")  # the test kiosk asks for it
    assert (code, elsewhere["error"]) == (403, "wrong_kiosk")
    assert _logins(server, physician.id_nat)[-1] == (
        "refused",
        f"wrong_kiosk;kiosk={TEST_KIOSK_ID};resume",
    )
    with server.state.sessions() as db, db.begin():
        db.execute(update(Kiosk).where(Kiosk.id == queue.kiosk_id).values(status="revoked"))
    code, revoked = _resume(server, "offline-session-1", kiosk=offline)
    assert (code, revoked["error"]) == (403, "kiosk_revoked")


def test_a_session_over_or_a_card_revoked_does_not_come_back(
    server: Server, agent: Professional
) -> None:
    closed, opened = _login(server, agent)
    with server.client(opened["token"]) as client:
        assert client.delete("/v1/sessions/current").status_code == 204
    assert _resume(server, closed)[1]["error"] == "operator_session_over"

    expired, _ = _login(server, agent)
    server.clock.advance(minutes=server.state.settings.session_minutes)
    try:
        assert _resume(server, expired)[1]["error"] == "operator_session_over"
    finally:
        server.clock.offset = dt.timedelta()

    stolen = make_professional(id_nat="810100555557", nom="VOLEE")
    taken, _ = _login(server, stolen)
    with server.state.sessions() as db, db.begin():
        revoke_card(db, stolen.id_nat, now=server.state.now())
    assert _resume(server, taken) == (
        401,
        {"error": "card_revoked", "detail": "this card is revoked"},
    )
    assert [d for o, d in _logins(server, agent.id_nat) if o == "refused"][-2:] == [
        f"operator_session_over;kiosk={TEST_KIOSK_ID};resume"
    ] * 2
    assert _logins(server, stolen.id_nat)[-1] == (
        "refused",
        f"card_revoked;kiosk={TEST_KIOSK_ID};resume",
    )


def test_what_is_not_a_resume(server: Server, pharmacist: Professional) -> None:
    session_id, _ = _login(server, pharmacist)
    code, unsigned = _resume(server, session_id, kiosk=False)
    assert (code, unsigned["error"]) == (401, "bad_request_signature")
    code, stuffed = _resume(server, session_id, body={"token": "x"})
    assert (code, stuffed["error"]) == (422, "invalid_request")
    code, odd = _resume(server, "not a session")
    assert (code, odd["error"]) == (422, "invalid_request")


def test_the_kiosk_adapter_resumes_and_searches(server: Server, pharmacist: Professional) -> None:
    kiosk = OnlineCentral(signed_kiosk_client(server))
    session_id = uuid.uuid4().hex
    attestation = pharmacist.attestation(session_id=session_id)
    opened = kiosk.open_session(
        kiosk_id=TEST_KIOSK_ID,
        session_id=session_id,
        issued_at=attestation["issued_at"],
        certificate=base64.b64decode(attestation["certificate"]),
        signature=base64.b64decode(attestation["signature"]),
    )
    resumed = kiosk.resume_session(session_id)
    assert resumed.role is Role.HEALTH_PROFESSIONAL and resumed.token != opened.token

    marie = IdentitySearch(
        nom="D'ARGENT-LEVEQUE DE LA TOUR DU PIN-GOUVERNET",
        prenom="Marie-Hélène",
        birth_date=aged("1985-02-03"),
        sexe="F",
        birth_place="2A004",
        document=IdentityDocument.PASSPORT,
    )
    assert kiosk.search_identity(resumed.token, marie) == Qualification(
        QualificationStatus.QUALIFIED,
        "285022A00412355",
        StrictTraits(
            nom_naissance="D'ARGENT-LÉVÊQUE DE LA TOUR DU PIN-GOUVERNET",
            prenoms=("MARIE-HÉLÈNE", "ANNICK"),
            sexe="F",
            birth_date=aged("1985-02-03"),
            birth_place="2A004",
        ),
    )
    nobody = marie.model_copy(update={"sexe": "M", "birth_place": None})
    assert kiosk.search_identity(resumed.token, nobody) == Qualification(
        QualificationStatus.NOT_FOUND
    )

    with pytest.raises(CentralRefusedError) as unknown:
        kiosk.resume_session("no-such-session")
    assert unknown.value.reason == "no_operator_session"
    with pytest.raises(CentralRefusedError) as keyless:  # not enrolled: nothing to prove with
        OnlineCentral(CentralClient(server.url)).resume_session(session_id)
    assert keyless.value.reason == "not_enrolled"
