"""Documents' files made drawable, off the screen's thread: a PDF rendered to page images
(PDFium, through pypdfium2, in a child process under limits: dmpcommon.pdf_sandbox), a CDA R2
read safely into its title and sections (defusedxml: no DTD, entity or external reference), a
text decoded, an image passed on to the screen.

A PDF is untrusted (whoever may deposit one wrote it): a few kilobytes can take PDFium minutes
and gigabytes on one page. The child draws the pages one by one, and is killed past
`timeout_s`: the pages drawn by then are shown (the viewer says how many the document has),
none drawn is "cannot be shown here". A PDF that failed so is remembered by its SHA-256 (only
that, a few of them) so that "Réessayer" answers at once rather than waiting again.

Nothing else is kept: the workflow holds the result while the document is open, and drops it
with the patient. Nothing here logs what it reads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
from collections import OrderedDict
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from dmpcommon import pdf_sandbox
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
# The whole PDF's drawing, wall clock (20 ordinary pages take well under a second).
TIMEOUT_S = 8.0
_MEMORY_BYTES = 768 << 20  # the child's address space (a page is at most ~9 MB of pixels)
_FAILED_KEPT = 32  # PDFs remembered as failed (their SHA-256)
_NS = "{urn:hl7-org:v3}"
_SPACES = re.compile(r"[ \t\r\f\v]+")


class Renderer:
    """kiosk.core.ports.DocumentReader with PDFium and defusedxml."""

    def __init__(
        self,
        page_width_px: int = PAGE_WIDTH_PX,
        max_pages: int = MAX_PAGES,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.page_width_px = page_width_px
        self.max_pages = max_pages
        self.timeout_s = timeout_s
        self._failed: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

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
        """The first pages rendered (RGB), and how many the PDF has: the pages drawn within
        the time allowed, at least the first (else DocumentUnreadableError)."""
        key = hashlib.sha256(data).hexdigest()
        with self._lock:
            if key in self._failed:
                raise DocumentUnreadableError("the PDF failed to render before")
        job = pdf_sandbox.Job(
            self.max_pages,
            self.page_width_px,
            max_pixels=self.page_width_px * self.page_width_px * _MAX_ASPECT,
            max_aspect=_MAX_ASPECT,
            png=False,
        )
        drawn = pdf_sandbox.render(
            data,
            job,
            timeout_s=self.timeout_s,
            cpu_s=int(self.timeout_s) + 1,
            memory_bytes=_MEMORY_BYTES,
        )
        if drawn.count == 0:
            raise DocumentUnreadableError("the PDF has no page")
        pages = tuple(
            PageImage(page.width, page.height, page.stride, page.data)
            for page in drawn.pages
            if page.width > 0 and page.height > 0 and page.stride >= page.width * 3
        )
        if drawn.count is None or not pages:
            with self._lock:
                self._failed[key] = None
                while len(self._failed) > _FAILED_KEPT:
                    self._failed.popitem(last=False)
            raise DocumentUnreadableError(f"the PDF does not render ({drawn.failure})")
        return pages, drawn.count


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
