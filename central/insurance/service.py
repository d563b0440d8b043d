"""The health insurance's feed of reimbursed care: which records await their history, and
receiving lines for one record. Rules only: a session and the feed client, no HTTP.

The feed is a system client, never a professional: it reads no record and opens none; it
may list the records awaiting their 24 months and post lines to one. Each batch is traced
in the patient's audit trail under the client's name ("Assurance Maladie") and tells the
patient once, with no health data, as a new document does.

A closed DMP (FERME) refuses new lines, traced: the patient closed it, and a record shut to
every professional is not filled behind their back; its content is kept as it was, and the
feed may send again once the patient reopens it (the lines' identifiers make it harmless).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from central.audit.trail import AuditAction, AuditOutcome, trace_client
from central.db import insert_for
from central.dmp.common import PatientNotices, history_horizon
from central.dmp.models import CareHistoryRequest, CareLine, Dmp
from central.errors import BadRequest, Conflict, Forbidden, NotFound, ServiceError
from central.insurance.schemas import (
    CareHistoryRequestOut,
    CareHistoryRequestsPage,
    CareLineIn,
    CareLinesIn,
    CareLinesResult,
)
from central.notify import messages
from dmpcommon.vocabulary import DmpStatus

__all__ = ["FEED_ROLE", "CareFeed", "FeedClient", "MAX_PAGE"]

FEED_ROLE = "assurance_maladie"  # the trail's role of the feed: no role of the access rules
MAX_PAGE = 200
_CONTENT = ("care_date", "nature", "code_system", "code", "label", "quantity", "executant")


@dataclass(frozen=True, slots=True)
class FeedClient:
    """The enrolled feed client that signed the request: its id and its site's name."""

    id: str
    name: str


def _cursor(request: CareHistoryRequest) -> str:
    at = request.requested_at.astimezone(dt.UTC)
    return f"{int(at.timestamp() * 1_000_000)}_{request.dmp_ins}"


def _after(cursor: str) -> tuple[dt.datetime, str]:
    micros, _, ins = cursor.partition("_")
    if not (micros.isdigit() and len(micros) <= 20 and 1 <= len(ins) <= 15):
        raise BadRequest("unreadable cursor", code="bad_cursor")
    return dt.datetime.fromtimestamp(int(micros) / 1_000_000, dt.UTC), ins


class CareFeed:
    """The feed's two doors: the records awaiting history, and a batch of lines for one."""

    def __init__(self, notices: PatientNotices) -> None:
        self.notices = notices

    def pending(
        self, db: Session, *, cursor: str | None, limit: int = MAX_PAGE
    ) -> CareHistoryRequestsPage:
        """Open records whose initial 24 months are not all received, oldest first."""
        query = (
            select(CareHistoryRequest)
            .join(Dmp, Dmp.ins == CareHistoryRequest.dmp_ins)
            .where(
                CareHistoryRequest.fulfilled_at.is_(None),
                Dmp.status != DmpStatus.CLOSED.value,
            )
            .order_by(CareHistoryRequest.requested_at, CareHistoryRequest.dmp_ins)
            .limit(max(1, min(limit, MAX_PAGE)))
        )
        if cursor is not None:
            at, ins = _after(cursor)
            query = query.where(
                tuple_(CareHistoryRequest.requested_at, CareHistoryRequest.dmp_ins) > (at, ins)
            )
        rows = list(db.scalars(query))
        full = len(rows) == max(1, min(limit, MAX_PAGE))
        return CareHistoryRequestsPage(
            requests=[CareHistoryRequestOut(ins=r.dmp_ins, since=r.since) for r in rows],
            next=_cursor(rows[-1]) if rows and full else None,
        )

    def receive(
        self, db: Session, feed: FeedClient, ins: str, batch: CareLinesIn, now: dt.datetime
    ) -> CareLinesResult:
        """Store the batch's new lines (all or none), say what became of each, mark the
        initial request fulfilled if the batch completes it; traced and told to the patient."""
        dmp = db.get(Dmp, ins)
        if dmp is None:
            _refuse(db, feed, None, NotFound("no DMP for this INS", code="no_dmp"), now)
        if dmp.status == DmpStatus.CLOSED:
            _refuse(db, feed, ins, Forbidden("this DMP is closed", code="dmp_closed"), now)
        today = now.date()
        lines = _one_per_id(batch.lines)
        if any(line.care_date > today for line in lines):
            raise BadRequest("a care line is dated in the future", code="care_date_in_future")
        horizon = history_horizon(today)
        recent = [line for line in lines if line.care_date >= horizon]
        stored = self._insert_new(db, ins, recent, now)
        request = db.get(CareHistoryRequest, ins)
        initial = request is not None and request.fulfilled_at is None
        if stored:
            _trace(db, feed, ins, AuditOutcome.DONE, f"lines={len(stored)}", now)
            if dmp.notify_new_document:
                # The first 24 months come in several batches: one message for them all.
                key = (
                    f"care_history:{ins}"
                    if initial
                    else f"care_lines:{ins}:{_digest(sorted(stored))}"
                )
                self.notices.tell(
                    db, dmp, key, messages.care_history_received(self.notices.portal_url), now
                )
        if batch.complete and request is not None and initial:
            request.fulfilled_at = now
        return CareLinesResult(
            stored=len(stored),
            already_stored=len(recent) - len(stored),
            too_old=len(lines) - len(recent),
            fulfilled=request is not None and request.fulfilled_at is not None,
        )

    @staticmethod
    def _insert_new(db: Session, ins: str, lines: list[CareLineIn], now: dt.datetime) -> set[str]:
        """Insert the lines not stored yet; a line stored with other content refuses the
        batch (409: an identifier names one line for ever)."""
        if not lines:
            return set()
        rows = [
            {"dmp_ins": ins, "received_at": now, **line.model_dump(include={"line_id", *_CONTENT})}
            for line in lines
        ]
        statement = (
            insert_for(db)(CareLine)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["dmp_ins", "line_id"])
            .returning(CareLine.line_id)
        )
        stored = set(db.scalars(statement))
        resent = {line.line_id: line for line in lines if line.line_id not in stored}
        if resent:
            kept = db.execute(
                select(CareLine.line_id, *(getattr(CareLine, f) for f in _CONTENT)).where(
                    CareLine.dmp_ins == ins, CareLine.line_id.in_(resent)
                )
            )
            for row in kept:
                if tuple(row[1:]) != tuple(getattr(resent[row.line_id], f) for f in _CONTENT):
                    raise Conflict(
                        "a line with this identifier was received with other content",
                        code="line_conflict",
                    )
        return stored


def _one_per_id(lines: list[CareLineIn]) -> list[CareLineIn]:
    """The batch's lines, each identifier once; the same identifier twice with different
    content is refused."""
    seen: dict[str, CareLineIn] = {}
    for line in lines:
        first = seen.setdefault(line.line_id, line)
        if first != line:
            raise Conflict("one identifier for two different lines", code="line_conflict")
    return list(seen.values())


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]


def _trace(
    db: Session,
    feed: FeedClient,
    ins: str | None,
    outcome: AuditOutcome,
    detail: str,
    now: dt.datetime,
) -> None:
    # The feed is no actor of the access rules (central.actors.Actor has a Role): its
    # entries name the enrolled client and its site, in the same trail, chained alike.
    who = (feed.id, feed.name, FEED_ROLE)
    trace_client(
        db, who, AuditAction.CARE_LINES, now=now, patient_ins=ins, outcome=outcome, detail=detail
    )


def _refuse(
    db: Session, feed: FeedClient, ins: str | None, error: ServiceError, now: dt.datetime
) -> NoReturn:
    """Trace the refusal (kept through the rollback), then raise it."""
    _trace(db, feed, ins, AuditOutcome.REFUSED, error.code, now)
    raise error
