"""Schema migrations (Alembic), run by `central migrate` and at `central serve` start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "upgrade"]

_HERE = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str, *, audit_key: bytes | None = None) -> Config:
    """An Alembic configuration for this database, without an ini file; `audit_key` for a
    downgrade that must verify the audit log first (below 0015)."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["audit_key"] = audit_key
    return config


def upgrade(url: str) -> None:
    """Bring the database to the latest schema."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")
