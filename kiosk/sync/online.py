"""The central service's live API for the counter workflow (kiosk.core.ports.CentralPort).

The service's JSON becomes the core's values here; an answer that is not what the API
promises is a CentralUnreachableError (a broken proxy, another service on the port), never a
KeyError further up.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from enum import StrEnum
from typing import Any, TypeVar

from dmpcommon.actions import CardTraits, IdentitySearch
from dmpcommon.vocabulary import (
    AccessMode,
    Authorisation,
    BreakGlassReason,
    DmpStatus,
    QualificationStatus,
    Role,
)
from kiosk.core.errors import CentralUnreachableError
from kiosk.core.ports import (
    CareLine,
    CareNature,
    FetchedFile,
    NewAccess,
    OnlineSession,
    Qualification,
    RecordStatus,
    RecordSummary,
    StrictTraits,
    SummaryDocument,
    SummarySection,
)
from kiosk.sync.transport import CentralClient

__all__ = ["DOCUMENT_MAX_BYTES", "REASON_HEADER", "OnlineCentral"]

E = TypeVar("E", bound=StrEnum)
# The service refuses files over 20 MB by default; a little more is read before giving up.
DOCUMENT_MAX_BYTES = 32 * 1024 * 1024
# The break-glass reason travels in a header (percent-encoded UTF-8), not in the URL.
REASON_HEADER = "X-DMP-Reason-Text"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DOCUMENT_ID = re.compile(r"^[0-9a-f-]{36}$")


class OnlineCentral:
    """kiosk.core.ports.CentralPort over HTTP; a short timeout, the counter is waiting."""

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
        return OnlineSession(token=_text(document, "token"), role=_enum(Role, document, "role"))

    def resume_session(self, session_id: str) -> OnlineSession:
        # No token: the request's signature is the proof (a kiosk without its key cannot).
        path = f"/v1/sessions/{urllib.parse.quote(session_id, safe='')}/resume"
        document = self.client.request("POST", path, {}, signed=True)
        return OnlineSession(token=_text(document, "token"), role=_enum(Role, document, "role"))

    def qualify(self, token: str, traits: CardTraits) -> Qualification:
        document = self.client.request(
            "POST", "/v1/identity/qualify", traits.model_dump(), token=token
        )
        return _qualification(document)

    def search_identity(self, token: str, search: IdentitySearch) -> Qualification:
        document = self.client.request(
            "POST", "/v1/identity/search", search.model_dump(exclude_none=True), token=token
        )
        return _qualification(document)

    def status(self, token: str, ins: str) -> RecordStatus:
        document = self.client.request("GET", f"/v1/dmp/{ins}/status", token=token)
        return RecordStatus(
            _enum(DmpStatus, document, "dmp"), _enum(Authorisation, document, "authorisation")
        )

    def open_record(
        self,
        token: str,
        ins: str,
        *,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
    ) -> RecordSummary:
        body: dict[str, Any] = {"mode": mode.value}
        if reason_code is not None:
            body |= {"reason_code": reason_code.value, "reason_text": reason_text}
        document = self.client.request("POST", f"/v1/dmp/{ins}/open", body, token=token)
        sections = []
        for section in SummarySection:
            documents = document.get(section.value)
            if not isinstance(documents, list):
                raise CentralUnreachableError(f"unexpected answer: no {section.value}")
            sections.append((section, tuple(_document(d) for d in documents)))
        lines = document.get("care_lines")
        if not isinstance(lines, list):
            raise CentralUnreachableError("unexpected answer: no care_lines")
        return RecordSummary(
            mode=_enum(AccessMode, document, "mode"),
            sections=tuple(sections),
            care_lines=tuple(_care_line(line) for line in lines),
        )

    def document_file(
        self,
        token: str,
        ins: str,
        document_id: str,
        *,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
    ) -> FetchedFile:
        if not _DOCUMENT_ID.match(document_id):
            raise CentralUnreachableError("unexpected document id")
        params = {"mode": mode.value}
        headers = {}
        if reason_code is not None:
            params["reason_code"] = reason_code.value
        if reason_text is not None:
            headers[REASON_HEADER] = urllib.parse.quote(reason_text, safe="")
        mime_type, data = self.client.download(
            f"/v1/dmp/{ins}/documents/{document_id}/content",
            token=token,
            max_bytes=DOCUMENT_MAX_BYTES,
            params=params,
            headers=headers,
        )
        return FetchedFile(mime_type=mime_type, data=data)

    def set_closed(self, token: str, ins: str, *, closed: bool) -> None:
        verb = "close" if closed else "reopen"
        self.client.request("POST", f"/v1/dmp/{ins}/{verb}", {}, token=token)

    def reissue_activation(self, token: str, ins: str) -> NewAccess:
        document = self.client.request("POST", f"/v1/dmp/{ins}/activation", {}, token=token)
        return NewAccess(_text(document, "access_identifier"), _text(document, "activation_code"))


def _qualification(document: dict[str, Any]) -> Qualification:
    status = _enum(QualificationStatus, document, "status")
    ins = document.get("ins")
    if status is not QualificationStatus.QUALIFIED or not isinstance(ins, str):
        return Qualification(status)
    traits = document.get("traits")
    if not isinstance(traits, dict):
        raise CentralUnreachableError("unexpected answer: no traits")
    prenoms = traits.get("prenoms")
    if not isinstance(prenoms, list) or not all(isinstance(p, str) for p in prenoms):
        raise CentralUnreachableError("unexpected answer: prenoms")
    return Qualification(
        status,
        ins,
        StrictTraits(
            nom_naissance=_text(traits, "nom_naissance"),
            prenoms=tuple(prenoms),
            sexe=_text(traits, "sexe"),
            birth_date=_text(traits, "birth_date"),
            birth_place=_text(traits, "birth_place"),
        ),
    )


def _document(document: object) -> SummaryDocument:
    if not isinstance(document, dict):
        raise CentralUnreachableError("unexpected answer: a document is not an object")
    return SummaryDocument(
        title=_text(document, "title"),
        document_date=_matching(document, "document_date", _DAY),
        author=_text(document, "author"),
        content=_optional_text(document, "content"),
        id=_matching(document, "id", _DOCUMENT_ID),
        category=_text(document, "category"),
        loinc=_optional_text(document, "loinc"),
        author_role=_text(document, "author_role"),
        mime_type=_text(document, "mime_type"),
        size=_count(document, "size"),
        sha256=_matching(document, "sha256", _SHA256),
        format_code=_text(document, "format_code"),
        filename=_optional_text(document, "filename"),
        created_at=_text(document, "created_at"),
    )


def _care_line(line: object) -> CareLine:
    if not isinstance(line, dict):
        raise CentralUnreachableError("unexpected answer: a care line is not an object")
    return CareLine(
        care_date=_matching(line, "care_date", _DAY),
        nature=_enum(CareNature, line, "nature"),
        code_system=_text(line, "code_system"),
        code=_text(line, "code"),
        label=_text(line, "label"),
        quantity=_count(line, "quantity"),
        executant=_text(line, "executant"),
    )


def _optional_text(document: dict[str, Any], key: str) -> str | None:
    if key not in document:
        raise CentralUnreachableError(f"unexpected answer: no {key}")
    value = document[key]
    if value is not None and not isinstance(value, str):
        raise CentralUnreachableError(f"unexpected answer: {key}")
    return value


def _matching(document: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str:
    value = _text(document, key)
    if not pattern.match(value):
        raise CentralUnreachableError(f"unexpected answer: {key}")
    return value


def _count(document: dict[str, Any], key: str) -> int:
    value = document.get(key)
    # bool is an int to Python, not to JSON
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CentralUnreachableError(f"unexpected answer: {key}")
    return value


def _text(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str):
        raise CentralUnreachableError(f"unexpected answer: no {key}")
    return value


def _enum(kind: type[E], document: dict[str, Any], key: str) -> E:
    try:
        return kind(_text(document, key))
    except ValueError:
        raise CentralUnreachableError(f"unexpected answer: {key}") from None
