"""The ingest writes a batch's audit entries and presences per batch, not per action, and
answers as if it wrote them one by one (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

import central.audit.trail
from central.audit.models import AuditEntry
from central.identity.held import HeldPresences
from central.identity.models import PatientPresence
from central.identity.service import PRESENCE_WINDOW, presence
from central.sync.models import Receipt
from dmpcommon.actions import (
    CardReadRefused,
    CardTraits,
    ConsentRecorded,
    ContactSet,
    IdentityToQualify,
    NotificationContact,
    RefusedCard,
    TreatingDoctorSet,
)
from dmpcommon.vocabulary import ContactChannel
from kiosk.sync.queue import ActionQueue
from tests.support.central import Professional, Server, postgresql_only
from tests.support.dmp import JEANNE, card_traits, queued_creation
from tests.support.queues import batch, enrolled_queue, post_batch, queue_login, sync

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
SKEW = dt.timedelta(minutes=2)  # central.identity.service._PRESENCE_SKEW


@pytest.fixture
def queue(server: Server, tmp_path: Path) -> ActionQueue:
    return enrolled_queue(server, tmp_path)


@contextmanager
def statements(server: Server) -> Iterator[list[str]]:
    """The SQL the service runs meanwhile (its background worker's too)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    event.listen(server.state.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(server.state.engine, "before_cursor_execute", record)


def _counter_actions(server: Server, queue: ActionQueue, rounds: int, session_id: str) -> None:
    card = CardTraits(**card_traits(server, JEANNE))
    for _ in range(rounds):
        for payload in (
            IdentityToQualify.of(card),
            ConsentRecorded(ins=JEANNE, information_version="2026-01"),
            ContactSet(
                ins=JEANNE,
                contact=NotificationContact(channel=ContactChannel.SMS, address="0612345678"),
            ),
            CardReadRefused(reason=RefusedCard.VITALE1),
        ):
            queue.enqueue(payload, session_id=session_id)


def test_a_batch_writes_its_traces_and_presences_once_whatever_its_size(
    server: Server, queue: ActionQueue, pharmacist: Professional
) -> None:
    queue_login(queue, pharmacist, "session-b1")
    queue.enqueue(queued_creation(server, JEANNE), session_id="session-b1")
    sync(server, queue)
    counts = []
    for rounds in (2, 10):  # 8 actions in a batch, then 40
        _counter_actions(server, queue, rounds, "session-b1")
        with statements(server) as seen:
            sync(server, queue)
        counts.append(
            (
                sum(s.startswith("INSERT INTO audit_entries") for s in seen),
                sum("patient_presences" in s for s in seen),
            )
        )
    status = queue.status()
    assert (status.pending, status.acknowledged, status.rejected) == (0, 2 + 8 + 40, [])
    assert counts == [(1, 2), (1, 2)]  # one INSERT of the entries; presences read, written
    with server.state.sessions() as db:
        entries = db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.actor_id == pharmacist.id_nat)
            .order_by(AuditEntry.id)
        ).all()
        assert entries[-8:] == 2 * [
            "identity_qualify",
            "consent",
            "contact_set",
            "card_read_refused",
        ]
        assert db.scalar(select(func.count()).select_from(Receipt)) == 2 + 8 + 40
        presences = select(func.count()).select_from(PatientPresence)
        assert db.scalar(presences.where(PatientPresence.session_id == "session-b1")) == 1 + 12


@postgresql_only  # SQLite takes a string of any length: it refuses nothing here
def test_an_entry_the_database_refuses_rejects_its_action_alone(
    server: Server,
    queue: ActionQueue,
    pharmacist: Professional,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue_login(queue, pharmacist, "session-b2")
    for reason in (RefusedCard.VITALE1, RefusedCard.UNKNOWN, RefusedCard.APCV):
        queue.enqueue(CardReadRefused(reason=reason), session_id="session-b2")
    values = central.audit.trail._values

    def too_long(*args: Any, **kwargs: Any) -> dict[str, Any]:
        row = values(*args, **kwargs)
        if row["detail"] == RefusedCard.UNKNOWN.value:
            row["action"] = "x" * 100  # the column takes 40
        return row

    monkeypatch.setattr(central.audit.trail, "_values", too_long)
    code, body = post_batch(server, batch(queue), queue)
    assert code == 200, body
    assert [(r["seq"], r["outcome"], r.get("reason")) for r in body["results"]] == [
        (1, "accepted", None),
        (2, "accepted", None),
        (3, "rejected", "database_refused"),
        (4, "accepted", None),
    ]
    with server.state.sessions() as db:
        assert db.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "card_read_refused")
            .order_by(AuditEntry.id)
        ).all()[-2:] == [RefusedCard.VITALE1.value, RefusedCard.APCV.value]


# -- HeldPresences answers as the query does -------------------------------------------------


def _oracle(
    rows: list[tuple[str, str, dt.datetime, bool]], session_id: str, ins: str, at: dt.datetime
) -> bool | None:
    seen = [
        by_card
        for s, i, when, by_card in rows
        if (s, i) == (session_id, ins) and at - PRESENCE_WINDOW < when <= at + SKEW
    ]
    return any(seen) if seen else None


def test_held_presences_answer_as_the_query_does(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[dt.datetime | None] = []  # `until` of each read: None for a pair's first
    read = HeldPresences._read

    def counted(*args: Any) -> list[tuple[dt.datetime, bool]]:
        reads.append(args[4] if len(args) > 4 else None)
        return read(*args)

    monkeypatch.setattr(HeldPresences, "_read", staticmethod(counted))
    chance = random.Random(18)  # noqa: S311 - test data
    pairs = [("session-h1", "1" * 15), ("session-h1", "2" * 15), ("session-h2", "1" * 15)]
    minutes = [dt.timedelta(minutes=m) for m in range(-40, 40)]
    stored = [
        (*chance.choice(pairs), T0 + chance.choice(minutes), chance.random() < 0.5)
        for _ in range(60)
    ]
    with server.state.sessions() as db:
        db.execute(
            PatientPresence.__table__.insert(),
            [{"session_id": s, "ins": i, "at": at, "by_card": c} for s, i, at, c in stored],
        )
        db.commit()
        held = HeldPresences()
        everything = list(stored)
        at = T0 - dt.timedelta(minutes=30)
        for step in range(300):
            # Mostly later, sometimes a little earlier (the kiosk's clock, bounded by a skew),
            # sometimes a presence recorded by the pass itself.
            at += dt.timedelta(seconds=chance.randint(-150, 40))
            session_id, ins = chance.choice(pairs)
            if step % 7 == 0:
                by_card = chance.random() < 0.5
                held.add(session_id, ins, at, by_card)
                everything.append((session_id, ins, at, by_card))
                continue
            answer = held.presence(db, session_id, ins, at - PRESENCE_WINDOW, at + SKEW)
            assert answer == _oracle(everything, session_id, ins, at), (step, at)
            # and the unheld query on what is stored agrees on the stored rows
            assert presence(db, session_id, ins, at) == _oracle(stored, session_id, ins, at)
        # Each pair read once, and the earlier windows read as such (not vacuous).
        assert reads.count(None) == len(pairs) and len(reads) > len(pairs)
        held.write(db)
        for session_id, ins in pairs:
            for minute in range(-40, 60, 5):
                when = T0 + dt.timedelta(minutes=minute)
                assert presence(db, session_id, ins, when) == _oracle(
                    everything, session_id, ins, when
                )
        db.rollback()


def test_a_profession_held_for_the_batch_is_forgotten_when_a_session_opens(
    server: Server, queue: ActionQueue, physician: Professional, pharmacist: Professional
) -> None:
    # The pharmacist's card (an RPPS-form id_nat) is not known when first designated, so the
    # designation stands; once their session opens in the same batch, it is known.
    queue_login(queue, physician, "session-p1")
    queue.enqueue(queued_creation(server, JEANNE), session_id="session-p1")
    designate = TreatingDoctorSet(ins=JEANNE, id_nat=pharmacist.id_nat)
    queue.enqueue(designate, session_id="session-p1")
    queue_login(queue, pharmacist, "session-p2")
    queue.enqueue(designate, session_id="session-p1")
    code, body = post_batch(server, batch(queue), queue)
    assert code == 200, body
    assert [(r["seq"], r["outcome"], r.get("reason")) for r in body["results"]] == [
        (1, "accepted", None),
        (2, "accepted", None),
        (3, "accepted", None),
        (4, "accepted", None),
        (5, "rejected", "not_a_physician"),
    ]
