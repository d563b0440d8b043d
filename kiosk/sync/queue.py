"""The signed, sealed, hash-chained local queue (SQLite, WAL, synchronous=FULL).

`enqueue` seals the payload to the central key (the envelope header as AAD), assigns the next
sequence number and the previous envelope's hash, signs the exact envelope bytes and inserts,
all in one IMMEDIATE transaction: when it returns, the action survives a power cut. Payloads
never touch the disk in clear.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import (
    Engine,
    PoolProxiedConnection,
    bindparam,
    case,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from uuid_utils.compat import uuid7

from dmpcommon.actions import ActionPayload, encode_payload
from dmpcommon.envelope import GENESIS_HASH, ActionEnvelope, EnvelopeError, envelope_hash
from dmpcommon.sealing import Recipient
from dmpcommon.signing import SignatureError, sign, verify
from kiosk.core.ports import Delivery
from kiosk.settings import private_file
from kiosk.sync.models import QueuedAction
from kiosk.sync.sealahead import SealAhead

__all__ = [
    "ActionQueue",
    "ChainProblem",
    "Outcome",
    "QueueStatus",
    "QueueStore",
    "QueuedEntry",
    "open_engine",
]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LAST_SQL = "SELECT seq, hash FROM actions ORDER BY seq DESC LIMIT 1"
_RECORD = (
    update(QueuedAction)
    .where(QueuedAction.seq == bindparam("b_seq"), QueuedAction.status == "pending")
    .values(
        status=bindparam("b_status"),
        reason=bindparam("b_reason"),
        acked_at=bindparam("b_at"),
        # Initials are kept only to tell a refusal: an accepted action forgets them.
        subject=case((bindparam("b_status") == "acknowledged", None), else_=QueuedAction.subject),
    )
)
_INSERT_SQL = (
    "INSERT INTO actions (seq, action_id, action_type, created_at, envelope, signature, hash,"
    " status, subject) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)"
)


SCHEMA_HEAD = "k0002"  # the last migration; a test checks it is Alembic's head


def open_engine(path: Path) -> Engine:
    """The queue's SQLite engine, schema brought up to date by Alembic (imported only when
    there is something to migrate: it is a third of the kiosk's start-up otherwise)."""
    private_file(path)  # 0600 before SQLite opens it: its -wal and -shm files take its mode
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # BEGIN is ours
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a confirmed action survives a power cut
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    with engine.begin() as connection:
        try:
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except OperationalError:
            version = None  # a new file
        if version == SCHEMA_HEAD:
            return engine
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return engine


@dataclass(frozen=True, slots=True)
class QueuedEntry:
    """What enqueue returns: the action is durable."""

    seq: int
    action_id: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The central service's answer for one action."""

    seq: int
    accepted: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first place where the stored chain is wrong."""

    seq: int
    problem: str


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """The queue at a glance (`kiosk queue status --json`)."""

    pending: int
    oldest_pending_age_s: float | None
    acknowledged: int
    rejected: list[dict[str, Any]]
    last_ack_at: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "oldest_pending_age_s": self.oldest_pending_age_s,
            "acknowledged": self.acknowledged,
            "rejected": self.rejected,
            "last_ack_at": self.last_ack_at,
        }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class QueueStore:
    """The stored queue: read, answer, verify (no keys needed but the device's public one)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    def close(self) -> None:
        """Close the store's connections."""
        self.engine.dispose()

    def count(self) -> int:
        """How many actions are stored."""
        with self.sessions() as db:
            return db.scalar(select(func.count()).select_from(QueuedAction)) or 0

    def delivery(self, entry: object) -> Delivery:
        """Whether the central service answered this enqueued action, and how."""
        if not isinstance(entry, QueuedEntry):
            raise TypeError("not an entry of this queue")
        with self.sessions() as db:
            status = db.scalar(select(QueuedAction.status).where(QueuedAction.seq == entry.seq))
        if status == "acknowledged":
            return Delivery.ACCEPTED
        return Delivery.REJECTED if status == "rejected" else Delivery.PENDING

    def refusal(self, entry: object) -> str | None:
        """The service's reason for a rejected action (None: not rejected, or no reason)."""
        if not isinstance(entry, QueuedEntry):
            raise TypeError("not an entry of this queue")
        with self.sessions() as db:
            row = db.execute(
                select(QueuedAction.status, QueuedAction.reason).where(
                    QueuedAction.seq == entry.seq
                )
            ).first()
        return row.reason if row is not None and row.status == "rejected" else None

    def pending(self, limit: int = 100) -> list[QueuedAction]:
        """The oldest actions the central service has not answered yet, in order."""
        with self.sessions() as db:
            return list(
                db.scalars(
                    select(QueuedAction)
                    .where(QueuedAction.status == "pending")
                    .order_by(QueuedAction.seq)
                    .limit(limit)
                )
            )

    def record_outcome(self, seq: int, *, accepted: bool, reason: str | None = None) -> None:
        """The central service's answer for one action (acknowledged, or rejected: reason)."""
        self.record_outcomes([Outcome(seq, accepted, reason)])

    def record_outcomes(self, outcomes: list[Outcome]) -> None:
        """The answers for a batch, in one transaction (one flush to disk, not one each)."""
        if not outcomes:
            return
        at = _now()
        with self.engine.begin() as connection:
            connection.execute(
                _RECORD,
                [
                    {
                        "b_seq": o.seq,
                        "b_status": "acknowledged" if o.accepted else "rejected",
                        "b_reason": o.reason,
                        "b_at": at,
                    }
                    for o in outcomes
                ],
            )

    def status(self, now: dt.datetime | None = None) -> QueueStatus:
        """Counts, oldest pending age, rejected actions with their reasons."""
        now = now or dt.datetime.now(dt.UTC)
        with self.sessions() as db:
            counts = dict(
                db.execute(
                    select(QueuedAction.status, func.count()).group_by(QueuedAction.status)
                ).all()
            )
            oldest = db.scalar(
                select(func.min(QueuedAction.created_at)).where(QueuedAction.status == "pending")
            )
            last_ack = db.scalar(select(func.max(QueuedAction.acked_at)))
            rejected = [
                {
                    "seq": r.seq,
                    "action_id": r.action_id,
                    "type": r.action_type,
                    "reason": r.reason,
                    "created_at": r.created_at,
                    "subject": r.subject,
                }
                for r in db.scalars(
                    select(QueuedAction)
                    .where(QueuedAction.status == "rejected")
                    .order_by(QueuedAction.seq)
                )
            ]
        age = (now - dt.datetime.fromisoformat(oldest)).total_seconds() if oldest else None
        return QueueStatus(
            pending=counts.get("pending", 0),
            oldest_pending_age_s=round(age, 3) if age is not None else None,
            acknowledged=counts.get("acknowledged", 0) + counts.get("rejected", 0),
            rejected=rejected,
            last_ack_at=last_ack,
        )

    def verify(self, public_key: bytes) -> ChainProblem | None:
        """Check sequence, chain and signatures; the first bad sequence number, or None."""
        expected, prev = 1, GENESIS_HASH
        with self.sessions() as db:
            for row in db.scalars(select(QueuedAction).order_by(QueuedAction.seq)):
                if row.seq != expected:
                    return ChainProblem(expected, "missing")
                try:  # the signature first: changed bytes are tampering, whatever they parse to
                    verify(public_key, row.envelope, row.signature)
                    envelope = ActionEnvelope.decode(row.envelope)
                except SignatureError:
                    return ChainProblem(row.seq, "bad signature")
                except EnvelopeError:
                    return ChainProblem(row.seq, "malformed envelope")
                if envelope.seq != row.seq or envelope.action_id != row.action_id:
                    return ChainProblem(row.seq, "moved")
                if envelope.prev_hash != prev:
                    return ChainProblem(row.seq, "chain broken")
                if envelope_hash(row.envelope) != row.hash:
                    return ChainProblem(row.seq, "hash mismatch")
                prev, expected = row.hash, expected + 1
        return None


class ActionQueue(QueueStore):
    """The queue the kiosk writes to: seals to the central key, signs with the device key."""

    def __init__(
        self,
        engine: Engine,
        *,
        kiosk_id: str,
        signing_key: Ed25519PrivateKey,
        central_key: bytes,
    ) -> None:
        super().__init__(engine)
        self.kiosk_id = kiosk_id
        self.signing_key = signing_key
        self.central_key = central_key
        self._write_lock = threading.Lock()
        self._writer: PoolProxiedConnection | None = None
        self._seals: SealAhead | None = None  # made at the first enqueue (a reader has no key)

    def _drop_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        """Close every connection (the WAL is checkpointed into the database file)."""
        with self._write_lock:
            self._drop_writer()
            if self._seals is not None:
                self._seals.close()
                self._seals = None
        super().close()

    def enqueue(
        self, payload: ActionPayload, *, session_id: str, subject: str | None = None
    ) -> QueuedEntry:
        """Seal, chain, sign and store one action; durable when this returns."""
        return self.enqueue_encoded(
            payload.action_type, encode_payload(payload), session_id=session_id, subject=subject
        )

    def enqueue_encoded(
        self, action_type: str, plaintext: bytes, *, session_id: str, subject: str | None = None
    ) -> QueuedEntry:
        """Store a payload already encoded. The kiosk always goes through `enqueue`; this is
        for what the typed payloads would refuse to build (the tests' malformed actions)."""
        # The driver's SQL, not the ORM or Core: enqueue runs at every step of the counter and
        # SQLAlchemy's per-statement work cost as much as sealing and signing together
        # (bench/queue.py). The connection still comes from the engine, with its pragmas.
        with self._write_lock:
            return self._enqueue(action_type, plaintext, session_id, subject)

    def _enqueue(
        self, action_type: str, plaintext: bytes, session_id: str, subject: str | None
    ) -> QueuedEntry:
        if self._writer is None:  # one connection for all writes, kept between them
            self._writer = self.engine.raw_connection()
        if self._seals is None:
            self._seals = SealAhead(Recipient(self.central_key))

        try:
            cursor = self._writer.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                last = cursor.execute(_LAST_SQL).fetchone()
                seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
                header = ActionEnvelope(
                    action_id=str(uuid7()),
                    kiosk_id=self.kiosk_id,
                    seq=seq,
                    prev_hash=prev,
                    created_at=_now(),
                    action_type=action_type,
                    session_id=session_id,
                    enc=b"",
                    ciphertext=b"",
                )
                enc, ciphertext = self._seals.take().seal(plaintext, header=header.header_bytes())
                envelope = dataclasses.replace(header, enc=enc, ciphertext=ciphertext)
                data = envelope.encode()
                cursor.execute(
                    _INSERT_SQL,
                    (
                        seq,
                        envelope.action_id,
                        action_type,
                        envelope.created_at,
                        data,
                        sign(self.signing_key, data),
                        envelope_hash(data),
                        subject[:16] if subject else None,
                    ),
                )
                self._seals.request()  # prepared while the commit is flushed to disk
                cursor.execute("COMMIT")
            except BaseException:
                driver = self._writer.driver_connection
                if driver is not None and driver.in_transaction:
                    cursor.execute("ROLLBACK")
                raise
        except Exception:
            self._drop_writer()  # a failing connection (disk trouble) is not reused
            raise
        return QueuedEntry(seq=seq, action_id=envelope.action_id)
