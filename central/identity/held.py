"""Presences held for a pass of work that reads and records many (an ingest's batch).

A batch of one kiosk's queued actions asks "was this patient present in this operator
session?" once per change, and records a presence once per qualification, mostly of the same
session and patient. Held, each (session, patient) is read once, the answers come from
memory, and the pass's own presences are written in one statement at its end, in its
transaction. Only for work that is rolled back whole, or run again without holding, on any
failure: nothing held survives a rollback.

Rows another transaction commits after a pair was read are not seen by this pass, as if it
read them all at its start; the pass lasts a batch.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from central.identity.models import PatientPresence

__all__ = ["HeldPresences", "drop_presences", "held_presences", "hold_presences", "write_presences"]

_HELD = "held_presences"


class _Pair:
    """One session's presences of one patient: every row after `since`, in time order."""

    def __init__(self, since: dt.datetime, rows: list[tuple[dt.datetime, bool]]) -> None:
        self.since = since
        self.at = sorted(at for at, _ in rows)
        self.by_card = sorted(at for at, by_card in rows if by_card)

    def add(self, at: dt.datetime, by_card: bool) -> None:
        bisect.insort(self.at, at)
        if by_card:
            bisect.insort(self.by_card, at)


def _within(times: list[dt.datetime], after: dt.datetime, until: dt.datetime) -> bool:
    i = bisect.bisect_right(times, after)
    return i < len(times) and times[i] <= until


class HeldPresences:
    """The presences a pass has read and recorded, by (session, patient)."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._new: list[dict[str, Any]] = []

    def presence(
        self, db: Session, session_id: str, ins: str, after: dt.datetime, until: dt.datetime
    ) -> bool | None:
        """As central.identity.service.presence: a row in (after, until]? by card?"""
        pair = self._pairs.get((session_id, ins))
        if pair is None:
            rows = self._read(db, session_id, ins, after) + self._pending(session_id, ins)
            pair = self._pairs[(session_id, ins)] = _Pair(after, rows)
        elif after < pair.since:  # earlier than what was read: read that window itself
            rows = self._read(db, session_id, ins, after, until) + self._pending(session_id, ins)
            seen = [by_card for at, by_card in rows if after < at <= until]
            return any(seen) if seen else None
        if _within(pair.by_card, after, until):
            return True
        return False if _within(pair.at, after, until) else None

    def add(self, session_id: str, ins: str, at: dt.datetime, by_card: bool) -> None:
        """A presence recorded by the pass, written by `write_presences`."""
        self._new.append({"session_id": session_id, "ins": ins, "at": at, "by_card": by_card})
        pair = self._pairs.get((session_id, ins))
        if pair is not None:
            pair.add(at, by_card)

    def write(self, db: Session) -> None:
        """Write the presences recorded by the pass, in the caller's transaction."""
        if self._new:
            db.execute(insert(PatientPresence), self._new)
            self._new = []

    def _pending(self, session_id: str, ins: str) -> list[tuple[dt.datetime, bool]]:
        return [
            (row["at"], row["by_card"])
            for row in self._new
            if row["session_id"] == session_id and row["ins"] == ins
        ]

    @staticmethod
    def _read(
        db: Session,
        session_id: str,
        ins: str,
        after: dt.datetime,
        until: dt.datetime | None = None,
    ) -> list[tuple[dt.datetime, bool]]:
        query = select(PatientPresence.at, PatientPresence.by_card).where(
            PatientPresence.session_id == session_id,
            PatientPresence.ins == ins,
            PatientPresence.at > after,
        )
        if until is not None:
            query = query.where(PatientPresence.at <= until)
        return [(at, by_card) for at, by_card in db.execute(query)]


def hold_presences(db: Session) -> None:
    """Hold presences in this session until `write_presences` (see the module)."""
    db.info[_HELD] = HeldPresences()


def held_presences(db: Session) -> HeldPresences | None:
    """The presences held in this session, if a pass holds them."""
    held = db.info.get(_HELD)
    return held if isinstance(held, HeldPresences) else None


def write_presences(db: Session) -> None:
    """Write the pass's presences in the caller's transaction, and stop holding."""
    held = db.info.pop(_HELD, None)
    if isinstance(held, HeldPresences):
        held.write(db)


def drop_presences(db: Session) -> None:
    """Forget what is held (the pass is rolled back) and stop holding."""
    db.info.pop(_HELD, None)
