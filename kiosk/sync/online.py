"""The central service's live API for the counter workflow (kiosk.ports.CentralPort)."""

from __future__ import annotations

import base64
from typing import Any

from kiosk.errors import CentralUnreachableError
from kiosk.ports import OnlineSession, Qualification, RecordStatus
from kiosk.sync.transport import CentralClient

__all__ = ["OnlineCentral"]


class OnlineCentral:
    """kiosk.ports.CentralPort over HTTP; a short timeout, the counter is waiting."""

    def __init__(self, client: CentralClient) -> None:
        self.client = client

    def open_session(
        self,
        *,
        kiosk_id: str,
        session_id: str,
        issued_at: str,
        certificate: bytes,
        signature: bytes,
    ) -> OnlineSession:
        document = self.client.request(
            "POST",
            "/v1/sessions",
            {
                "kiosk_id": kiosk_id,
                "session_id": session_id,
                "issued_at": issued_at,
                "certificate": base64.b64encode(certificate).decode(),
                "signature": base64.b64encode(signature).decode(),
            },
        )
        return OnlineSession(token=_text(document, "token"), role=_text(document, "role"))

    def qualify(
        self, token: str, *, nom: str, prenom: str, birth_date: str, nir: str
    ) -> Qualification:
        document = self.client.request(
            "POST",
            "/v1/identity/qualify",
            {"nom": nom, "prenom": prenom, "birth_date": birth_date, "nir": nir},
            token=token,
        )
        ins = document.get("ins")
        return Qualification(_text(document, "status"), ins if isinstance(ins, str) else None)

    def status(self, token: str, ins: str) -> RecordStatus:
        document = self.client.request("GET", f"/v1/dmp/{ins}/status", token=token)
        return RecordStatus(_text(document, "dmp"), _text(document, "authorisation"))

    def open_record(
        self, token: str, ins: str, *, mode: str, reason_code: str | None, reason_text: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"mode": mode}
        if reason_code:
            body |= {"reason_code": reason_code, "reason_text": reason_text}
        return self.client.request("POST", f"/v1/dmp/{ins}/open", body, token=token)


def _text(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str):
        raise CentralUnreachableError(f"unexpected answer: no {key}")
    return value
