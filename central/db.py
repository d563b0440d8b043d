"""Database: the declarative base, the engine (SQLite or PostgreSQL) and sessions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Engine, Executable, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "UtcDateTime",
    "drop_kept",
    "keep_on_failure",
    "kept_mark",
    "make_engine",
    "make_sessionmaker",
    "replay_kept",
    "take_kept",
    "utcnow",
]

_KEPT = "kept_on_failure"


def utcnow() -> dt.datetime:
    """Now, in UTC, to the microsecond."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite stores naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Base of every table."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine; SQLite gets WAL, foreign keys and writer transactions that start at once."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            # IMMEDIATE: two writers never both read the audit head then collide on upgrade.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def keep_on_failure(db: Session, statement: Executable) -> None:
    """Run a write now, and again after a rollback: what must stay although the work around
    it fails (the trace of a refusal, a failed try counted).

    Whoever owns the transaction replays these after rolling back: the unit of work of a
    request (central.state), or the ingest for one action's savepoint (central.sync.ingest).
    """
    db.execute(statement)
    db.info.setdefault(_KEPT, []).append(statement)


def kept_mark(db: Session) -> int:
    """Where the kept writes stand, to replay or drop those made after this point."""
    return len(db.info.get(_KEPT, ()))


def replay_kept(db: Session, since: int = 0) -> None:
    """After rolling back to a savepoint taken at `since`: write the kept ones again."""
    for statement in db.info.get(_KEPT, [])[since:]:
        db.execute(statement)


def drop_kept(db: Session, since: int = 0) -> None:
    """Forget the kept writes made after `since` (their work is being done again)."""
    kept = db.info.get(_KEPT)
    if kept is not None:
        del kept[since:]


def take_kept(db: Session) -> list[Executable]:
    """The kept writes, forgotten by the session (after a commit, or to replay them)."""
    return list(db.info.pop(_KEPT, ()))


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
