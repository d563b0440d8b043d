"""Virtual cards for the vpcd virtual reader: Vitale 2 and CPS/CPE emulators.

Independent of the kiosk's reader code on purpose: a bug shared by both sides would hide.
"""

from __future__ import annotations

from drivers.image import CardImage, load_image
from drivers.vpcd import VirtualCardLink, insert_card

__all__ = ["CardImage", "VirtualCardLink", "insert_card", "load_image"]
