"""HTTP to the central service: the only module that imports `requests`.

Every `requests` exception and every error answer becomes a SyncError here; nothing above
sees a `requests` type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from kiosk.errors import CentralRefusedError, CentralUnreachableError

__all__ = ["CentralClient", "EnrollResult"]


@dataclass(frozen=True, slots=True)
class EnrollResult:
    """What enrolment gives the kiosk."""

    kiosk_id: str
    site: str
    central_key: bytes


class CentralClient:
    """A session to the central service, with a timeout on every request."""

    def __init__(
        self, base_url: str, *, timeout_s: float = 10.0, session: requests.Session | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = session or requests.Session()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.session.post(
                f"{self.base_url}{path}", json=body, timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            raise CentralUnreachableError(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise CentralUnreachableError(f"HTTP {response.status_code}")
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
        import base64

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
        )
        results = document.get("results")
        if not isinstance(results, list):
            raise CentralUnreachableError("unexpected sync answer")
        return [r for r in results if isinstance(r, dict)]

    def close(self) -> None:
        self.session.close()
