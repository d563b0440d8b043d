"""Card -> kiosk workflow -> queue -> central: the real pcscd with vpcd and our virtual cards,
the real central service on loopback (SQLite), the real queue and sync client."""

from __future__ import annotations

from tests.support.counter import aged, cards, pcscd, queue, server
from tests.support.mail import mailbox

__all__ = ["aged", "cards", "mailbox", "pcscd", "queue", "server"]
