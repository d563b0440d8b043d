"""Identity qualification: card traits -> qualified INS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from central.errors import BadConfiguration
from central.identity.service import IdentityRegister
from tests.support.aged import aged
from tests.support.central import ROOT, Server

REGISTER = ROOT / "fixtures" / "identities.json"
CLAIRE_NIR = "284027511234577"


def _qualify(server: Server, token: str, **traits: str) -> tuple[int, dict[str, object]]:
    with server.client(token) as client:
        response = client.post("/v1/identity/qualify", json=traits)
    return response.status_code, response.json()


def test_adult_child_and_twins(server: Server, tokens: dict[str, str]) -> None:
    token = tokens["agent"]
    code, adult = _qualify(
        server, token, nom="MARTIN", prenom="CLAIRE", birth_date=aged("1984-02-11"), nir=CLAIRE_NIR
    )
    assert code == 200 and adult["status"] == "qualified" and adult["ins"] == CLAIRE_NIR
    assert adult["oid"] == "1.2.250.1.213.1.4.10"
    # The child's card carries the parent's NIR; the child has an INS of their own.
    _, child = _qualify(
        server, token, nom="MARTIN", prenom="LEO", birth_date=aged("2015-06-30"), nir=CLAIRE_NIR
    )
    assert child["status"] == "qualified" and child["ins"] == "115063523804211"
    twins = [
        _qualify(
            server,
            token,
            nom="LE GALL",
            prenom=p,
            birth_date=aged("2018-04-12"),
            nir="180072216803180",
        )[1]["ins"]
        for p in ("NOLAN", "NOAH")
    ]
    assert twins == ["118042216805440", "118042216805539"]


def test_accents_case_and_hyphens_are_ignored(server: Server, tokens: dict[str, str]) -> None:
    _, result = _qualify(
        server,
        tokens["pharmacist"],
        nom="d'argent leveque de la tour du pin gouvernet",
        prenom="Marie Helene",
        birth_date=aged("1985-02-03"),
        nir="285022A00412355",
    )
    assert result["status"] == "qualified"
    traits = result["traits"]
    assert isinstance(traits, dict) and traits["prenoms"] == ["MARIE-HÉLÈNE", "ANNICK"]


def test_not_found_bad_nir_and_no_session(server: Server, tokens: dict[str, str]) -> None:
    _, missing = _qualify(
        server,
        tokens["agent"],
        nom="MARTIN",
        prenom="CLAIRE",
        birth_date=aged("1984-02-12"),
        nir=CLAIRE_NIR,
    )
    assert missing == {"status": "not_found"}
    code, bad = _qualify(
        server,
        tokens["agent"],
        nom="MARTIN",
        prenom="CLAIRE",
        birth_date=aged("1984-02-11"),
        nir="284027511234578",
    )
    assert (code, bad["error"]) == (422, "invalid_request")  # refused before any lookup
    assert bad["detail"].startswith("nir:") and bad["detail"].endswith("nir_key")
    with server.client() as client:
        anonymous = client.post(
            "/v1/identity/qualify",
            json={
                "nom": "MARTIN",
                "prenom": "CLAIRE",
                "birth_date": aged("1984-02-11"),
                "nir": CLAIRE_NIR,
            },
        )
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthenticated"


def test_ambiguous_when_two_people_match(tmp_path: Path) -> None:
    data = json.loads(REGISTER.read_text(encoding="utf-8"))
    twin = dict(next(p for p in data["persons"] if p["prenoms"] == ["NOLAN"]))
    twin["ins"] = "118042216805601"  # a second NOLAN under the same card: a register error
    data["persons"].append(twin)
    path = tmp_path / "identities.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    register = IdentityRegister.load(path)
    result = register.qualify(
        nom="LE GALL", prenom="NOLAN", birth_date=aged("2018-04-12"), nir="180072216803180"
    )
    assert result.status == "ambiguous" and result.person is None


def test_production_refuses_test_and_demo_oids() -> None:
    with pytest.raises(BadConfiguration, match="CENTRAL_IDENTITIES"):
        IdentityRegister.load(REGISTER, production=True)
