"""The central DMP service (FastAPI + SQLAlchemy). Laid out by the central service issue."""

from __future__ import annotations

__all__: list[str] = []
