"""The patient creates their DMP in the portal's API: proven by NIR, birth date and the
serial of their own Vitale card (the register's), consenting to the current information
text, the contact confirmed by a code; over HTTP on both databases, codes from real SMTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select, text

from central.audit.models import AuditEntry
from central.config import Settings
from central.dmp.models import Dmp
from central.patient.online_creation import Proof
from central.patient.throttle import AuthLimits
from dmpcommon.actions import EmergencyChoices, NotificationContact
from dmpcommon.information import INFORMATION_VERSION
from dmpcommon.vocabulary import ContactChannel
from tests.support.central import Server
from tests.support.dmp import JEANNE, LEO, contact_of
from tests.support.mail import Mailbox

EMAIL = "jeanne.bernard@exemple.test"
SERIAL = "7901234561"  # Jeanne's Vitale card, fixtures/make_cards.py


def _asked(
    birth_date: str, serial: str = SERIAL, nir: str = JEANNE, **extra: Any
) -> dict[str, Any]:
    return {
        "nir": nir,
        "birth_date": birth_date,
        "vitale_serial": serial,
        "consent": True,
        "information_version": INFORMATION_VERSION,
        "contact": {"channel": "email", "address": EMAIL},
        **extra,
    }


def _born(server: Server, ins: str) -> str:
    person = server.state.register.by_ins(ins)
    assert person is not None
    return person.birth_date


def test_the_patient_creates_their_dmp_with_a_code_sent_to_the_contact(
    server: Server, mailbox: Mailbox
) -> None:
    born = _born(server, JEANNE)
    proof = {"nir": JEANNE, "birth_date": born, "vitale_serial": SERIAL}
    with server.client() as client:
        wrong = client.post("/v1/patient/creation", json=_asked(born, serial="7901234560"))
        assert (wrong.status_code, wrong.json()["error"]) == (403, "identity_not_proven")
        server.clock.advance(seconds=61)
        asked = client.post("/v1/patient/creation", json=_asked(born))
        assert asked.status_code == 202, asked.text
        assert _no_dmp(server)  # nothing created before the code comes back
        code = mailbox.code_for(EMAIL, subject="Créez votre DMP")
        bad = client.post("/v1/patient/creation/confirm", json={**proof, "code": _other(code)})
        assert (bad.status_code, bad.json()["error"]) == (401, "bad_code")
        done = client.post("/v1/patient/creation/confirm", json={**proof, "code": code})
        assert done.status_code == 201, done.text
        token = done.json()["token"]
        again = client.post("/v1/patient/creation/confirm", json={**proof, "code": code})
        assert (again.status_code, again.json()["error"]) == (404, "no_creation_waiting")
    with server.client(token) as client:
        record = client.get("/v1/patient/record").json()
    assert record["status"] == "VALIDE"
    assert record["consent"]["online"] is True and record["consent"]["by"] == "self"
    assert record["consent"]["information_version"] == INFORMATION_VERSION
    assert contact_of(server) == ("email", EMAIL)
    with server.state.sessions() as db:
        trail = db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.patient_ins == JEANNE)
            .order_by(AuditEntry.id)
        ).all()
    assert trail[:2] == ["consent", "create"]
    server.clock.advance(seconds=61)
    with server.client() as client:
        twice = client.post("/v1/patient/creation", json=_asked(born))
    assert (twice.status_code, twice.json()["error"]) == (409, "dmp_exists")


def _no_dmp(server: Server) -> bool:
    with server.state.sessions() as db:
        return db.get(Dmp, JEANNE) is None


def _other(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_a_child_on_a_parent_card_and_guesses_are_refused(server: Server, mailbox: Mailbox) -> None:
    with server.client() as client:
        child = client.post("/v1/patient/creation", json=_asked(_born(server, LEO), nir=LEO))
        assert (child.status_code, child.json()["error"]) == (403, "identity_not_proven")
        born = _born(server, JEANNE)
        soon = client.post("/v1/patient/creation", json=_asked(born, serial="1111111111"))
        assert (soon.status_code, soon.json()["error"]) == (403, "identity_not_proven")
        too_soon = client.post("/v1/patient/creation", json=_asked(born))
        assert (too_soon.status_code, too_soon.json()["error"]) == (429, "resend_too_soon")
        statuses = []
        for guess in range(5):
            server.clock.advance(seconds=61)
            tried = client.post(
                "/v1/patient/creation", json=_asked(born, serial=f"22222222{guess}")
            )
            statuses.append((tried.status_code, tried.json()["error"]))
        assert statuses[:4] == [(403, "identity_not_proven")] * 4
        assert statuses[4] == (429, "too_many_codes")  # five proofs an hour per NIR
        server.clock.advance(seconds=61)
        old = client.post("/v1/patient/creation", json=_asked(born, information_version="2020-01"))
        assert (old.status_code, old.json()["error"]) == (409, "information_old")
        unticked = client.post("/v1/patient/creation", json=_asked(born, consent=False))
        assert unticked.status_code == 422
    assert mailbox.inbox == []  # no code went anywhere


def test_without_the_proof_a_confirmation_says_nothing_and_counts_as_a_try(
    server: Server, mailbox: Mailbox
) -> None:
    """Someone who knows the NIR but not the card: the same answer whether or not a creation
    is waiting, the real code untouched, and the try counted."""
    born = _born(server, JEANNE)
    with server.client() as client:
        assert client.post("/v1/patient/creation", json=_asked(born)).status_code == 202
        code = mailbox.code_for(EMAIL, subject="Créez votre DMP")
        guess = {"nir": JEANNE, "birth_date": born, "vitale_serial": "1111111111"}
        answers = [
            client.post("/v1/patient/creation/confirm", json={**guess, "code": "000000"})
            for _ in range(4)
        ]
        assert {(a.status_code, a.json()["error"]) for a in answers} == {
            (403, "identity_not_proven")
        }
        # Five tries this hour in all (one proof, four guesses): the next one is refused.
        server.clock.advance(seconds=61)
        more = client.post("/v1/patient/creation", json=_asked(born))
        assert (more.status_code, more.json()["error"]) == (429, "too_many_codes")
        proof = {"nir": JEANNE, "birth_date": born, "vitale_serial": SERIAL}
        done = client.post("/v1/patient/creation/confirm", json={**proof, "code": code})
    assert done.status_code == 201, done.text  # the patient's own code still works


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite: one writer at a time
def test_a_proof_is_counted_under_the_nirs_lock(server: Server) -> None:
    """Two requests for the same NIR at once would each count the same tries: the first holds
    the NIR's lock until it commits (PostgreSQL; SQLite has one writer at a time)."""
    born = _born(server, JEANNE)
    creations = server.state.online_creations
    proof = Proof(nir=JEANNE, birth_date=born, vitale_serial="4444444444")
    key = int(creations._nir_hash(proof)[:15], 16)
    probe = text("SELECT pg_try_advisory_xact_lock(:key)")
    with server.state.sessions() as first, server.state.sessions() as second:
        creations.ask(
            first,
            proof,
            information_version=INFORMATION_VERSION,
            contact=NotificationContact(channel=ContactChannel.EMAIL, address=EMAIL),
            emergency=EmergencyChoices(),
            now=server.state.now(),
            source="127.0.0.1",
        )
        assert second.scalar(probe, {"key": key}) is False  # held by the first, uncommitted
        first.commit()
        assert second.scalar(probe, {"key": key}) is True


def test_the_portals_code_page_is_not_kept_by_the_browser(server: Server) -> None:
    """It carries the NIR and the card's serial to the next step: never cached."""
    form = {
        "nir": JEANNE,
        **dict(
            zip(
                ("birth_year", "birth_month", "birth_day"),
                _born(server, JEANNE).split("-"),
                strict=True,
            )
        ),
        "vitale_serial": SERIAL,
        "information_version": INFORMATION_VERSION,
        "channel": "email",
        "address": EMAIL,
        "consent": "true",
    }
    with server.client() as client:
        blank = client.get("/patient/creation")  # its form cookie stays in the client
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', blank.text)
        assert token is not None
        page = client.post("/patient/creation", data={**form, "csrf": token.group(1)})
    assert page.status_code == 200 and "Code reçu" in page.text
    assert page.headers["cache-control"] == "no-store"


def _nir_not_in_register() -> str:
    body = "1790351215177"
    return f"{body}{97 - int(body) % 97:02d}"


def test_a_nir_in_the_register_or_not_gets_the_same_answers(server: Server) -> None:
    """Wrong proofs for a person the register knows and for one it does not: the same
    statuses and bodies at every step, throttles included."""
    born = _born(server, JEANNE)
    people = [(JEANNE, born), (_nir_not_in_register(), born)]
    steps: list[list[tuple[int, Any]]] = []
    with server.client() as client:
        for advance in (0, 0, 61, 61, 61, 61, 61):
            server.clock.advance(seconds=advance)
            steps.append(
                [
                    _said(client.post("/v1/patient/creation", json=_asked(b, "1111111111", n)))
                    for n, b in people
                ]
            )
        steps.append(
            [
                _said(
                    client.post(
                        "/v1/patient/creation/confirm",
                        json={
                            "nir": n,
                            "birth_date": b,
                            "vitale_serial": "1111111111",
                            "code": "123456",
                        },
                    )
                )
                for n, b in people
            ]
        )
    for known, unknown in steps:
        assert known == unknown
    assert [s[0][0] for s in steps] == [403, 429, 403, 403, 403, 403, 429, 429]


def _said(response: Any) -> tuple[int, Any]:
    return response.status_code, response.json()


def test_refused_creations_are_traced_and_counted_per_source(
    server: Server, settings: Settings
) -> None:
    tuned = settings.model_copy(update={"patient_source_per_minute": 2})
    server.state.patients.throttle.limits = AuthLimits.from_settings(tuned)
    born = _born(server, JEANNE)
    with server.client() as client:
        first = client.post("/v1/patient/creation", json=_asked(born, "1111111111"))
        assert (first.status_code, first.json()["error"]) == (403, "identity_not_proven")
        guess = {"nir": JEANNE, "birth_date": born, "vitale_serial": "2222222222"}
        second = client.post("/v1/patient/creation/confirm", json={**guess, "code": "123456"})
        assert (second.status_code, second.json()["error"]) == (403, "identity_not_proven")
        other = _asked(_born(server, LEO), nir=LEO)
        third = client.post("/v1/patient/creation", json=other)
    assert (third.status_code, third.json()["error"]) == (429, "too_many_from_source")
    assert 1 <= int(third.headers["retry-after"]) <= 60
    with server.state.sessions() as db:
        trail = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "online_creation").order_by(AuditEntry.id)
        ).all()
    assert [(e.outcome, e.patient_ins, e.detail) for e in trail] == [
        ("refused", None, "creation:identity_not_proven"),
        ("refused", None, "creation_confirm:identity_not_proven"),
    ]
    for entry in trail:
        for secret in (JEANNE, born, "1111111111", "2222222222", "123456"):
            assert secret not in entry.detail + entry.actor_id + entry.actor_name
