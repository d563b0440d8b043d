"""Helpers to create DMPs and documents through the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.support.central import Server

JEANNE = "279035121518989"  # adult, fixtures/identities.json
LEO = "115063523804211"  # child of CLAIRE
CLAIRE = "284027511234577"
PHARMACIST = "899700218896"
PHYSICIAN = "810100457828"


def create(server: Server, token: str, ins: str = JEANNE, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ins": ins, "consent": True, "information_version": "2026-01"}
    body.update(extra)
    with server.client(token) as client:
        response = client.post("/v1/dmp", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


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
        "content": f"contenu : {title}",
        "document_date": date,
        **extra,
    }
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
