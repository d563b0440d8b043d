"""Alembic environment of the kiosk's SQLite queue (URL set by kiosk.sync.store)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from kiosk.sync.models import QueueBase

config = context.config


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        connection = engine.connect()
    context.configure(
        connection=connection, target_metadata=QueueBase.metadata, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


run_online()
