"""FastAPI dependencies."""

from __future__ import annotations

from typing import cast

from fastapi import Request

from central.state import AppState

__all__ = ["get_state", "read_body"]


def get_state(request: Request) -> AppState:
    """The application's wiring."""
    return cast(AppState, request.app.state.central)


async def read_body(request: Request) -> None:
    """Keep the exact bytes received for the kiosk's request signature (the body is read
    once, bounded by central.limits, and FastAPI's own parsing reuses it)."""
    request.state.raw_body = await request.body()
