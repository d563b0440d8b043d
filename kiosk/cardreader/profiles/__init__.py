"""Card profiles: one module per card, each with a session class returning frozen dataclasses."""

from __future__ import annotations

from kiosk.cardreader.profiles.cps import CpsSession, ProfessionalCard
from kiosk.cardreader.profiles.vitale2 import Vitale2Session, VitaleCard, VitaleHolder

__all__ = ["CpsSession", "ProfessionalCard", "Vitale2Session", "VitaleCard", "VitaleHolder"]
