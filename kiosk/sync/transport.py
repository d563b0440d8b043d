"""HTTP to the central service: the only module that imports `requests`.

Every `requests` exception and every error answer becomes a SyncError here; nothing above
sees a `requests` type.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import socket
import urllib.parse
from dataclasses import dataclass
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import MappingKeyResolver
from requests_http_signature import HTTPSignatureAuth, algorithms

from kiosk.core.errors import CentralRefusedError, CentralUnreachableError

__all__ = ["COVERED_COMPONENTS", "CentralClient", "EnrollResult", "RequestSigner"]

# What the central service requires a request's signature to cover (RFC 9421): the query
# too (it names the patient, the mode, the reason); the body is covered through its
# Content-Digest, which the signer adds.
COVERED_COMPONENTS = ("@method", "@authority", "@path", "@query")
# Beyond this, the kiosk corrects its signatures' creation time by the service's clock.
_SKEW_TOLERATED = dt.timedelta(seconds=10)


class RequestSigner(HTTPSignatureAuth):
    """RFC 9421 signature of a request with the kiosk's device key (keyid = kiosk id).

    Every request gets a fresh nonce and creation time, so a retry is a new signature. A kiosk
    clock that is off is corrected by `clock_offset`, learnt from the service's Date header.
    """

    def __init__(self, kiosk_id: str, key: Ed25519PrivateKey) -> None:
        super().__init__(
            signature_algorithm=algorithms.ED25519,
            key_id=kiosk_id,
            key_resolver=MappingKeyResolver(private_keys={kiosk_id: key}, public_keys={}),
            covered_component_ids=COVERED_COMPONENTS,
            use_nonce=True,
        )
        self.clock_offset = dt.timedelta(0)

    def get_created(self, request: requests.PreparedRequest) -> dt.datetime:
        created = dt.datetime.now() + self.clock_offset
        self.add_date(request, timestamp=int(created.timestamp()))
        return created

    def learn_clock(self, response: requests.Response) -> bool:
        """Take the service's clock from its Date header; True if the offset changed."""
        try:
            server = email.utils.parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError):
            return False
        offset = server - dt.datetime.now(dt.UTC)
        if abs(offset - self.clock_offset) <= _SKEW_TOLERATED:
            return False
        self.clock_offset = offset
        return True


@dataclass(frozen=True, slots=True)
class EnrollResult:
    """What enrolment gives the kiosk."""

    kiosk_id: str
    site: str
    central_key: bytes


class CentralClient:
    """A session to the central service, with a timeout on every request."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        signer: RequestSigner | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.signer = signer
        self.session = session or requests.Session()

    def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        signed: bool,
        token: str | None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        if signed and self.signer is None:
            raise CentralRefusedError(0, "not_enrolled", "this kiosk has no device key yet")
        # An enrolled kiosk signs every request: the service serves operators only at an
        # enrolled kiosk (only enrolment itself, before there is a key, goes unsigned).
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            return self.session.request(
                method,
                f"{self.base_url}{path}",
                json=body,
                params=params,
                headers=sent or None,
                timeout=self.timeout_s,
                auth=self.signer,
                stream=stream,
            )
        except requests.RequestException as exc:
            raise CentralUnreachableError(type(exc).__name__) from exc

    def _post(self, path: str, body: dict[str, Any], *, signed: bool = False) -> dict[str, Any]:
        return self.request("POST", path, body, signed=signed)

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        signed: bool = False,
        token: str | None = None,
    ) -> dict[str, Any]:
        """One JSON request; errors become CentralUnreachableError / CentralRefusedError."""
        response = self._send(method, path, body, signed=signed, token=token)
        if (
            response.status_code == 401
            and self.signer is not None
            and self.signer.learn_clock(response)
        ):
            # The kiosk's clock is off (days offline, a flat clock battery): sign again with
            # the service's time rather than stall the queue.
            response = self._send(method, path, body, signed=signed, token=token)
        if response.status_code >= 500:
            raise CentralUnreachableError(f"HTTP {response.status_code}")
        if response.status_code == 204:  # done, nothing to say
            return {}
        try:
            document = response.json()
        except ValueError as exc:
            raise CentralUnreachableError("answer is not JSON") from exc
        if response.status_code >= 400:
            raise CentralRefusedError(
                response.status_code,
                str(document.get("error", "")),
                str(document.get("detail", "")),
            )
        if not isinstance(document, dict):
            raise CentralUnreachableError("unexpected answer")
        return document

    def download(
        self,
        path: str,
        *,
        token: str,
        max_bytes: int,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[str, bytes]:
        """GET a file: its Content-Type and bytes, read no further than `max_bytes`; errors
        as request()'s (an error answer is JSON)."""

        def send() -> requests.Response:
            return self._send(
                "GET",
                path,
                None,
                signed=False,
                token=token,
                params=params,
                headers=headers,
                stream=True,
            )

        response = send()
        if (
            response.status_code == 401
            and self.signer is not None
            and self.signer.learn_clock(response)
        ):
            response.close()
            response = send()
        with response:
            if response.status_code >= 500:
                raise CentralUnreachableError(f"HTTP {response.status_code}")
            if response.status_code >= 400:
                try:
                    document = response.json()
                except (ValueError, requests.RequestException) as exc:
                    raise CentralUnreachableError("answer is not JSON") from exc
                if not isinstance(document, dict):
                    raise CentralUnreachableError("unexpected answer")
                raise CentralRefusedError(
                    response.status_code,
                    str(document.get("error", "")),
                    str(document.get("detail", "")),
                )
            data = bytearray()
            try:
                for chunk in response.iter_content(chunk_size=65536):
                    data += chunk
                    if len(data) > max_bytes:
                        raise CentralUnreachableError("file larger than announced")
            except requests.RequestException as exc:
                raise CentralUnreachableError(type(exc).__name__) from exc
            return response.headers.get("Content-Type", ""), bytes(data)

    def enroll(self, *, token: str, public_key: bytes) -> EnrollResult:
        """Spend the one-time token; register this kiosk's public key."""
        document = self._post("/v1/kiosks/enroll", {"token": token, "public_key": public_key.hex()})
        try:
            return EnrollResult(
                kiosk_id=str(document["kiosk_id"]),
                site=str(document["site"]),
                central_key=bytes.fromhex(str(document["central_key"])),
            )
        except (KeyError, ValueError) as exc:
            raise CentralUnreachableError("unexpected enrolment answer") from exc

    def send_batch(self, kiosk_id: str, items: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
        """Send (envelope bytes, signature) in order; one answer per envelope processed."""
        document = self._post(
            "/v1/sync/batch",
            {
                "kiosk_id": kiosk_id,
                "items": [
                    {
                        "envelope": base64.b64encode(envelope).decode("ascii"),
                        "signature": base64.b64encode(signature).decode("ascii"),
                    }
                    for envelope, signature in items
                ],
            },
            signed=True,
        )
        results = document.get("results")
        if not isinstance(results, list):
            raise CentralUnreachableError("unexpected sync answer")
        return [r for r in results if isinstance(r, dict)]

    def health(self) -> tuple[int, dt.datetime | None]:
        """GET /health: the HTTP status and the service's clock (its Date header)."""
        try:
            response = self.session.get(f"{self.base_url}/health", timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise CentralUnreachableError(type(exc).__name__) from exc
        try:
            server = email.utils.parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError):
            server = None
        return response.status_code, server

    def reachable(self, timeout_s: float = 1.0) -> bool:
        """Whether the service's port answers a TCP connection: a cheap probe, no request."""
        try:
            url = urllib.parse.urlsplit(self.base_url)
            port = url.port or (443 if url.scheme == "https" else 80)
            with socket.create_connection((url.hostname or "localhost", port), timeout=timeout_s):
                return True
        except (OSError, ValueError):  # ValueError: a port out of range in the URL
            return False

    def close(self) -> None:
        self.session.close()
