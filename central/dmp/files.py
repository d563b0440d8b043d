"""A document's file, checked for what it claims to be before anything is stored.

A PDF must parse, a CDA R2 must be well-formed XML read with no DTD, entity or external
reference (and its PDF body, if it carries one, must parse too), an image must decode, a text
must be UTF-8. Each refusal is a BadRequest with a code the screens translate; a file over the
configured size is refused before it is looked at.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from central.errors import BadRequest, ServiceError

__all__ = [
    "CDA_NS",
    "DEFAULT_MAX_BYTES",
    "CheckedFile",
    "FileTooLarge",
    "FormatCode",
    "MimeType",
    "check_file",
    "sha256_hex",
]

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CDA_NS = "urn:hl7-org:v3"
_MAX_PIXELS = 60_000_000  # a decompression bomb is refused, not decoded


class FileTooLarge(ServiceError):
    status_code = 413
    code = "file_too_large"


class MimeType(StrEnum):
    """The file types a DMP accepts."""

    PDF = "application/pdf"
    CDA = "text/xml"  # CDA R2, as the DMP's documents travel
    TEXT = "text/plain"
    JPEG = "image/jpeg"
    PNG = "image/png"


class FormatCode(StrEnum):
    """IHE format codes (system http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode)."""

    PDF = "urn:ihe:iti:xds-sd:pdf:2008"  # a PDF, or a CDA whose body is one
    TEXT = "urn:ihe:iti:xds-sd:text:2008"  # plain text, or a CDA whose body is text
    MIME_SUFFICIENT = "urn:ihe:iti:xds:2017:mimeTypeSufficient"  # images
    CDA_STRUCTURED = "urn:ihe:pcc:xds-ms:2007"  # a CDA with a structured body


# What a MIME type is also written as by the software that sends it.
_ALIASES = {"application/xml": MimeType.CDA, "application/hl7-v3+xml": MimeType.CDA}


_Check = Callable[[bytes], FormatCode]


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """A file that is what it claims to be."""

    data: bytes
    mime_type: MimeType
    sha256: str
    format_code: FormatCode

    @property
    def size(self) -> int:
        return len(self.data)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mime_type_of(declared: str) -> MimeType:
    """The accepted type a declared one names (parameters such as charset ignored)."""
    base = declared.split(";", 1)[0].strip().lower()
    if base in _ALIASES:
        return _ALIASES[base]
    try:
        return MimeType(base)
    except ValueError:
        raise BadRequest(
            f"file type {base!r} is not accepted", code="file_type_not_accepted"
        ) from None


def check_file(
    data: bytes, declared_type: str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> CheckedFile:
    """The file, checked; BadRequest (or FileTooLarge) with a code saying what is wrong."""
    if len(data) > max_bytes:
        raise FileTooLarge(f"file larger than {max_bytes} bytes")
    if not data:
        raise BadRequest("the file is empty", code="file_empty")
    mime = mime_type_of(declared_type)
    format_code = _CHECKS[mime](data)
    return CheckedFile(data=data, mime_type=mime, sha256=sha256_hex(data), format_code=format_code)


def _check_pdf(data: bytes) -> FormatCode:
    if not data.startswith(b"%PDF-"):
        raise BadRequest("not a PDF file", code="not_a_pdf")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns on harmless quirks
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise BadRequest("an encrypted PDF cannot be read", code="pdf_encrypted")
            if len(reader.pages) == 0:
                raise BadRequest("the PDF has no page", code="not_a_pdf")
            reader.pages[0].mediabox  # noqa: B018  (the first page's tree must resolve)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise BadRequest("the PDF file does not parse", code="not_a_pdf") from exc
    return FormatCode.PDF


def _check_text(data: bytes) -> FormatCode:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("the text is not UTF-8", code="text_not_utf8") from exc
    if "\x00" in text:
        raise BadRequest("the text holds a NUL character", code="text_not_utf8")
    return FormatCode.TEXT


def _check_image(expected: str) -> _Check:
    def check(data: bytes) -> FormatCode:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as probe:
                    found = probe.format
                    probe.verify()
                with Image.open(io.BytesIO(data)) as image:
                    if image.width * image.height > _MAX_PIXELS:
                        raise BadRequest("the image is too large", code="image_too_large")
                    image.load()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise BadRequest(f"not a {expected} image", code="not_an_image") from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise BadRequest("the image is too large", code="image_too_large") from exc
        if found != expected:
            raise BadRequest(f"not a {expected} image", code="not_an_image")
        return FormatCode.MIME_SUFFICIENT

    return check


def parse_cda(data: bytes) -> Element:
    """The CDA's root, parsed safely: no DTD, entity or external reference."""
    try:
        root: Element = fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise BadRequest(
            "the XML holds a DTD or entity declaration", code="xml_forbidden_construct"
        ) from exc
    except (ParseError, ValueError) as exc:
        raise BadRequest("the XML is not well-formed", code="xml_malformed") from exc
    if root.tag != f"{{{CDA_NS}}}ClinicalDocument":
        raise BadRequest("not a CDA R2 document", code="not_a_cda")
    return root


def cda_pdf_body(root: Element) -> bytes | None:
    """The PDF a CDA's non-XML body carries (base64), if it carries one."""
    text = root.find(f"{{{CDA_NS}}}component/{{{CDA_NS}}}nonXMLBody/{{{CDA_NS}}}text")
    if text is None:
        return None
    media = (text.get("mediaType") or "").lower()
    if media != MimeType.PDF.value or (text.get("representation") or "").upper() != "B64":
        return None
    try:
        return base64.b64decode("".join((text.text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("the CDA's PDF body is not base64", code="not_a_cda") from exc


def _check_cda(data: bytes) -> FormatCode:
    root = parse_cda(data)
    component = root.find(f"{{{CDA_NS}}}component")
    if component is None:
        raise BadRequest("a CDA without a body", code="not_a_cda")
    if component.find(f"{{{CDA_NS}}}structuredBody") is not None:
        return FormatCode.CDA_STRUCTURED
    body = component.find(f"{{{CDA_NS}}}nonXMLBody")
    if body is None:
        raise BadRequest("a CDA without a body", code="not_a_cda")
    pdf = cda_pdf_body(root)
    if pdf is not None:
        _check_pdf(pdf)
        return FormatCode.PDF
    return FormatCode.TEXT


_CHECKS: dict[MimeType, _Check] = {
    MimeType.PDF: _check_pdf,
    MimeType.CDA: _check_cda,
    MimeType.TEXT: _check_text,
    MimeType.JPEG: _check_image("JPEG"),
    MimeType.PNG: _check_image("PNG"),
}
