"""Document files as professionals' software sends them: a PDF report, CDA R2 documents (a
structured body, or a non-XML body carrying a PDF), images, and the broken ones an attacker or
a faulty program sends."""

from __future__ import annotations

import base64
import io
import zlib
from xml.sax.saxutils import escape

from PIL import Image

__all__ = [
    "XXE_CDA",
    "cda_structured",
    "cda_with_pdf",
    "file_in",
    "jpeg",
    "pdf_bomb",
    "png",
    "report_pdf",
]


def _pdf_text(text: str) -> str:
    """A string in a PDF content stream (Latin-1, as the standard Helvetica encodes it)."""
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _pdf(objects: list[bytes], header: bytes) -> bytes:
    """A PDF file of these numbered objects (1 the catalogue), with its cross-reference table's
    offsets right."""
    out = io.BytesIO()
    out.write(header)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def report_pdf(title: str, lines: list[str], *, pad_to: int = 0) -> bytes:
    """A one-page PDF report with a title and lines of text, well-formed (xref offsets right).
    `pad_to` grows it with a comment stream to about that many bytes (benchmarks' 200 KB)."""
    ops = ["BT", "/F1 16 Tf", "50 790 Td", f"{_pdf_text(title)} Tj", "/F1 11 Tf"]
    for line in lines:
        ops += ["0 -20 Td", f"{_pdf_text(line)} Tj"]
    ops.append("ET")
    content = "\n".join(ops).encode("latin-1")
    if pad_to > len(content):
        filler = b"\n% " + b"x" * 70
        content += filler * ((pad_to - len(content)) // len(filler) + 1)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    return _pdf(objects, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")


_CDA_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.250.1.213.1.1.9" extension="{doc_id}"/>
  <code code="{loinc}" codeSystem="2.16.840.1.113883.6.1" displayName="{type_name}"/>
  <title>{title}</title>
  <effectiveTime value="20261115103000+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="fr-FR"/>
"""


def pdf_bomb(inflated_mb: int = 14, *, tag: str = "") -> bytes:
    """A PDF of a few tens of kilobytes that passes the deposit's check, whose one page's
    content stream inflates to `inflated_mb` MB of drawn lines: PDFium takes minutes of CPU,
    and about 16 times that in memory, to draw it (security review of issue 17). `tag` (in a
    comment) makes bombs with different SHA-256s. Deterministic."""
    block = b"0 0 m 612 792 l S\n" * (1 << 16)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(block) for _ in range((inflated_mb << 20) // len(block)))
    data += packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
    ]
    return _pdf(objects, b"%PDF-1.7\n%" + tag.encode("ascii") + b"\n")


def cda_structured(
    title: str = "Compte rendu de consultation",
    sections: list[tuple[str, str]] | None = None,
    *,
    loinc: str = "11488-4",
    doc_id: str = "CR-2026-0001",
) -> bytes:
    """A CDA R2 with a structured body: sections with a title and narrative text."""
    sections = sections or [
        ("Motif", "Suivi du diabète de type 2."),
        ("Conclusion", "Équilibre correct ; poursuite de la metformine 500 mg matin et soir."),
    ]
    parts = [
        _CDA_HEADER.format(
            doc_id=escape(doc_id), loinc=loinc, type_name=escape(title), title=escape(title)
        ),
        "  <component>\n    <structuredBody>\n",
    ]
    for heading, text in sections:
        parts.append(
            "      <component><section>"
            f"<title>{escape(heading)}</title><text>{escape(text)}</text>"
            "</section></component>\n"
        )
    parts.append("    </structuredBody>\n  </component>\n</ClinicalDocument>\n")
    return "".join(parts).encode("utf-8")


def cda_with_pdf(
    pdf: bytes, title: str = "Compte rendu d'hospitalisation", *, loinc: str = "34133-9"
) -> bytes:
    """A CDA R2 whose non-XML body carries a PDF (as most reports travel in France)."""
    header = _CDA_HEADER.format(
        doc_id="CRH-2026-0042", loinc=loinc, type_name=escape(title), title=escape(title)
    )
    body = base64.b64encode(pdf).decode("ascii")
    return (
        header
        + "  <component>\n    <nonXMLBody>\n"
        + f'      <text mediaType="application/pdf" representation="B64">{body}</text>\n'
        + "    </nonXMLBody>\n  </component>\n</ClinicalDocument>\n"
    ).encode("utf-8")


# A CDA that asks the parser to read a file of the server's: refused, never resolved.
XXE_CDA = b"""<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&secret;</title>
<component><structuredBody/></component></ClinicalDocument>
"""


def _image(fmt: str, size: tuple[int, int]) -> bytes:
    image = Image.new("RGB", size, (230, 240, 250))
    for x in range(size[0]):  # a diagonal, so the picture is not blank
        image.putpixel((x, x * size[1] // size[0]), (20, 60, 120))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    return _image("PNG", size)


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    return _image("JPEG", size)


def file_in(data: bytes, mime_type: str, filename: str | None = None) -> dict[str, str]:
    """The `file` of a DocumentIn body (central.dmp.schemas.FileIn)."""
    shown = {"mime_type": mime_type, "data_base64": base64.b64encode(data).decode("ascii")}
    if filename is not None:
        shown["filename"] = filename
    return shown
