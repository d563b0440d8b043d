"""Tampering with a kiosk's stored queue, as someone with the disk would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["tamper"]


def tamper(db_path: Path, how: str) -> None:
    """flip: one byte of envelope 3; delete: envelope 3; swap: envelopes 2 and 4."""
    with sqlite3.connect(db_path) as conn:
        if how == "flip":
            blob = bytearray(conn.execute("SELECT envelope FROM actions WHERE seq=3").fetchone()[0])
            blob[len(blob) // 2] ^= 0x01
            conn.execute("UPDATE actions SET envelope=? WHERE seq=3", (bytes(blob),))
        elif how == "delete":
            conn.execute("DELETE FROM actions WHERE seq=3")
        elif how == "swap":
            select = "SELECT envelope, signature, hash FROM actions WHERE seq=?"
            two, four = (conn.execute(select, (seq,)).fetchone() for seq in (2, 4))
            update = "UPDATE actions SET envelope=?, signature=?, hash=? WHERE seq=?"
            conn.execute(update, (*four, 2))
            conn.execute(update, (*two, 4))
        else:
            raise ValueError(how)
