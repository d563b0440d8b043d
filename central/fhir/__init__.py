"""The FHIR R4 doorway (IHE MHD as the ANS profiles it in PDSm) onto the same service."""

from __future__ import annotations

from central.fhir.endpoints import router

__all__ = ["router"]
