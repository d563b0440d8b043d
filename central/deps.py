"""FastAPI dependencies."""

from __future__ import annotations

from typing import cast

from fastapi import Request

from central.state import AppState

__all__ = ["get_state"]


def get_state(request: Request) -> AppState:
    """The application's wiring."""
    return cast(AppState, request.app.state.central)
