"""A document shown in the portal's page: a PDF's first pages as images (rendered on the
server by PDFium, as no script or plug-in runs in the portal's pages), a CDA R2's structured
body as headings, paragraphs, lists and tables of plain text (parsed with no DTD or entity,
every string escaped by the template), a text as text.

PDFium is not thread-safe: every call into it holds one lock."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import pypdfium2 as pdfium

from central.dmp.files import CDA_NS, FormatCode, MimeType, cda_pdf_body, parse_cda
from central.errors import ServiceError

__all__ = [
    "MAX_PAGES",
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
_PDFIUM = threading.Lock()
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

    kind: str  # pdf | cda | text | image | none
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
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError:
            return Preview("none")
        try:
            count = len(document)
            texts = []
            for index in range(min(count, MAX_PAGES)):
                page = document[index]
                textpage = page.get_textpage()
                texts.append(" ".join(textpage.get_text_bounded().split()))
                textpage.close()
                page.close()
        finally:
            document.close()
    return Preview("pdf", pages=count, page_texts=tuple(texts))


def page_png(pdf: bytes, index: int) -> bytes | None:
    """One of the first pages of a PDF as a PNG image; None for a page not shown."""
    if not 0 <= index < MAX_PAGES:
        return None
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError:
            return None
        try:
            if index >= len(document):
                return None
            page = document[index]
            width, height = page.get_size()
            scale = _WIDTH / max(width, 1.0)
            if width * height * scale * scale > _MAX_PIXELS:
                scale = (_MAX_PIXELS / max(width * height, 1.0)) ** 0.5
            image = page.render(scale=scale).to_pil()
            page.close()
        finally:
            document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


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
