"""How far the service believes a kiosk: its clock, its key, its operators' cards
(DESIGN.md, "Whom the central service trusts, and how far"). Each test is an attack that
the service once let through, played against the real service over HTTP."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from central.audit.models import AuditEntry
from central.dmp.models import Dmp
from central.errors import BadRequest
from central.identity.models import PatientPresence
from central.professionals.models import OperatorSession
from central.professionals.revocation import revoke_card
from central.sync.models import Kiosk
from dmpcommon.actions import (
    CardTraits,
    IdentityToQualify,
    OperatorSessionClosed,
    OperatorSessionOpened,
)
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.queue import ActionQueue, open_engine
from tests.support.aged import aged
from tests.support.central import (
    ROOT,
    KioskAuth,
    Professional,
    Server,
    make_professional,
)
from tests.support.dmp import JEANNE, LEO, queued_creation
from tests.support.queues import batch, enrolled_queue, post_batch

JEANNE_CARD = CardTraits(nom="Bernard", prenom="Jeanne", birth_date=aged("1979-03-28"), nir=JEANNE)


@pytest.fixture
def queue(server: Server, tmp_path: Path) -> ActionQueue:
    return enrolled_queue(server, tmp_path)


class KioskClock:
    """The kiosk's clock, as a thief with the device key sets it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def set(self, when: dt.datetime) -> None:
        self.monkeypatch.setattr(
            "kiosk.sync.queue._now", lambda: when.isoformat(timespec="microseconds")
        )


@pytest.fixture
def kiosk_clock(monkeypatch: pytest.MonkeyPatch) -> KioskClock:
    return KioskClock(monkeypatch)


def _login_at(queue: ActionQueue, pro: Professional, session_id: str, when: dt.datetime) -> None:
    attestation = pro.attestation(kiosk_id=queue.kiosk_id, session_id=session_id, issued_at=when)
    queue.enqueue(
        OperatorSessionOpened(
            issued_at=attestation["issued_at"],
            certificate=attestation["certificate"],
            signature=attestation["signature"],
        ),
        session_id=session_id,
    )


def _outcomes(body: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    return [(r["seq"], r["outcome"], r.get("reason")) for r in body["results"]]


def _sync(server: Server, queue: ActionQueue) -> list[tuple[int, str, str | None]]:
    code, body = post_batch(server, batch(queue), queue)
    assert code == 200, body
    return _outcomes(body)


def _central(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "central", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ},
    )


def _audit_times(server: Server) -> list[dt.datetime]:
    with server.state.sessions() as db:
        return list(db.scalars(select(AuditEntry.at)))


# -- the kiosk's clock ---------------------------------------------------------------------


def test_a_future_dated_action_is_refused_and_moves_nothing(
    server: Server, queue: ActionQueue, pharmacist: Professional, kiosk_clock: KioskClock
) -> None:
    """A child born in 2015 without a representative, dated 2034 to pass for an adult."""
    now = dt.datetime.now(dt.UTC)
    kiosk_clock.set(now)
    _login_at(queue, pharmacist, "session-1", now)
    kiosk_clock.set(now.replace(year=now.year + 8))
    queue.enqueue(queued_creation(server, LEO), session_id="session-1")
    kiosk_clock.set(now + dt.timedelta(seconds=1))  # the kiosk's next action, on time
    queue.enqueue(IdentityToQualify.of(JEANNE_CARD), session_id="session-1")
    assert _sync(server, queue) == [
        (1, "accepted", None),
        (2, "rejected", "action_time_in_future"),
        (3, "accepted", None),  # the future date was not taken as the kiosk's last time
    ]
    with server.state.sessions() as db:
        assert db.get(Dmp, LEO) is None
    assert max(_audit_times(server)) < now + dt.timedelta(minutes=5)


def test_stale_and_back_dated_actions_are_refused(
    server: Server, queue: ActionQueue, pharmacist: Professional, kiosk_clock: KioskClock
) -> None:
    """A closed session reused with actions dated 2001, or dated beyond the offline window,
    or dated before what the kiosk already sent."""
    now = dt.datetime.now(dt.UTC)
    kiosk_clock.set(now - dt.timedelta(minutes=10))
    _login_at(queue, pharmacist, "session-1", now - dt.timedelta(minutes=10))
    kiosk_clock.set(now - dt.timedelta(minutes=9))
    queue.enqueue(OperatorSessionClosed(), session_id="session-1")
    for when in (
        dt.datetime(2001, 5, 4, 10, 0, tzinfo=dt.UTC),  # a closed session's id, in 2001
        now - dt.timedelta(days=8),  # beyond the 7-day offline window
        now - dt.timedelta(minutes=30),  # within the window, but before the last envelope
    ):
        kiosk_clock.set(when)
        queue.enqueue(queued_creation(server, JEANNE), session_id="session-1")
    kiosk_clock.set(now)
    queue.enqueue(queued_creation(server, JEANNE), session_id="session-1")  # after the close
    assert _sync(server, queue) == [
        (1, "accepted", None),
        (2, "accepted", None),
        (3, "rejected", "action_time_too_old"),
        (4, "rejected", "action_time_too_old"),
        (5, "rejected", "action_time_before_previous"),
        (6, "rejected", "operator_session_over"),
    ]
    with server.state.sessions() as db:
        assert db.get(Dmp, JEANNE) is None
    assert min(_audit_times(server)) > now - dt.timedelta(hours=1)


def test_an_action_dated_before_its_live_session_is_refused(
    server: Server, queue: ActionQueue, pharmacist: Professional, kiosk_clock: KioskClock
) -> None:
    """A session opened live today; an action in it dated two days ago (first envelope of
    the kiosk: no earlier time to compare with but the session's own)."""
    kiosk = KioskAuth(queue.kiosk_id, queue.signing_key)
    with server.client(kiosk=kiosk) as client:
        opened = client.post(
            "/v1/sessions",
            json=pharmacist.attestation(kiosk_id=queue.kiosk_id, session_id="live-session-1"),
        )
    assert opened.status_code == 201, opened.text
    kiosk_clock.set(dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    queue.enqueue(IdentityToQualify.of(JEANNE_CARD), session_id="live-session-1")
    assert _sync(server, queue) == [(1, "rejected", "action_time_outside_session")]
    with server.state.sessions() as db:
        assert db.scalars(select(PatientPresence)).first() is None


def test_an_expired_cards_login_dated_back_is_refused(
    server: Server, queue: ActionQueue, kiosk_clock: KioskClock
) -> None:
    """A card that expired in 2024 and its login dated 2023: judged at the bounded time."""
    old = make_professional(
        id_nat="899700777777",
        profession="21",
        valid=(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
    )
    when = dt.datetime(2023, 6, 1, 9, 0, tzinfo=dt.UTC)
    kiosk_clock.set(when)
    _login_at(queue, old, "session-old", when)
    queue.enqueue(IdentityToQualify.of(JEANNE_CARD), session_id="session-old")
    assert _sync(server, queue) == [
        (1, "rejected", "action_time_too_old"),
        (2, "rejected", "action_time_too_old"),
    ]
    with server.state.sessions() as db:
        assert db.get(OperatorSession, "session-old") is None
    with server.client() as client:  # live, the card is judged now: expired
        live = client.post("/v1/sessions", json=old.attestation())
    assert (live.status_code, live.json()["error"]) == (401, "bad_certificate")


def test_the_audit_keeps_the_actions_time_and_the_services(
    server: Server, queue: ActionQueue, pharmacist: Professional, kiosk_clock: KioskClock
) -> None:
    """Half an hour offline: the entry says when it happened at the counter and when the
    service learnt of it."""
    at_counter = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    kiosk_clock.set(at_counter)
    _login_at(queue, pharmacist, "session-1", at_counter)
    queue.enqueue(IdentityToQualify.of(JEANNE_CARD), session_id="session-1")
    before = dt.datetime.now(dt.UTC)
    assert _sync(server, queue) == [(1, "accepted", None), (2, "accepted", None)]
    after = dt.datetime.now(dt.UTC)
    with server.state.sessions() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "identity_qualify")).one()
    assert entry.at == at_counter
    assert entry.recorded_at is not None and before <= entry.recorded_at <= after


# -- kiosks ----------------------------------------------------------------------------------


def test_the_live_api_serves_only_an_enrolled_kiosk_that_signs(
    server: Server, queue: ActionQueue, pharmacist: Professional, tmp_path: Path
) -> None:
    attestation = pharmacist.attestation(kiosk_id=queue.kiosk_id)
    mine = KioskAuth(queue.kiosk_id, queue.signing_key)
    with server.client(kiosk=False) as client:  # no signature: any kiosk_id was believed
        unsigned = client.post("/v1/sessions", json=attestation)
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "bad_request_signature")
    stranger = KioskAuth(queue.kiosk_id, load_or_create_device_key(tmp_path / "thief.key"))
    with server.client(kiosk=stranger) as client:
        forged = client.post("/v1/sessions", json=attestation)
    assert (forged.status_code, forged.json()["error"]) == (401, "bad_request_signature")
    with server.client(kiosk=mine) as client:
        token = client.post("/v1/sessions", json=attestation).json()["token"]
    status = f"/v1/dmp/{JEANNE}/status"
    with server.client(token, kiosk=mine) as client:
        assert client.get(status).status_code == 200
    with server.client(token, kiosk=False) as client:  # a stolen token alone
        assert client.get(status).json()["error"] == "bad_request_signature"
    with server.client(token) as client:  # at another enrolled kiosk
        answer = client.get(status)
    assert (answer.status_code, answer.json()["error"]) == (401, "wrong_kiosk")

    revoked = _central("kiosk", "revoke", queue.kiosk_id, "--db", server.state.settings.db or "")
    assert revoked.returncode == 0, revoked.stderr
    with server.client(token, kiosk=mine) as client:
        after = client.get(status)
        login = client.post("/v1/sessions", json=pharmacist.attestation(kiosk_id=queue.kiosk_id))
    assert (after.status_code, after.json()["error"]) == (403, "kiosk_revoked")
    assert (login.status_code, login.json()["error"]) == (403, "kiosk_revoked")


def test_a_flagged_kiosk_stops_until_an_administrator_clears_it(
    server: Server, queue: ActionQueue, pharmacist: Professional, tmp_path: Path
) -> None:
    queue.enqueue(OperatorSessionClosed(), session_id="session-a")
    assert post_batch(server, batch(queue), queue)[0] == 200
    (tmp_path / "restored").mkdir()  # an old backup of the kiosk: another seq 1, same key
    (tmp_path / "restored" / "device.key").write_bytes((tmp_path / "device.key").read_bytes())
    other = ActionQueue(
        open_engine(tmp_path / "restored" / "queue.db"),
        kiosk_id=queue.kiosk_id,
        signing_key=load_or_create_device_key(tmp_path / "restored" / "device.key"),
        central_key=queue.central_key,
    )
    other.enqueue(OperatorSessionClosed(), session_id="session-b")
    assert post_batch(server, batch(other), other)[1]["error"] == "fork"

    queue.enqueue(IdentityToQualify.of(JEANNE_CARD), session_id="session-a")
    code, body = post_batch(server, batch(queue, [2]), queue)  # the genuine kiosk too
    assert (code, body["error"]) == (403, "kiosk_flagged")
    mine = KioskAuth(queue.kiosk_id, queue.signing_key)
    with server.client(kiosk=mine) as client:
        login = client.post("/v1/sessions", json=pharmacist.attestation(kiosk_id=queue.kiosk_id))
    assert (login.status_code, login.json()["error"]) == (403, "kiosk_flagged")

    db_url = server.state.settings.db or ""
    cleared = _central("kiosk", "clear", queue.kiosk_id, "--db", db_url)
    assert cleared.returncode == 0, cleared.stderr
    assert "remis en service" in cleared.stdout and "fork at seq 1" in cleared.stdout
    again = _central("kiosk", "clear", queue.kiosk_id, "--db", db_url)
    assert again.returncode == 1 and len(again.stderr.strip().splitlines()) == 1
    code, body = post_batch(server, batch(queue, [2]), queue)
    assert code == 200 and _outcomes(body) == [(2, "rejected", "no_operator_session")]
    with server.state.sessions() as db:
        kiosk = db.get(Kiosk, queue.kiosk_id)
        assert kiosk is not None and kiosk.flagged is None
        details = db.scalars(select(AuditEntry.detail).where(AuditEntry.action == "kiosk_clear"))
        assert list(details) == [f"kiosk={queue.kiosk_id}; was: fork at seq 1"]


# -- cards -----------------------------------------------------------------------------------


def test_a_revoked_card_stops_live_and_in_the_queue(
    server: Server, queue: ActionQueue, pharmacist: Professional, kiosk_clock: KioskClock
) -> None:
    now = dt.datetime.now(dt.UTC)
    kiosk_clock.set(now - dt.timedelta(minutes=5))
    _login_at(queue, pharmacist, "session-q", now - dt.timedelta(minutes=5))
    kiosk_clock.set(now - dt.timedelta(minutes=4))
    queue.enqueue(IdentityToQualify.of(JEANNE_CARD), session_id="session-q")
    assert _sync(server, queue) == [(1, "accepted", None), (2, "accepted", None)]
    with server.client() as client:
        token = client.post("/v1/sessions", json=pharmacist.attestation()).json()["token"]

    revoked = _central("card", "revoke", pharmacist.id_nat, "--db", server.state.settings.db or "")
    assert revoked.returncode == 0, revoked.stderr
    assert "révoquée" in revoked.stdout

    with server.client(token) as client:
        live = client.get(f"/v1/dmp/{JEANNE}/status")
        login = client.post("/v1/sessions", json=pharmacist.attestation())
    assert (live.status_code, live.json()["error"]) == (401, "card_revoked")
    assert (login.status_code, login.json()["error"]) == (401, "card_revoked")
    kiosk_clock.set(dt.datetime.now(dt.UTC))
    queue.enqueue(IdentityToQualify.of(JEANNE_CARD), session_id="session-q")
    assert _sync(server, queue)[-1] == (3, "rejected", "card_revoked")
    with server.state.sessions() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "card_revoke")).all()
        assert [(e.actor_id, e.role) for e in entries] == [("admin", "administrateur")]
        assert revoke_card(db, pharmacist.id_nat, now=now) is False  # once is enough


# -- production ------------------------------------------------------------------------------


def test_production_refuses_the_test_ca_and_says_which_setting(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CENTRAL_HOME": str(tmp_path),
        "CENTRAL_PRODUCTION": "true",
        "CENTRAL_PORTAL_URL": "https://dmp.example/patient",
    }
    started = subprocess.run(
        [sys.executable, "-m", "central", "serve", "--db", f"sqlite:///{tmp_path}/c.db"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    assert started.returncode == 1
    assert "Traceback" not in started.stderr
    assert len(started.stderr.strip().splitlines()) == 1
    assert "CENTRAL_PROFESSIONAL_CA" in started.stderr

    from tests.support.central import other_ca

    _, certificate = other_ca()  # a CA that is not the repository's
    from cryptography.hazmat.primitives.serialization import Encoding

    (tmp_path / "ca.pem").write_bytes(certificate.public_bytes(Encoding.PEM))
    env |= {"CENTRAL_PROFESSIONAL_CA": str(tmp_path / "ca.pem"), "CENTRAL_PORTAL_URL": "http://x"}
    started = subprocess.run(
        [sys.executable, "-m", "central", "serve", "--db", f"sqlite:///{tmp_path}/c.db"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    assert started.returncode == 1 and "Traceback" not in started.stderr
    assert "CENTRAL_PORTAL_URL" in started.stderr
    assert "CENTRAL_PROFESSIONAL_CA" not in started.stderr


def test_production_enrols_over_https_only(server: Server) -> None:
    from tests.support.central import enrollment_token

    server.state.settings = server.state.settings.overridden(production=True)
    answer = httpx.post(
        f"{server.url}/v1/kiosks/enroll",
        json={"token": enrollment_token(server), "public_key": "00" * 32},
    )
    assert (answer.status_code, answer.json()["error"]) == (403, "https_required")


def test_the_test_ca_is_known_by_its_key_even_installed_without_fixtures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed from a wheel there is no fixtures folder: the test CA, copied anywhere, is
    still refused; another CA is not."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from central import production
    from tests.support.central import PKI, other_ca

    test_ca = x509.load_pem_x509_certificate((PKI / "ca.pem").read_bytes())
    assert production.key_fingerprint(test_ca) in production.TEST_CA_KEYS
    monkeypatch.setattr(production, "_FIXTURES", tmp_path / "no-fixtures")
    copied = tmp_path / "etc" / "ca.pem"
    copied.parent.mkdir()
    copied.write_bytes((PKI / "ca.pem").read_bytes())
    problems = production.production_problems(
        ca_path=copied, ca_certificates=[test_ca], portal_url="https://dmp.example/patient"
    )
    assert len(problems) == 1 and "CENTRAL_PROFESSIONAL_CA" in problems[0]
    other = other_ca()[1]
    copied.write_bytes(other.public_bytes(Encoding.PEM))
    assert not production.production_problems(
        ca_path=copied, ca_certificates=[other], portal_url="https://dmp.example/patient"
    )


def test_nothing_the_kiosk_wrote_after_a_sessions_close_is_of_that_session(
    server: Server, queue: ActionQueue, pharmacist: Professional, kiosk_clock: KioskClock
) -> None:
    """A thief with the device key dates an action just before the last close (within the
    clocks' tolerance), to pass the patient for present: the close's sequence bounds it."""
    now = dt.datetime.now(dt.UTC)
    kiosk_clock.set(now - dt.timedelta(minutes=10))
    _login_at(queue, pharmacist, "session-1", now - dt.timedelta(minutes=10))
    kiosk_clock.set(now - dt.timedelta(minutes=9))
    queue.enqueue(OperatorSessionClosed(), session_id="session-1")
    kiosk_clock.set(now - dt.timedelta(minutes=9, seconds=30))  # before the close
    queue.enqueue(IdentityToQualify.of(JEANNE_CARD), session_id="session-1")
    queue.enqueue(OperatorSessionClosed(), session_id="session-1")  # and a second close
    assert _sync(server, queue) == [
        (1, "accepted", None),
        (2, "accepted", None),
        (3, "rejected", "operator_session_over"),
        (4, "rejected", "operator_session_over"),
    ]
    with server.state.sessions() as db:
        assert db.scalars(select(PatientPresence)).first() is None


def test_a_queued_login_of_a_revoked_card_is_refused_whatever_its_date(
    server: Server, queue: ActionQueue, pharmacist: Professional, kiosk_clock: KioskClock
) -> None:
    """A thief with the card, its PIN and a kiosk dates the login before the revocation."""
    now = dt.datetime.now(dt.UTC)
    with server.state.sessions() as db, db.begin():
        assert revoke_card(db, pharmacist.id_nat.lower(), now=now)  # as written by hand
    kiosk_clock.set(now - dt.timedelta(minutes=1))
    _login_at(queue, pharmacist, "session-1", now - dt.timedelta(minutes=1))
    assert _sync(server, queue) == [(1, "rejected", "card_revoked")]
    with server.state.sessions() as db:
        with pytest.raises(BadRequest):
            revoke_card(db, "89970021889é", now=now)


def test_a_refused_signed_request_cannot_be_replayed(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    """Refused now, it would pass later (once authorised): its nonce is spent all the same."""
    import requests

    from kiosk.sync.transport import RequestSigner

    signer = RequestSigner(queue.kiosk_id, queue.signing_key)
    opened = requests.post(
        f"{server.url}/v1/sessions",
        json=pharmacist.attestation(kiosk_id=queue.kiosk_id),
        auth=signer,
        timeout=10,
    )
    token = opened.json()["token"]
    prepared = requests.Request(
        "POST",
        f"{server.url}/v1/dmp/{JEANNE}/open",
        json={"mode": "normal"},
        headers={"Authorization": f"Bearer {token}"},
    ).prepare()
    signer(prepared)
    with requests.Session() as http:
        first = http.send(prepared.copy(), timeout=10)
        again = http.send(prepared.copy(), timeout=10)
    assert first.status_code in (403, 404), first.text
    assert (again.status_code, again.json()["error"]) == (401, "replayed_request")
