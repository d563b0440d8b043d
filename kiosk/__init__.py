"""The DMP kiosk: domain core (identities, workflow, actions). Imports no Qt, pyscard or HTTP."""

from __future__ import annotations

__all__: list[str] = []
