"""The actor behind a request: an operator (professional card) or a patient."""

from __future__ import annotations

from dataclasses import dataclass

from dmpcommon.vocabulary import Role

__all__ = ["HEALTH_PROFESSIONS", "Actor"]

# TRE_G15 profession codes of health professionals, as the patient is told who read.
HEALTH_PROFESSIONS = {
    "10": "médecin",
    "21": "pharmacien",
    "40": "chirurgien-dentiste",
    "50": "sage-femme",
    "60": "infirmier",
    "70": "masseur-kinésithérapeute",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, as the audit log names them."""

    id: str  # id_nat for a professional, "patient:<INS>" for a patient
    name: str
    role: Role
    session_id: str
    profession: str | None = None
    structure_name: str = ""
    patient_ins: str | None = None  # set for a patient session

    def public_label(self) -> str:
        """How the patient is told who this is (no health data)."""
        profession = HEALTH_PROFESSIONS.get(self.profession or "", "")
        parts = [self.name, profession, self.structure_name]
        return ", ".join(p for p in parts if p)
