"""A document shown in the portal's page: a PDF's first pages as images (rendered on the
server by PDFium, as no script or plug-in runs in the portal's pages), a CDA R2's structured
body as headings, paragraphs, lists and tables of plain text (parsed with no DTD or entity,
every string escaped by the template), a text as text.

A PDF is untrusted: a few kilobytes can take PDFium minutes and gigabytes on one page. So
PDFium never runs in the service's process: a child process draws the first pages and reads
their text under limits, killed past a deadline (dmpcommon.pdf_sandbox). At most
`MAX_RENDERS` children run at once; a request that finds them all busy is not queued: its page
says the preview is unavailable. What a child drew is kept in memory per file (its SHA-256),
a small bounded cache, so the page's images cost nothing more; a PDF that failed is not drawn
again for a while."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from central.dmp.files import CDA_NS, FormatCode, MimeType, cda_pdf_body, parse_cda
from central.errors import ServiceError
from dmpcommon import pdf_sandbox

__all__ = [
    "MAX_PAGES",
    "MAX_RENDERS",
    "Block",
    "Preview",
    "Section",
    "page_png",
    "pdf_of",
    "preview_of",
]

MAX_PAGES = 5  # pages shown in the page; the whole document is downloaded
_WIDTH = 1000  # px of a page's image (a phone scales it down, a screen reads it)
_MAX_PIXELS = 4_000_000  # an odd page size never makes a huge image
_MAX_DEPTH = 4  # sections within sections shown as headings, deeper ones flattened
MAX_RENDERS = 2  # PDF children at once (the others' pages say the preview is unavailable)
_SLOT_WAIT_S = 0.25  # a render slot awaited at most, never a queue of threads
_MAX_WAITERS = 8  # requests awaiting a render of the same file already under way
_FAILED_FOR_S = 600.0  # a PDF that failed is not drawn again for this long
_CACHE_BYTES = 32 << 20  # the drawn pages kept in memory
_CACHE_FILES = 256
_NS = f"{{{CDA_NS}}}"


@dataclass(frozen=True, slots=True)
class Block:
    """A piece of a CDA narrative: a paragraph (`text`), a list (`items`) or a table
    (`head`, `rows`)."""

    kind: str  # p | ul | table
    text: str = ""
    items: tuple[str, ...] = ()
    head: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Section:
    """A CDA section: its title, its narrative, and its own sections one level down."""

    title: str
    level: int  # the heading's level in the page (3 for the body's sections)
    blocks: tuple[Block, ...]
    sections: tuple[Section, ...] = ()


@dataclass(frozen=True, slots=True)
class Preview:
    """What the document's page shows of it."""

    kind: str  # pdf | cda | text | image | unavailable (not drawn, now or at all) | none
    pages: int = 0  # a PDF's page count
    page_texts: tuple[str, ...] = ()  # the text of each page shown, for whom cannot see it
    sections: tuple[Section, ...] = ()
    text: str = ""


def pdf_of(mime_type: str, format_code: str, data: bytes) -> bytes | None:
    """The PDF a document is or carries (a CDA whose body is a PDF), if any."""
    if mime_type == MimeType.PDF.value:
        return data
    if mime_type == MimeType.CDA.value and format_code == FormatCode.PDF.value:
        try:
            return cda_pdf_body(parse_cda(data))
        except ServiceError:
            return None
    return None


def preview_of(mime_type: str, format_code: str, data: bytes) -> Preview:
    """What the page shows of a document (checked at deposit; any surprise shows nothing
    but the download)."""
    pdf = pdf_of(mime_type, format_code, data)
    if pdf is not None:
        return _pdf_preview(pdf)
    if mime_type == MimeType.TEXT.value:
        return Preview("text", text=data.decode("utf-8", errors="replace"))
    if mime_type in (MimeType.JPEG.value, MimeType.PNG.value):
        return Preview("image")
    if mime_type == MimeType.CDA.value:
        try:
            return _cda_preview(parse_cda(data))
        except ServiceError:
            return Preview("none")
    return Preview("none")


def _pdf_preview(pdf: bytes) -> Preview:
    drawn = _drawn(pdf)
    if drawn is None or drawn.failure:
        return Preview(
            "none" if drawn is not None and drawn.failure == "unreadable" else "unavailable"
        )
    return Preview("pdf", pages=drawn.count, page_texts=drawn.texts)


def page_png(pdf: bytes, index: int) -> bytes | None:
    """One of the first pages of a PDF as a PNG image; None for a page not shown, or when the
    pages cannot be drawn (now or at all)."""
    if not 0 <= index < MAX_PAGES:
        return None
    drawn = _drawn(pdf)
    if drawn is None or drawn.failure or index >= len(drawn.pngs):
        return None
    return drawn.pngs[index]


@dataclass(frozen=True, slots=True)
class _Drawn:
    """A PDF's first pages drawn by a child (or why not: `failure`), at `at` (monotonic)."""

    at: float
    count: int = 0
    texts: tuple[str, ...] = ()
    pngs: tuple[bytes, ...] = ()
    failure: str = ""

    @property
    def size(self) -> int:
        return sum(len(png) for png in self.pngs) + sum(len(text) for text in self.texts)


class _Pages:
    """The drawn PDFs by SHA-256 (least recently used out first), the renders under way, and
    the render slots."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(MAX_RENDERS)
        self.drawn: OrderedDict[str, _Drawn] = OrderedDict()
        self.size = 0
        self.under_way: dict[str, threading.Event] = {}
        self.waiters = 0

    def get(self, key: str) -> _Drawn | None:
        """Under the lock."""
        found = self.drawn.get(key)
        if found is not None and found.failure and time.monotonic() - found.at > _FAILED_FOR_S:
            self.size -= self.drawn.pop(key).size
            return None
        if found is not None:
            self.drawn.move_to_end(key)
        return found

    def put(self, key: str, drawn: _Drawn) -> None:
        """Under the lock."""
        if drawn.size > _CACHE_BYTES // 4:
            return
        self.drawn[key] = drawn
        self.size += drawn.size
        while self.size > _CACHE_BYTES or len(self.drawn) > _CACHE_FILES:
            _, old = self.drawn.popitem(last=False)
            self.size -= old.size


_PAGES = _Pages()


def _drawn(pdf: bytes) -> _Drawn | None:
    """The PDF's first pages and their text, drawn once by a child; None when no render slot
    is free now (nothing is kept of that)."""
    key = hashlib.sha256(pdf).hexdigest()
    pages = _PAGES
    with pages.lock:
        found = pages.get(key)
        if found is not None:
            return found
        under_way = pages.under_way.get(key)
        if under_way is None:
            pages.under_way[key] = mine = threading.Event()
        elif pages.waiters >= _MAX_WAITERS:
            return None
        else:
            pages.waiters += 1
    if under_way is not None:  # another request draws this file: its result, or nothing
        try:
            under_way.wait(pdf_sandbox.TIMEOUT_S + 2.0)
        finally:
            with pages.lock:
                pages.waiters -= 1
        with pages.lock:
            return pages.get(key)
    try:
        if not pages.slots.acquire(timeout=_SLOT_WAIT_S):
            return None
        try:
            result = pdf_sandbox.render(
                pdf, pdf_sandbox.Job(MAX_PAGES, _WIDTH, _MAX_PIXELS, texts=True)
            )
        finally:
            pages.slots.release()
        shown = min(result.count or 0, MAX_PAGES)
        if result.complete and len(result.pages) == shown and len(result.texts) == shown:
            drawn = _Drawn(
                time.monotonic(),
                result.count or 0,
                tuple(result.texts),
                tuple(page.data for page in result.pages),
            )
        else:
            drawn = _Drawn(time.monotonic(), failure=result.failure or "incomplete")
        with pages.lock:
            pages.put(key, drawn)
        return drawn
    finally:
        with pages.lock:
            del pages.under_way[key]
        mine.set()


def _cda_preview(root: Element) -> Preview:
    component = root.find(f"{_NS}component")
    body = component.find(f"{_NS}structuredBody") if component is not None else None
    if body is not None:
        return Preview(
            "cda",
            sections=tuple(
                _section(section, 3) for section in body.iterfind(f"{_NS}component/{_NS}section")
            ),
        )
    text = root.find(f"{_NS}component/{_NS}nonXMLBody/{_NS}text")
    if text is not None and (text.get("mediaType") or "text/plain").startswith("text/plain"):
        if (text.get("representation") or "TXT").upper() == "TXT":
            return Preview("text", text=(text.text or "").strip())
    return Preview("none")


def _local(element: Element) -> str:
    return element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""


def _flat(element: Element) -> str:
    """An element's text, its inner markup dropped, its spaces folded."""
    return " ".join("".join(element.itertext()).split())


def _section(element: Element, level: int) -> Section:
    title = element.find(f"{_NS}title")
    text = element.find(f"{_NS}text")
    inner = tuple(element.iterfind(f"{_NS}component/{_NS}section"))
    blocks = _blocks(text) if text is not None else ()
    if level >= 3 + _MAX_DEPTH:  # deeper: its sections' text joins its own
        blocks += tuple(Block("p", text=_flat(s)) for s in inner if _flat(s))
        inner = ()
    return Section(
        title=_flat(title) if title is not None else "",
        level=min(level, 6),
        blocks=blocks,
        sections=tuple(_section(s, level + 1) for s in inner),
    )


def _blocks(text: Element) -> tuple[Block, ...]:
    """A section's narrative (CDA's narrative block) as paragraphs, lists and tables."""
    blocks: list[Block] = []
    pending: list[str] = [text.text or ""]

    def flush() -> None:
        said = " ".join("".join(pending).split())
        if said:
            blocks.append(Block("p", text=said))
        pending.clear()

    for child in text:
        kind = _local(child)
        if kind == "paragraph":
            flush()
            blocks.append(Block("p", text=_flat(child)))
        elif kind == "list":
            flush()
            items = tuple(_flat(item) for item in child if _local(item) == "item")
            blocks.append(Block("ul", items=items))
        elif kind == "table":
            flush()
            blocks.append(_table(child))
        elif kind == "br":
            flush()
        else:
            pending.append(_flat(child))
        pending.append(child.tail or "")
    flush()
    return tuple(b for b in blocks if b.text or b.items or b.rows or b.head)


def _table(table: Element) -> Block:
    rows = [
        [(_local(cell), _flat(cell)) for cell in row if _local(cell) in ("th", "td")]
        for row in table.iter(f"{_NS}tr")
    ]
    head: tuple[str, ...] = ()
    if rows and rows[0] and all(kind == "th" for kind, _ in rows[0]):
        head = tuple(text for _, text in rows.pop(0))
    return Block(
        "table", head=head, rows=tuple(tuple(text for _, text in row) for row in rows if row)
    )
