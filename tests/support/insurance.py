"""The health insurance's feed under test: enrolled over HTTP as the program enrols, its
signed client, and care lines to post."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from central.insurance.client import FeedClient, FeedCredentials, RequestSigning
from central.sync.service import ClientKind, issue_token
from tests.support.central import Server

SITE = "Assurance Maladie"


def enrol_feed(server: Server, site: str = SITE) -> FeedCredentials:
    """A feed client enrolled with a one-time token of kind insurance, as `central
    enroll-token --kind insurance` then `central feed enroll` do."""
    with server.state.sessions() as db, db.begin():
        token = issue_token(
            db,
            key=server.state.keys.secret,
            site=site,
            hours=1,
            now=server.state.now(),
            kind=ClientKind.INSURANCE,
        )
    return FeedClient.enroll(server.url, token)


def signed_by_feed(
    server: Server, credentials: FeedCredentials, token: str | None = None
) -> httpx.Client:
    """A plain HTTP client whose requests the feed's key signs (with an operator's bearer
    token, if given): to knock on doors that are not the feed's."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=server.url,
        headers=headers,
        timeout=30,
        auth=RequestSigning(credentials.client_id, credentials.key),
    )


def care_line(line_id: str, care_date: dt.date, **extra: Any) -> dict[str, Any]:
    """A line as the insurance posts it (a dispensed medicine unless told)."""
    return {
        "line_id": line_id,
        "care_date": care_date.isoformat(),
        "nature": "pharmacie",
        "code_system": "CIP13",
        "code": "3400935955838",
        "label": "DOLIPRANE 1000 mg, comprimé, boîte de 8",
        "quantity": 1,
        "executant": "Pharmacie du Port, Lorient",
        **extra,
    }
