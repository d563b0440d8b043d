"""Where the kiosk keeps its data: KIOSK_HOME, or the platform's user data folder."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

__all__ = ["kiosk_home"]


def kiosk_home() -> Path:
    """The kiosk's data folder (database, device key, configuration)."""
    return Path(os.environ.get("KIOSK_HOME") or user_data_dir("dmp-kiosk"))
