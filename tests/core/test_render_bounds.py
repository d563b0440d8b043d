"""The kiosk draws an untrusted PDF in a child process under limits: a PDF made to take PDFium
minutes (or gigabytes) on its page fails within the time allowed, a second time at once, and
an ordinary PDF is still drawn."""

from __future__ import annotations

import time

import pytest

from dmpcommon import pdf_sandbox
from kiosk.core.errors import DocumentUnreadableError
from kiosk.core.ports import DocumentKind
from kiosk.render import Renderer
from tests.support.documents import pdf_bomb, report_pdf


def test_an_ordinary_pdf_is_drawn() -> None:
    content = Renderer().read(DocumentKind.PDF, report_pdf("Compte rendu", ["Tension normale."]))
    assert content.page_count == 1 and len(content.pages) == 1
    page = content.pages[0]
    assert page.width == 860 and page.stride >= page.width * 3
    assert len(page.pixels) == page.stride * page.height
    assert max(page.pixels) == 255 and min(page.pixels) < 100  # white, with dark text


def test_a_pdf_bomb_fails_within_its_bound_then_at_once() -> None:
    bomb = pdf_bomb()  # minutes of CPU for its one page
    renderer = Renderer(timeout_s=2.0)
    started = time.monotonic()
    with pytest.raises(DocumentUnreadableError):
        renderer.read(DocumentKind.PDF, bomb)
    assert time.monotonic() - started < 12.0  # killed at 2 s, not minutes
    started = time.monotonic()
    with pytest.raises(DocumentUnreadableError):  # "Réessayer": no second wait
        renderer.read(DocumentKind.PDF, bomb)
    assert time.monotonic() - started < 1.0


def test_a_greedy_pdf_dies_of_its_memory_limit_before_any_deadline() -> None:
    bomb = pdf_bomb(80)  # about 1.3 GB for PDFium to parse its page
    job = pdf_sandbox.Job(1, 860, png=False)
    drawn = pdf_sandbox.render(bomb, job, timeout_s=60, memory_bytes=512 << 20)
    assert not drawn.complete and not drawn.pages
    assert drawn.failure not in ("", "timeout")  # RLIMIT_AS, not the clock, stopped it
