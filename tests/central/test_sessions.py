"""Operator sessions: the card's attestation, verified against the professional CA."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.central import Professional, Server, make_professional, other_ca


def test_attestation_opens_a_session_with_identity_from_the_certificate(
    server: Server, pharmacist: Professional
) -> None:
    with server.client() as client:
        response = client.post("/v1/sessions", json=pharmacist.attestation())
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["id_nat"], body["nom"], body["card_type"], body["profession"], body["role"]) == (
        "899700218896",
        "DUPONT",
        "CPS",
        "21",
        "professionnel_sante",
    )
    with server.client(body["token"]) as client:
        assert client.delete("/v1/sessions/current").status_code == 204
        assert client.get("/v1/dmp/279035121518989/status").status_code == 401


@pytest.mark.parametrize(
    ("card", "role"),
    [
        (
            {"card_type": "CPE", "profession": None, "structure_id": "22009876500017"},
            "agent_administratif",
        ),
        ({"profession": "10", "structure_id": "350000139"}, "regulateur_samu"),
        ({"profession": "60", "structure_id": "350002812"}, "professionnel_sante"),
        ({"profession": "10", "structure_id": "29000123400018"}, "medecine_travail"),
        ({"profession": "10", "structure_id": "75200000000017"}, "assureur"),
        ({"card_type": "CPE", "profession": None, "structure_id": "44123456700011"}, "employeur"),
        ({"card_type": "CPE", "profession": None, "structure_id": "30002005500011"}, "banque"),
        ({"profession": "99", "structure_id": "220078901"}, "agent_administratif"),
    ],
)
def test_role_comes_from_card_and_structure(
    server: Server, card: dict[str, str], role: str
) -> None:
    pro = make_professional(id_nat="899700111111", **card)  # type: ignore[arg-type]
    with server.client() as client:
        response = client.post("/v1/sessions", json=pro.attestation())
    assert response.status_code == 201, response.text
    assert response.json()["role"] == role


def test_refusals(server: Server, pharmacist: Professional) -> None:
    pirate = make_professional(id_nat="899700666666", ca=other_ca())
    good = pharmacist.attestation()
    tampered = dict(good, session_id="another-session")
    elsewhere = dict(good, kiosk_id="kiosk-other")  # signed at this kiosk, made for another
    stale = pharmacist.attestation(issued_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    with server.client() as client:
        assert (
            client.post("/v1/sessions", json=pirate.attestation()).json()["error"]
            == "bad_certificate"
        )
        assert client.post("/v1/sessions", json=tampered).json()["error"] == "bad_signature"
        assert client.post("/v1/sessions", json=elsewhere).json()["error"] == "wrong_kiosk"
        assert client.post("/v1/sessions", json=stale).json()["error"] == "stale_attestation"
        assert client.post("/v1/sessions", json=good).status_code == 201
        replay = client.post("/v1/sessions", json=good)
        assert (replay.status_code, replay.json()["error"]) == (401, "replayed_attestation")
        bad = client.post("/v1/sessions", json=dict(good, certificate="!!notbase64!!" * 10))
        assert bad.status_code == 400
