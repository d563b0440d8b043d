"""The health insurance's side of the feed: a program that enrols once with a one-time token,
then polls the records awaiting their history and posts 24 months of lines for each, every
request signed with its Ed25519 key (RFC 9421, as a kiosk's are).

The only module of the feed that speaks HTTP (httpx); every transport error and every error
answer becomes a FeedError here, carrying the service's code. No INS is ever logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from central.insurance.schemas import MAX_LINES, CareLineIn, CareLinesResult

__all__ = [
    "BATCH",
    "CareSource",
    "FeedClient",
    "FeedCredentials",
    "FeedError",
    "FeedReport",
    "RequestSigning",
]

logger = logging.getLogger(__name__)
BATCH = min(200, MAX_LINES)  # lines per request
_COVERED = ("@method", "@authority", "@path", "@query")  # and content-digest, which signing adds


class FeedError(Exception):
    """The service refused or could not be reached: `status` 0 when unreachable, `code`
    the service's error code."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class CareSource(Protocol):
    """Where the reimbursed care comes from (central.insurance.generator for tests and the
    demo; the insurance's own records in real life)."""

    def lines(self, ins: str, since: dt.date, until: dt.date) -> list[CareLineIn]: ...


@dataclass(frozen=True, slots=True)
class FeedCredentials:
    """The feed client's enrolled identity: its id, its site and its private key."""

    client_id: str
    site: str
    key: Ed25519PrivateKey

    def save(self, path: Path) -> None:
        """Write the credentials, readable by their owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "client_id": self.client_id,
            "site": self.site,
            "private_key": self.key.private_bytes_raw().hex(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out)

    @classmethod
    def load(cls, path: Path) -> FeedCredentials:
        """Read credentials written by save()."""
        body = json.loads(path.read_text(encoding="utf-8"))
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(body["private_key"]))
        return cls(str(body["client_id"]), str(body["site"]), key)


class RequestSigning(httpx.Auth):
    """Signs every request with the client's key (keyid = client id), a fresh nonce and
    creation time each time, over method, authority, path, query and the body's Content-Digest."""

    def __init__(self, client_id: str, key: Ed25519PrivateKey) -> None:
        self.client_id = client_id
        self._signer = HTTPMessageSigner(
            signature_algorithm=algorithms.ED25519,
            key_resolver=MappingKeyResolver(private_keys={client_id: key}, public_keys={}),
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        self._signer.sign(
            request,
            key_id=self.client_id,
            created=dt.datetime.now(dt.UTC),
            nonce=secrets.token_urlsafe(24),
            covered_component_ids=_COVERED,
            body=request.content,
        )
        yield request


@dataclass(frozen=True, slots=True)
class FeedReport:
    """One pass: records whose history was sent, lines stored, records refused."""

    records: int = 0
    stored: int = 0
    refused: int = 0


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
        code, detail = str(body.get("error", "")), str(body.get("detail", ""))
    except ValueError:
        code, detail = "", response.text[:200]
    raise FeedError(response.status_code, code or "http_error", detail)


class FeedClient:
    """The feed's connection to the service."""

    def __init__(
        self,
        base_url: str,
        credentials: FeedCredentials,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=RequestSigning(credentials.client_id, credentials.key),
            timeout=timeout_s,
            transport=transport,
        )

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    @staticmethod
    def enroll(
        base_url: str, token: str, *, transport: httpx.BaseTransport | None = None
    ) -> FeedCredentials:
        """Make a key and enrol it with a one-time token (`central enroll-token --kind
        insurance`); the service answers with the client's id."""
        key = Ed25519PrivateKey.generate()
        body = {"token": token, "public_key": key.public_key().public_bytes_raw().hex()}
        with httpx.Client(base_url=base_url.rstrip("/"), timeout=10.0, transport=transport) as c:
            answer = _call(partial(c.post, "/v1/kiosks/enroll", json=body))
        return FeedCredentials(str(answer["kiosk_id"]), str(answer["site"]), key)

    def pending(self) -> Iterator[tuple[str, dt.date]]:
        """Every record awaiting its history: (INS, first day of its 24 months)."""
        cursor: str | None = None
        while True:
            params = {"cursor": cursor} if cursor else {}
            page = _call(partial(self._http.get, "/v1/care-history/requests", params=params))
            for item in page["requests"]:
                yield str(item["ins"]), dt.date.fromisoformat(item["since"])
            cursor = page.get("next")
            if not cursor:
                return

    def send(self, ins: str, lines: list[CareLineIn], *, complete: bool) -> CareLinesResult:
        """Post one batch for one INS."""
        body = {"lines": [line.model_dump(mode="json") for line in lines], "complete": complete}
        answer = _call(partial(self._http.post, f"/v1/care-history/{ins}", json=body))
        return CareLinesResult.model_validate(answer)

    def send_history(self, ins: str, lines: list[CareLineIn]) -> int:
        """Post a record's lines in batches, the last marking its history complete; returns
        the lines stored."""
        stored = 0
        batches = [lines[i : i + BATCH] for i in range(0, len(lines), BATCH)] or [[]]
        for i, batch in enumerate(batches):
            stored += self.send(ins, batch, complete=i == len(batches) - 1).stored
        return stored

    def run_once(self, source: CareSource, today: dt.date) -> FeedReport:
        """One pass over the records awaiting their history: up to yesterday (a day's care
        is reimbursed later) from each record's first day. A record refused does not stop
        the others; it stays awaiting and is tried again on the next pass."""
        records = stored = refused = 0
        for ins, since in list(self.pending()):
            try:
                stored += self.send_history(
                    ins, source.lines(ins, since, today - dt.timedelta(days=1))
                )
                records += 1
            except FeedError as exc:
                if exc.status == 0 or exc.status >= 500 or exc.status == 401:
                    raise  # the service, not this record: stop the pass
                refused += 1
                logger.warning("a record's history was refused (%s %s)", exc.status, exc.code)
        return FeedReport(records=records, stored=stored, refused=refused)

    def run(
        self,
        source: CareSource,
        *,
        interval_s: float,
        stop: threading.Event,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        """Pass after pass until `stop` is set; an unreachable service is tried again."""
        while not stop.is_set():
            try:
                report = self.run_once(source, today())
                if report.records or report.refused:
                    logger.info(
                        "care history: %d records, %d lines stored, %d refused",
                        report.records,
                        report.stored,
                        report.refused,
                    )
            except FeedError as exc:
                if exc.status == 403:
                    raise  # revoked, or not a feed client: nothing to wait for
                logger.warning("care history pass failed (%s %s)", exc.status, exc.code)
            stop.wait(interval_s)


def _call(send: Callable[[], httpx.Response]) -> dict[str, Any]:
    try:
        response = send()
    except httpx.HTTPError as exc:
        raise FeedError(0, "unreachable", type(exc).__name__) from exc
    _raise_for(response)
    answer: dict[str, Any] = response.json()
    return answer
