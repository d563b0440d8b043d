"""The health insurance's feed of reimbursed care, over real HTTP on PostgreSQL: a record
created today shows its 24 months after one pass of the feed program; a line is stored once
by its identifier; what is older than 24 months is not shown; the feed is a system client
let through its own doors only, and a kiosk through none of them.

One server for the module (the feed's rules need no fresh database per test); each test
works on its own record.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from central.actors import Actor
from central.audit.models import AuditEntry
from central.config import Settings
from central.dmp.common import care_history, history_horizon
from central.dmp.models import CareHistoryRequest
from central.dmp.schemas import CodeSystem
from central.insurance import client as insurance_client
from central.insurance.client import FeedClient, FeedCredentials, FeedError
from central.insurance.codes import CodeProblem, check_code
from central.insurance.generator import CareGenerator, CareTable
from central.notify.models import OutboxMessage
from central.patient.record import access_log, read_record
from central.portal.wording import ROLE_LABELS
from central.sync.service import revoke
from dmpcommon.vocabulary import Role
from tests.support.central import (
    ROOT,
    Server,
    database_for,
    fixture_professional,
    login,
    run_sql,
    start_server,
    wipe,
)
from tests.support.dmp import CLAIRE, JEANNE, PHARMACIST, create, open_record
from tests.support.insurance import SITE, care_line, enrol_feed, signed_by_feed

ADULT = "180072216803180"  # Yann, a third adult of fixtures/identities.json
NO_DMP = "290122901906683"  # Soizic, whose record nobody creates here
ERWAN = "172053528801495"  # the command line's record


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, identities: Path) -> Iterator[Server]:
    url, engine = database_for("postgresql", tmp_path_factory.getbasetemp())
    wipe(engine)
    running = start_server(
        Settings(
            db=url,
            identities=identities,
            home=tmp_path_factory.mktemp("care"),
            portal_url="http://portail.test/patient",
        )
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def pharmacist_token(server: Server) -> str:
    return login(server, fixture_professional(PHARMACIST))


@pytest.fixture(scope="module")
def feed(server: Server) -> FeedCredentials:
    return enrol_feed(server)


def _post(server: Server, feed: FeedCredentials, ins: str, body: dict[str, Any]) -> Any:
    with signed_by_feed(server, feed) as client:
        return client.post(f"/v1/care-history/{ins}", json=body)


def _care_messages(server: Server, ins: str) -> list[str]:
    with server.state.sessions() as db:
        return list(
            db.scalars(
                select(OutboxMessage.body).where(
                    OutboxMessage.dedup_key.startswith(f"care_history:{ins}")
                    | OutboxMessage.dedup_key.startswith(f"care_lines:{ins}")
                )
            )
        )


def test_a_new_record_shows_its_24_months_after_one_pass_of_the_feed(
    server: Server, pharmacist_token: str, feed: FeedCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(insurance_client, "BATCH", 10)  # the 24 months in several batches
    create(
        server,
        pharmacist_token,
        JEANNE,
        authorised_professionals=[PHARMACIST],
        contact={"channel": "email", "address": "jeanne.bernard@exemple.test"},
    )
    today = server.state.now().date()
    source = CareGenerator(CareTable.load(), seed=17)
    expected = source.lines(JEANNE, history_horizon(today), today - dt.timedelta(days=1))
    assert len(expected) > 20  # guard: two years of someone's care, not an empty pass
    with FeedClient(server.url, feed) as client:
        assert JEANNE in {ins for ins, _ in client.pending()}
        report = client.run_once(source, today)
        assert report.records >= 1 and report.stored >= len(expected) and report.refused == 0
        assert JEANNE not in {ins for ins, _ in client.pending()}  # fulfilled: not awaited
        # The same lines again (a feed restarted mid-way): stored once, told once.
        again = client.send(JEANNE, expected, complete=True)
        assert (again.stored, again.already_stored) == (0, len(expected))

    status, summary = open_record(server, pharmacist_token, JEANNE)
    assert status == 200
    shown = summary["care_lines"]
    assert sorted(line["line_id"] for line in shown) == sorted(x.line_id for x in expected)
    assert {line["code_system"] for line in shown} >= {"CIP13", "NGAP"}
    assert shown[0]["care_date"] >= shown[-1]["care_date"]  # newest first
    with server.state.sessions() as db:
        request = db.get(CareHistoryRequest, JEANNE)
        assert request is not None and request.fulfilled_at is not None
        assert request.since == history_horizon(today)
        trail = db.execute(
            select(
                AuditEntry.actor_id, AuditEntry.actor_name, AuditEntry.outcome, AuditEntry.detail
            ).where(AuditEntry.patient_ins == JEANNE, AuditEntry.action == "care_lines")
        ).all()
        patient = Actor(f"patient:{JEANNE}", "Jeanne", Role.PATIENT, "s", patient_ins=JEANNE)
        log = [e for e in access_log(db, patient) if e.event == "received_care_lines"]
        portal = read_record(db, patient, server.state.now()).care_lines  # the patient's view
    # One entry per batch that brought lines, in the feed's name, counting them (no code).
    assert len(trail) == -(-len(expected) // 10)
    assert {row[:3] for row in trail} == {(feed.client_id, SITE, "done")}
    assert sum(int(row.detail.removeprefix("lines=")) for row in trail) == len(expected)
    assert {(e.who, e.outcome) for e in log} == {(SITE, "done")} and len(log) == len(trail)
    assert {ROLE_LABELS[e.role] for e in log} == {"Assurance Maladie (soins remboursés)"}
    assert [x.line_id for x in portal] == [x["line_id"] for x in shown]
    messages = _care_messages(server, JEANNE)
    assert len(messages) == 1 and "Assurance Maladie" in messages[0]
    assert not any(x.label in messages[0] or x.code in messages[0] for x in expected)


def test_a_line_is_stored_once_and_what_is_older_than_24_months_is_not_shown(
    server: Server, pharmacist_token: str, feed: FeedCredentials
) -> None:
    create(server, pharmacist_token, CLAIRE, authorised_professionals=[PHARMACIST])
    today = server.state.now().date()
    recent = care_line("am-recent-1", today - dt.timedelta(days=10))
    old = care_line("am-old-1", today - dt.timedelta(days=25 * 31))  # 25 months back
    first = _post(server, feed, CLAIRE, {"lines": [recent, old, recent]})
    assert first.status_code == 200, first.text
    assert first.json() == {"stored": 1, "already_stored": 0, "too_old": 1, "fulfilled": False}
    resent = _post(server, feed, CLAIRE, {"lines": [recent], "complete": True})
    assert resent.json() == {"stored": 0, "already_stored": 1, "too_old": 0, "fulfilled": True}
    changed = _post(server, feed, CLAIRE, {"lines": [recent | {"quantity": 2}]})
    assert (changed.status_code, changed.json()["error"]) == (409, "line_conflict")
    twice = _post(server, feed, CLAIRE, {"lines": [recent, recent | {"label": "autre"}]})
    assert (twice.status_code, twice.json()["error"]) == (409, "line_conflict")

    _, summary = open_record(server, pharmacist_token, CLAIRE)
    assert [(x["line_id"], x["quantity"]) for x in summary["care_lines"]] == [("am-recent-1", 1)]
    # A line kept leaves the view once it is 24 months old.
    with server.state.sessions() as db:
        assert [x.line_id for x in care_history(db, CLAIRE, today)] == ["am-recent-1"]
        later = today + dt.timedelta(days=2 * 366)
        assert care_history(db, CLAIRE, later) == []


def test_the_feed_goes_through_its_own_doors_only(
    server: Server, pharmacist_token: str, feed: FeedCredentials
) -> None:
    create(server, pharmacist_token, ADULT, authorised_professionals=[PHARMACIST])
    today = server.state.now().date()
    body = {"lines": [care_line("am-x-1", today - dt.timedelta(days=3))]}
    # A kiosk (the test kiosk's key) may neither list the awaited records nor post lines.
    with server.client() as kiosk:
        assert kiosk.get("/v1/care-history/requests").json()["error"] == "wrong_client"
        refused = kiosk.post(f"/v1/care-history/{ADULT}", json=body)
        assert (refused.status_code, refused.json()["error"]) == (403, "wrong_client")
    with server.client(kiosk=False) as nobody:
        assert nobody.post(f"/v1/care-history/{ADULT}", json=body).status_code == 401
    # The feed's key opens no operator's door, even with an operator's session, nor the sync.
    with signed_by_feed(server, feed, pharmacist_token) as as_operator:
        for response in (
            as_operator.post(f"/v1/dmp/{ADULT}/open", json={"mode": "normal"}),
            as_operator.get(f"/v1/dmp/{ADULT}/status"),
            as_operator.post("/v1/sync/batch", json={"kiosk_id": feed.client_id, "items": []}),
        ):
            assert (response.status_code, response.json()["error"]) == (403, "wrong_client")
    # Its own doors check what it sends.
    unknown = _post(server, feed, NO_DMP, body)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "no_dmp")
    future = care_line("am-x-2", today + dt.timedelta(days=2))
    assert _post(server, feed, ADULT, {"lines": [future]}).json()["error"] == (
        "care_date_in_future"
    )
    bad_key = care_line("am-x-3", today, code="3400935955839")
    assert _post(server, feed, ADULT, {"lines": [bad_key]}).status_code == 422
    too_many = {"lines": [care_line(f"am-n-{i}", today) for i in range(501)]}
    assert _post(server, feed, ADULT, too_many).status_code == 422
    # A closed record refuses new lines (traced) and is no longer awaited.
    run_sql(server.state.engine, "UPDATE dmps SET status = 'FERME' WHERE ins = :ins", ins=ADULT)
    closed = _post(server, feed, ADULT, body)
    assert (closed.status_code, closed.json()["error"]) == (403, "dmp_closed")
    with FeedClient(server.url, feed) as client:
        assert ADULT not in {ins for ins, _ in client.pending()}
    run_sql(server.state.engine, "UPDATE dmps SET status = 'VALIDE' WHERE ins = :ins", ins=ADULT)
    reopened = _post(server, feed, ADULT, {"lines": [], "complete": True})
    assert reopened.json()["fulfilled"] is True
    with server.state.sessions() as db:
        refusals = db.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.action == "care_lines", AuditEntry.outcome == "refused"
            )
        ).all()
    assert sorted(refusals) == ["dmp_closed", "no_dmp"]
    # Revoked, a feed client is refused like a revoked kiosk.
    other = enrol_feed(server)
    assert _post(server, other, ADULT, {"lines": []}).status_code == 200
    with server.state.sessions() as db, db.begin():
        revoke(db, other.client_id, server.state.now())
    with FeedClient(server.url, other) as client, pytest.raises(FeedError) as revoked:
        client.send(ADULT, [], complete=True)
    assert (revoked.value.status, revoked.value.code) == (403, "kiosk_revoked")


def _central(*args: str, home: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "central", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        input=stdin,
        env={**os.environ, "CENTRAL_HOME": str(home)},
    )


def test_the_feed_program_enrols_with_a_token_and_runs_from_the_command_line(
    server: Server, pharmacist_token: str, tmp_path: Path
) -> None:
    create(server, pharmacist_token, ERWAN, authorised_professionals=[PHARMACIST])
    home, key = server.state.settings.home, tmp_path / "feed.json"
    token = _central(
        "enroll-token",
        "--site",
        SITE,
        "--kind",
        "insurance",
        "--db",
        server.state.settings.db or "",
        home=home,
    )
    assert token.returncode == 0, token.stderr
    enrol = ("feed", "enroll", "--central", server.url, "--credentials", str(key))
    secret = token.stdout.strip().splitlines()[-1]
    enrolled = _central(*enrol, "--token-file", "-", home=home, stdin=secret + "\n")
    assert enrolled.returncode == 0, enrolled.stderr
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    run = ("feed", "run", "--central", server.url, "--credentials", str(key), "--once")
    ran = _central(*run, home=home)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("historique de soins : ") and " 0 refusé(s)" in ran.stdout
    assert ERWAN not in ran.stdout + ran.stderr  # no INS on screen or in the logs
    with server.state.sessions() as db:
        request = db.get(CareHistoryRequest, ERWAN)
        assert request is not None and request.fulfilled_at is not None
        assert care_history(db, ERWAN, server.state.now().date()) != []


@pytest.mark.parametrize(
    ("system", "code", "good"),
    [
        (CodeSystem.CIP13, "3400935955838", True),
        (CodeSystem.CIP13, "3400935955839", False),  # key digit
        (CodeSystem.CIP13, "340093595583", False),
        (CodeSystem.NABM, "1104", True),
        (CodeSystem.NABM, "110", False),
        (CodeSystem.CCAM, "ZBQK002", True),
        (CodeSystem.CCAM, "zbqk002", False),
        (CodeSystem.NGAP, "G", True),
        (CodeSystem.NGAP, "AMI 1.5", True),
        (CodeSystem.NGAP, "AMI1,5", False),
    ],
)
def test_codes_are_checked_by_their_system(system: CodeSystem, code: str, good: bool) -> None:
    if good:
        check_code(system, code)
    else:
        with pytest.raises(CodeProblem):
            check_code(system, code)


def test_the_generator_is_deterministic_and_draws_real_codes_only() -> None:
    table = CareTable.load()  # every code of the table passes its system's check
    assert {c.system for c in table.codes} == set(CodeSystem)
    since, until = dt.date(2024, 3, 1), dt.date(2026, 2, 28)
    lines = CareGenerator(table, seed=3).lines(JEANNE, since, until)
    assert lines == CareGenerator(table, seed=3).lines(JEANNE, since, until)
    assert lines != CareGenerator(table, seed=3).lines(CLAIRE, since, until)
    assert all(since <= x.care_date <= until for x in lines)
    assert {(x.code_system, x.code) for x in lines} <= {(c.system, c.code) for c in table.codes}
    # A later pass over a shorter range sends the same identifiers for the same care.
    tail = CareGenerator(table, seed=3).lines(JEANNE, dt.date(2025, 1, 1), until)
    assert tail == [x for x in lines if x.care_date >= dt.date(2025, 1, 1)]
