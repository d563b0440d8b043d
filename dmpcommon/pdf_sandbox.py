"""Untrusted PDFs rendered in a child process under limits, for the portal and the kiosk.

A PDF of a few kilobytes can hold a page whose content stream inflates to megabytes of drawing
operators: PDFium then takes minutes of CPU and gigabytes of memory on one page. Whoever may
deposit a document (a patient, a professional, a FHIR bundle) could so stop whoever shows it.
Here PDFium runs in a fresh Python process (this very file, run as a script) that limits
itself before it reads a byte: its address space (RLIMIT_AS), its CPU time (RLIMIT_CPU), no
file written, no child of its own; the parent kills it past a wall-clock deadline. What the
child finished before dying is kept (frames on its standard output), what it did not is not.

The child imports nothing of this project: the standard library, pypdfium2 and Pillow (for
PNG). Nothing here logs what it reads.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, BinaryIO

__all__ = ["CPU_S", "MEMORY_BYTES", "TIMEOUT_S", "Job", "Page", "Rendered", "render"]

TIMEOUT_S = 5.0  # wall clock, the child killed past it
CPU_S = 6  # the child's own CPU budget (SIGXCPU kills it), a backstop to the deadline
MEMORY_BYTES = 512 << 20  # the child's address space
_FRAME = struct.Struct(">II")  # the length of a frame's JSON head, then of its body


@dataclass(frozen=True, slots=True)
class Job:
    """What to draw: at most `max_pages` first pages `width_px` wide (a tall page no taller
    than `max_aspect` widths, no page more than `max_pixels`), as PNG or as raw RGB; and each
    drawn page's text if `texts`."""

    max_pages: int
    width_px: int
    max_pixels: int = 4_000_000
    max_aspect: float = 0.0  # 0: no bound but max_pixels
    png: bool = True
    texts: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """One drawn page: a PNG (`width`, `height` and `stride` then 0) or RGB pixels, 3 bytes
    each, `stride` bytes a row."""

    data: bytes
    width: int = 0
    height: int = 0
    stride: int = 0


@dataclass(slots=True)
class Rendered:
    """What the child sent before it ended: the page count, each drawn page's text, the drawn
    pages in order. `complete` once it said it was done; else `failure` says why not
    (timeout, killed, unreadable, ...)."""

    count: int | None = None
    texts: list[str] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    complete: bool = False
    failure: str = ""


def render(
    pdf: bytes,
    job: Job,
    *,
    timeout_s: float = TIMEOUT_S,
    cpu_s: int = CPU_S,
    memory_bytes: int = MEMORY_BYTES,
) -> Rendered:
    """The PDF drawn by a child process under limits; never raises for what the PDF does."""
    head = json.dumps(
        {"job": _job_dict(job), "cpu_s": cpu_s, "memory_bytes": memory_bytes}
    ).encode()
    # -I: no environment variable, user site or script folder changes what the child imports.
    command = [sys.executable, "-I", __file__]
    try:
        child = subprocess.Popen(  # noqa: S603 - our interpreter, our script, no shell
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
    except OSError:
        return Rendered(failure="no_process")
    failure = ""
    try:
        out, _ = child.communicate(_FRAME.pack(len(head), len(pdf)) + head + pdf, timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        out, _ = child.communicate()
        failure = "timeout"
    except BaseException:
        child.kill()
        child.wait()
        raise
    rendered = _parse(out)
    if not rendered.complete and not failure:
        failure = rendered.failure or f"exit_{child.returncode}"
    rendered.failure = "" if rendered.complete else failure
    return rendered


def _job_dict(job: Job) -> dict[str, Any]:
    return {
        "max_pages": job.max_pages,
        "width_px": job.width_px,
        "max_pixels": job.max_pixels,
        "max_aspect": job.max_aspect,
        "png": job.png,
        "texts": job.texts,
    }


def _parse(out: bytes) -> Rendered:
    """The whole frames the child wrote (a frame cut by its death is dropped)."""
    rendered = Rendered()
    at = 0
    while at + _FRAME.size <= len(out):
        head_len, body_len = _FRAME.unpack_from(out, at)
        end = at + _FRAME.size + head_len + body_len
        if end > len(out):
            break
        try:
            head = json.loads(out[at + _FRAME.size : at + _FRAME.size + head_len])
        except ValueError:
            break
        body = out[at + _FRAME.size + head_len : end]
        at = end
        kind = head.get("kind") if isinstance(head, dict) else None
        if kind == "count":
            rendered.count = int(head["count"])
        elif kind == "text":
            rendered.texts.append(body.decode("utf-8", errors="replace"))
        elif kind == "page":
            rendered.pages.append(
                Page(body, int(head["width"]), int(head["height"]), int(head["stride"]))
            )
        elif kind == "failure":
            rendered.failure = str(head.get("reason", "failure"))
            break
        elif kind == "done":
            rendered.complete = True
            break
    return rendered


# -- the child ---------------------------------------------------------------------------------


def _send(out: BinaryIO, head: dict[str, Any], body: bytes = b"") -> None:
    encoded = json.dumps(head).encode()
    out.write(_FRAME.pack(len(encoded), len(body)) + encoded + body)
    out.flush()


def _child() -> None:  # pragma: no cover - runs in the child process
    import resource

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    head_len, body_len = _FRAME.unpack(stdin.read(_FRAME.size))
    settings = json.loads(stdin.read(head_len))
    memory, cpu = int(settings["memory_bytes"]), int(settings["cpu_s"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    data = stdin.read(body_len)
    job = settings["job"]
    try:
        _draw(data, job, stdout)
    except MemoryError:
        _send(stdout, {"kind": "failure", "reason": "memory"})
    _send(stdout, {"kind": "done"})


def _draw(data: bytes, job: dict[str, Any], out: BinaryIO) -> None:  # pragma: no cover
    import io

    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        _send(out, {"kind": "failure", "reason": "unreadable"})
        sys.exit(0)
    count = len(document)
    _send(out, {"kind": "count", "count": count})
    width_px, max_pixels = float(job["width_px"]), float(job["max_pixels"])
    for index in range(min(count, int(job["max_pages"]))):
        try:
            page = document[index]
            width, height = page.get_size()
            if width <= 0 or height <= 0:
                _send(out, {"kind": "failure", "reason": "page_size"})
                sys.exit(0)
            scale = width_px / width
            if job["max_aspect"]:
                scale = min(scale, width_px * float(job["max_aspect"]) / height)
            if width * height * scale * scale > max_pixels:
                scale = (max_pixels / (width * height)) ** 0.5
            if job["texts"]:
                textpage = page.get_textpage()
                _send(out, {"kind": "text"}, " ".join(textpage.get_text_bounded().split()).encode())
                textpage.close()
            if job["png"]:
                image = page.render(scale=scale).to_pil()
                png = io.BytesIO()
                image.save(png, format="PNG", optimize=True)
                _send(out, {"kind": "page", "width": 0, "height": 0, "stride": 0}, png.getvalue())
            else:
                bitmap = page.render(scale=scale, rev_byteorder=True)  # RGB, as QImage reads it
                if bitmap.n_channels != 3:
                    _send(out, {"kind": "failure", "reason": "bitmap_format"})
                    sys.exit(0)
                meta = {"width": bitmap.width, "height": bitmap.height, "stride": bitmap.stride}
                _send(out, {"kind": "page", **meta}, bytes(bitmap.buffer))
                bitmap.close()
            page.close()
        except pdfium.PdfiumError:
            _send(out, {"kind": "failure", "reason": "page"})
            sys.exit(0)


if __name__ == "__main__":  # pragma: no cover - the child
    _child()
