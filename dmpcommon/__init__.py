"""Pure rules shared by the kiosk and the central service (no Qt, pyscard, HTTP or database)."""

from __future__ import annotations

from dmpcommon.nir import InvalidNirError, check_nir, is_valid_nir, nir_key

__all__ = ["InvalidNirError", "check_nir", "is_valid_nir", "nir_key"]
