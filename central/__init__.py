"""The central DMP service (FastAPI + SQLAlchemy). Laid out by the central service issue."""

from __future__ import annotations

__all__: list[str] = []

from dmpcommon.actions import build_payload_types

# A service builds the shared payload classes at start-up (they defer it, for the kiosk's
# sake): the first batch of a kiosk should not pay for it.
build_payload_types()
