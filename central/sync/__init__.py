"""Kiosk enrolment and the ingest of the signed, sealed queue (the queue issue fills it)."""

from __future__ import annotations

__all__: list[str] = []
