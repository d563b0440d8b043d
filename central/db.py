"""Database: the declarative base, the engine (SQLite or PostgreSQL) and sessions."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, Executable, create_engine, event, make_url
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "UtcDateTime",
    "drop_kept",
    "insert_for",
    "keep_on_failure",
    "kept_mark",
    "make_engine",
    "make_sessionmaker",
    "replay_after_rollback",
    "replay_kept",
    "take_kept",
    "utcnow",
]

_KEPT = "kept_on_failure"


def insert_for(db: Session) -> Any:
    """The database's own INSERT, which knows ON CONFLICT DO NOTHING (both dialects)."""
    return pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert


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


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (it would follow the umask, often 0644),
    and tighten one of ours; SQLite gives its -wal and -shm files the main file's mode."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    # Never open a database file that may be open: closing any descriptor of it drops this
    # process's SQLite locks (POSIX), which corrupts it. Create it only if it is not there.
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # empty: a database
    except FileExistsError:
        pass
    for name in (path, *(path.with_name(path.name + tail) for tail in ("-wal", "-shm"))):
        try:
            info = name.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == os.getuid() and info.st_mode & 0o077:
            name.chmod(0o600)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine; SQLite gets WAL, foreign keys and writer transactions that start at once,
    and a file only its owner reads."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
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
    replay_after_rollback(db, statement)


def replay_after_rollback(db: Session, statement: Executable) -> None:
    """Keep a write already done (its result read by the caller) to be done again after a
    rollback, as keep_on_failure does."""
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
