"""Documents' files made drawable, off the screen's thread: a PDF rendered to page images
(PDFium, through pypdfium2), a CDA R2 read safely into its title and sections (defusedxml: no
DTD, entity or external reference), a text decoded, an image passed on to the screen.

Nothing here is kept: the workflow holds the result while the document is open, and drops it
with the patient. Nothing here logs what it reads.
"""

from __future__ import annotations

import base64
import binascii
import re
from xml.etree.ElementTree import Element

import pypdfium2 as pdfium
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from kiosk.core.errors import DocumentUnreadableError
from kiosk.core.ports import (
    CdaDocument,
    CdaSection,
    DocumentContent,
    DocumentKind,
    PageImage,
)

__all__ = ["MAX_PAGES", "PAGE_WIDTH_PX", "Renderer", "read_cda"]

# A page as wide as the viewer on a 1024 px screen leaves it (margins and scroll bar apart).
PAGE_WIDTH_PX = 860
# A tall page is not rendered taller than this many widths (a 14,400 pt strip would not fit
# in memory at this width).
_MAX_ASPECT = 4
# Pages rendered at most (about 3 MB each): the rest is said, not drawn.
MAX_PAGES = 20
_NS = "{urn:hl7-org:v3}"
_SPACES = re.compile(r"[ \t\r\f\v]+")


class Renderer:
    """kiosk.core.ports.DocumentReader with PDFium and defusedxml."""

    def __init__(self, page_width_px: int = PAGE_WIDTH_PX, max_pages: int = MAX_PAGES) -> None:
        self.page_width_px = page_width_px
        self.max_pages = max_pages

    def read(self, kind: DocumentKind, data: bytes) -> DocumentContent:
        if kind is DocumentKind.PDF:
            pages, count = self.pdf_pages(data)
            return DocumentContent(kind, pages=pages, page_count=count)
        if kind is DocumentKind.CDA:
            cda, pdf = read_cda(data)
            if pdf is not None:
                pages, count = self.pdf_pages(pdf)
                return DocumentContent(kind, pages=pages, page_count=count, cda=cda)
            return DocumentContent(kind, cda=cda)
        if kind is DocumentKind.TEXT:
            return DocumentContent(kind, text=_utf8(data))
        if kind is DocumentKind.IMAGE:
            return DocumentContent(kind, image=data)
        raise DocumentUnreadableError(f"no viewer for {kind}")

    def pdf_pages(self, data: bytes) -> tuple[tuple[PageImage, ...], int]:
        """The first pages rendered (RGB), and how many the PDF has."""
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise DocumentUnreadableError("the PDF does not open") from exc
        try:
            count = len(pdf)
            if count == 0:
                raise DocumentUnreadableError("the PDF has no page")
            pages = tuple(self._page(pdf, i) for i in range(min(count, self.max_pages)))
        finally:
            pdf.close()
        return pages, count

    def _page(self, pdf: pdfium.PdfDocument, index: int) -> PageImage:
        page = pdf[index]
        try:
            width, height = page.get_size()
            if width <= 0 or height <= 0:
                raise DocumentUnreadableError("a page without size")
            scale = min(self.page_width_px / width, self.page_width_px * _MAX_ASPECT / height)
            bitmap = page.render(scale=scale, rev_byteorder=True)  # RGB, as QImage reads it
            try:
                if bitmap.n_channels != 3:
                    raise DocumentUnreadableError("unexpected bitmap format")
                return PageImage(bitmap.width, bitmap.height, bitmap.stride, bytes(bitmap.buffer))
            finally:
                bitmap.close()
        except pdfium.PdfiumError as exc:
            raise DocumentUnreadableError("a page does not render") from exc
        finally:
            page.close()


def read_cda(data: bytes) -> tuple[CdaDocument, bytes | None]:
    """A CDA R2's title and sections (or its non-XML body's text), and the PDF its non-XML
    body carries, if it carries one. Never markup: every string is plain text."""
    try:
        root: Element = fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise DocumentUnreadableError("not a readable CDA") from exc
    if root.tag != f"{_NS}ClinicalDocument":
        raise DocumentUnreadableError("not a CDA R2 document")
    title = _inline(root.find(f"{_NS}title"))
    component = root.find(f"{_NS}component")
    if component is None:
        raise DocumentUnreadableError("a CDA without a body")
    structured = component.find(f"{_NS}structuredBody")
    if structured is not None:
        sections: list[CdaSection] = []
        for part in structured.findall(f"{_NS}component/{_NS}section"):
            _sections(part, 1, sections)
        return CdaDocument(title, sections=tuple(sections)), None
    body = component.find(f"{_NS}nonXMLBody/{_NS}text")
    if body is None:
        raise DocumentUnreadableError("a CDA without a body")
    media = (body.get("mediaType") or "text/plain").split(";", 1)[0].strip().lower()
    raw = (body.text or "").encode("utf-8")
    if (body.get("representation") or "TXT").upper() == "B64":
        try:
            raw = base64.b64decode(b"".join(raw.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DocumentUnreadableError("the CDA's body is not base64") from exc
    if media == "application/pdf":
        return CdaDocument(title), raw
    if media == "text/plain":
        return CdaDocument(title, text=_utf8(raw)), None
    raise DocumentUnreadableError("a CDA body this kiosk cannot show")


def _sections(section: Element, level: int, into: list[CdaSection]) -> None:
    into.append(
        CdaSection(
            title=_inline(section.find(f"{_NS}title")),
            paragraphs=_narrative(section.find(f"{_NS}text")),
            level=min(level, 3),
        )
    )
    for child in section.findall(f"{_NS}component/{_NS}section"):
        _sections(child, level + 1, into)


def _narrative(text: Element | None) -> tuple[str, ...]:
    """A section's narrative block as paragraphs: paragraphs, list items, table rows."""
    if text is None:
        return ()
    out: list[str] = []
    loose: list[str] = [text.text or ""]

    def flush() -> None:
        joined = _clean("".join(loose))
        if joined:
            out.extend(line for line in joined.split("\n") if line)
        loose.clear()

    for child in text:
        tag = _local(child.tag)
        if tag == "paragraph":
            flush()
            out.append(_inline(child))
        elif tag == "list":
            flush()
            out.extend(f"• {_inline(item)}" for item in child.iter(f"{_NS}item"))
        elif tag == "table":
            flush()
            for row in child.iter(f"{_NS}tr"):
                cells = [_inline(cell) for cell in row if _local(cell.tag) in ("td", "th")]
                if any(cells):
                    out.append(" | ".join(cells))
        elif tag == "br":
            loose.append("\n")
        else:
            loose.append(_flat(child))
        loose.append(child.tail or "")
    flush()
    return tuple(p for p in out if p)


def _inline(element: Element | None) -> str:
    return _clean(_flat(element)) if element is not None else ""


def _flat(element: Element) -> str:
    """An element's text, a <br/> as a line break."""
    parts = [element.text or ""]
    for child in element:
        parts.append("\n" if _local(child.tag) == "br" else _flat(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _clean(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentUnreadableError("the text is not UTF-8") from exc
