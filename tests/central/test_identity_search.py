"""A patient without a Vitale card: the operator checked an identity document and types its
strict traits (POST /v1/identity/search). One service per database for the module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from central.audit.models import AuditEntry
from central.config import Settings
from central.identity.models import PatientPresence
from tests.support.aged import aged
from tests.support.central import (
    Professional,
    Server,
    database_for,
    login,
    make_professional,
    start_server,
    wipe,
)
from tests.support.dmp import JEANNE, patient_token

AGENT = "3220098765ENIM42"


def _nir(first13: str) -> str:
    return f"{first13}{97 - int(first13) % 97:02d}"


# Two women of the same name, first name, birth date and sex, born in Brest and in Lannion:
# only the birth place tells them apart.
BREST = _nir("2920329019123")
LANNION = _nir("2920322113045")
HOMONYMS = [
    {
        "ins": ins,
        "oid": "1.2.250.1.213.1.4.10",
        "nom_naissance": "GUÉGUEN",
        "prenoms": ["MAÏWENN"],
        "sexe": "F",
        "birth_date": aged("1992-03-14"),
        "birth_place": place,
    }
    for ins, place in ((BREST, "29019"), (LANNION, "22113"))
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, identities: Path
) -> Iterator[Server]:
    url, engine = database_for(request.param, tmp_path_factory.getbasetemp())
    wipe(engine)
    home = tmp_path_factory.mktemp("search")
    register = json.loads(identities.read_text(encoding="utf-8"))
    register["persons"].extend(HOMONYMS)
    (home / "identities.json").write_text(json.dumps(register), encoding="utf-8")
    running = start_server(
        Settings(db=url, identities=home / "identities.json", home=home, portal_url="http://p.test")
    )
    yield running
    running.stop()


def _search(server: Server, token: str | None, **body: Any) -> tuple[int, dict[str, Any]]:
    body.setdefault("document", "passeport")  # the identity document checked, always said
    with server.client(token) as client:
        response = client.post("/v1/identity/search", json=body)
    return response.status_code, dict(response.json())


def _traced(server: Server, actor_id: str) -> list[tuple[str, str | None, str]]:
    with server.state.sessions() as db:
        rows = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor_id == actor_id, AuditEntry.action == "identity_qualify")
            .order_by(AuditEntry.id)
        ).all()
        return [(e.outcome, e.patient_ins, e.detail) for e in rows]


def _presences(server: Server, ins: str) -> int:
    with server.state.sessions() as db:
        count = db.scalar(select(func.count()).where(PatientPresence.ins == ins))
        return int(count or 0)


def test_the_one_person_found_is_present_for_the_session(
    server: Server, agent: Professional
) -> None:
    token = login(server, agent)
    creation = {"ins": JEANNE, "consent": True, "information_version": "2026-01"}
    with server.client(token) as client:
        absent = client.post("/v1/dmp", json=creation)
    assert (absent.status_code, absent.json()["error"]) == (403, "patient_absent")

    code, found = _search(
        server, token, nom="Bernard", prenom="jeanne", birth_date=aged("1979-03-28"), sexe="F"
    )
    assert code == 200
    assert found == {
        "status": "qualified",
        "ins": JEANNE,
        "oid": "1.2.250.1.213.1.4.10",
        "traits": {
            "nom_naissance": "BERNARD",
            "prenoms": ["JEANNE"],
            "sexe": "F",
            "birth_date": aged("1979-03-28"),
            "birth_place": "51215",
        },
    }
    with server.client(token) as client:  # the rules now see the patient at the counter
        created = client.post("/v1/dmp", json=creation)
    assert created.status_code == 201
    assert _traced(server, AGENT) == [("qualified", JEANNE, "search;passeport")]
    # Found by traits anyone could type: the DMP could be created, its access not changed.
    with server.client(token) as client:
        reissue = client.post(f"/v1/dmp/{JEANNE}/activation", json={})
    assert (reissue.status_code, reissue.json()["error"]) == (403, "vitale_card_required")
    # The patient's log says what happened: a search on a document, not a card read.
    sheet = {**created.json(), "birth_date": aged("1979-03-28")}  # asked with the sheet
    with server.client(patient_token(server, sheet)) as client:
        events = [entry["event"] for entry in client.get("/v1/patient/access-log").json()]
    assert "searched_identity" in events and "read_card" not in events


def test_only_the_first_first_name_and_every_given_trait_count(
    server: Server, pharmacist: Professional
) -> None:
    token = login(server, pharmacist)
    marie = {
        "nom": "d'Argent-Lévêque de la Tour du Pin-Gouvernet",
        "birth_date": aged("1985-02-03"),
        "sexe": "F",
    }
    assert _search(server, token, prenom="marie helene", **marie)[1]["ins"] == "285022A00412355"
    assert _search(server, token, prenom="Annick", **marie)[1] == {"status": "not_found"}
    assert _search(server, token, **(marie | {"prenom": "Marie-Hélène", "sexe": "M"}))[1] == {
        "status": "not_found"
    }

    maiwenn = {"nom": "Gueguen", "prenom": "Maiwenn", "birth_date": aged("1992-03-14")}
    assert _search(server, token, sexe="F", **maiwenn)[1] == {"status": "ambiguous"}
    assert _search(server, token, sexe="F", birth_place="29019", **maiwenn)[1]["ins"] == BREST
    assert _search(server, token, sexe="F", birth_place="22113", **maiwenn)[1]["ins"] == LANNION
    assert _search(server, token, sexe="F", birth_place="35238", **maiwenn)[1] == {
        "status": "not_found"
    }
    assert [outcome for outcome, _, _ in _traced(server, pharmacist.id_nat)] == [
        "qualified",
        "not_found",
        "not_found",
        "ambiguous",
        "qualified",
        "qualified",
        "not_found",
    ]
    # Present: only the one person each search designated.
    assert (_presences(server, BREST), _presences(server, LANNION)) == (1, 1)


def test_refusals_are_clear(server: Server) -> None:
    insurer_card = make_professional(id_nat="810100777779", structure_id="75200000000017")
    insurer = login(server, insurer_card)
    jeanne = {
        "nom": "BERNARD",
        "prenom": "JEANNE",
        "birth_date": aged("1979-03-28"),
        "sexe": "F",
        "document": "passeport",
    }

    assert _search(server, insurer, **jeanne) == (
        403,
        {"error": "forbidden_party", "detail": "identity qualification is forbidden to this party"},
    )
    assert _traced(server, insurer_card.id_nat) == [("refused", None, "forbidden_party")]
    code, body = _search(server, None, **jeanne)
    assert (code, body["error"]) == (401, "unauthenticated")
    with server.client(insurer, kiosk=False) as client:
        unsigned = client.post("/v1/identity/search", json=jeanne)
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "bad_request_signature")

    for bad, field in (
        ({"sexe": "X"}, "sexe"),
        ({"birth_place": "7505"}, "birth_place"),
        ({"birth_place": "2C004"}, "birth_place"),
        ({"birth_date": "28/03/1979"}, "birth_date"),
        ({"nom": "B" * 121}, "nom"),
        ({"nir": JEANNE}, "nir"),  # a search carries no NIR: a card's traits go to /qualify
        ({"document": "carte_bancaire"}, "document"),
    ):
        code, body = _search(server, None, **(jeanne | bad))  # refused before anything
        assert (code, body["error"]) == (422, "invalid_request"), bad
        assert body["detail"].startswith(f"{field}:"), body
    with httpx.Client(base_url=server.url) as client:
        huge = client.post("/v1/identity/search", json=jeanne | {"nom": "B" * 70_000})
    assert (huge.status_code, huge.json()["error"]) == (413, "body_too_large")
