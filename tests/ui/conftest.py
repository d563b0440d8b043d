"""The real kiosk app offscreen (pytest-qt) over the real pcscd, cards and central service."""

from __future__ import annotations

from tests.support.counter import aged, pcscd, server
from tests.support.mail import mailbox
from tests.support.ui import make_kiosk

__all__ = ["aged", "mailbox", "make_kiosk", "pcscd", "server"]
