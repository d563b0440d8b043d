"""Alembic environment: the URL comes from the caller (central.migrate), never from a file."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, event

import central.models  # noqa: F401 - registers every table
from central.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run against the URL set by central.migrate (or an existing connection)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    if engine.dialect.name == "sqlite":
        # Batch mode copies a table and drops the old one; with foreign keys on, a table that
        # references itself (documents.replaces) cannot be dropped while a row does. Off for
        # the migration, then every key checked once at the end.
        event.listen(engine, "connect", _sqlite_keys_off)
    try:
        with engine.connect() as conn:
            _run(conn)
            if engine.dialect.name == "sqlite":
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} broken foreign keys")
    finally:  # a migration that refuses leaves no connection open behind it
        engine.dispose()


def _sqlite_keys_off(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


run_online()
