"""Helpers to create DMPs and documents through the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import select

from central.dmp.models import Dmp
from dmpcommon.actions import CardTraits, DmpCreated
from tests.support.aged import aged
from tests.support.central import Server

JEANNE = "279035121518989"  # adult, fixtures/identities.json
LEO = "115063523804211"  # child of CLAIRE
CLAIRE = "284027511234577"
PHARMACIST = "899700218896"
PHYSICIAN = "810100457828"


def card_traits(server: Server, ins: str) -> dict[str, str]:
    """What the patient's Vitale card says (the register's traits; a child's card carries the
    holder's NIR)."""
    person = server.state.register.by_ins(ins)
    assert person is not None, "not a person of fixtures/identities.json"
    return {
        "nom": person.nom_naissance,
        "prenom": person.prenoms[0],
        "birth_date": person.birth_date,
        "nir": person.opening_holder_nir or person.ins,
    }


def present(server: Server, token: str, ins: str) -> None:
    """The patient at the counter: their card read and qualified in this operator session."""
    with server.client(token) as client:
        response = client.post("/v1/identity/qualify", json=card_traits(server, ins))
    assert response.status_code == 200, response.text
    assert response.json()["ins"] == ins


def create(server: Server, token: str, ins: str = JEANNE, **extra: Any) -> dict[str, Any]:
    """Create a DMP at the counter, the patient present."""
    present(server, token, ins)
    body: dict[str, Any] = {"ins": ins, "consent": True, "information_version": "2026-01"}
    body.update(extra)
    with server.client(token) as client:
        response = client.post("/v1/dmp", json=body)
    assert response.status_code == 201, response.text
    created = dict(response.json())
    with server.state.sessions() as db:
        dmp = db.get(Dmp, ins)
        assert dmp is not None
        created["birth_date"] = dmp.birth_date  # asked with the sheet at activation
    return created


def add_doc(
    server: Server,
    token: str,
    ins: str,
    category: str,
    title: str,
    *,
    days_ago: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    date = (dt.date.today() - dt.timedelta(days=days_ago)).isoformat()
    body = {
        "category": category,
        "title": title,
        "document_date": date,
        **extra,
    }
    if "file" not in body:  # a text, unless a file is given (tests.support.documents.file_in)
        body.setdefault("content", f"contenu : {title}")
    with server.client(token) as client:
        response = client.post(f"/v1/dmp/{ins}/documents", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def open_record(
    server: Server, token: str, ins: str, mode: str = "normal", **reason: str
) -> tuple[int, dict[str, Any]]:
    with server.client(token) as client:
        response = client.post(f"/v1/dmp/{ins}/open", json={"mode": mode, **reason})
    return response.status_code, dict(response.json())


def titles(summary: dict[str, Any]) -> set[str]:
    return {doc["title"] for key, docs in summary.items() if isinstance(docs, list) for doc in docs}


def patient_token(server: Server, created: dict[str, Any]) -> str:
    """The patient's first log-in with their access sheet (identifier and activation code)."""
    body = {
        "identifier": created["access_identifier"],
        "code": created["activation_code"],
        "birth_date": created["birth_date"],
    }
    with server.client() as client:
        response = client.post("/v1/patient/activate", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def patient_sets(server: Server, patient: str, id_nat: str, action: str) -> httpx.Response:
    """The patient authorises, revokes, blocks or unblocks a professional."""
    with server.client(patient) as client:
        return client.put(f"/v1/patient/professionals/{id_nat}", json={"action": action})


def operator_sets(
    server: Server, token: str, ins: str, id_nat: str, action: str, **extra: Any
) -> httpx.Response:
    """An operator asks for a change of authorisation on a record."""
    with server.client(token) as client:
        return client.put(f"/v1/dmp/{ins}/professionals/{id_nat}", json={"action": action, **extra})


def queued_creation(server: Server, ins: str, **extra: Any) -> DmpCreated:
    """A creation as an offline kiosk queues it: with the card's traits, which the service
    qualifies (the patient present) before it creates."""
    return DmpCreated(
        identity=CardTraits(**card_traits(server, ins)),
        consent=True,
        information_version="2026-01",
        **extra,
    )


def contact_of(server: Server, ins: str = JEANNE) -> tuple[str | None, str | None]:
    """The DMP's notification contact as the service stores it: (channel, address)."""
    with server.state.sessions() as db:
        dmp = db.scalar(select(Dmp).where(Dmp.ins == ins))
        assert dmp is not None
        return dmp.notify_channel, dmp.notify_address


def claires_child(server: Server, token: str, child: str = LEO, **extra: Any) -> dict[str, Any]:
    """A child's record created at the counter with their mother, Claire, as representative
    (her number recorded), her mobile as its contact, the pharmacist authorised."""
    claire = {"nom": "MARTIN", "prenom": "CLAIRE", "birth_date": aged("1984-02-11"), "nir": CLAIRE}
    body: dict[str, Any] = {
        "representative": claire,
        "contact": {"channel": "sms", "address": "06 00 00 00 02"},
        "authorised_professionals": [PHARMACIST],
    }
    return create(server, token, child, **(body | extra))
