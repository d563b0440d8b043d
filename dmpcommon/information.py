"""The information the patient reads before consenting, at the kiosk or in the portal:
one versioned text (a document both screens show, not a message), the version recorded.

Change the text, change the version: the consent record names the version the patient saw.
"""

from __future__ import annotations

__all__ = ["INFORMATION_TEXT", "INFORMATION_VERSION"]

INFORMATION_VERSION = "2026-12"

INFORMATION_TEXT = """\
Votre Dossier Médical Partagé (DMP) est un carnet de santé numérique et sécurisé. Il conserve \
vos traitements, vos allergies, vos comptes rendus, vos résultats d'examens et vos directives \
anticipées, pour que les professionnels de santé qui vous soignent les retrouvent.

Qui peut le lire : vous ; les professionnels de santé que vous autorisez et votre médecin \
traitant ; en urgence, le médecin régulateur du SAMU et, avec une raison écrite, un \
professionnel en situation d'urgence (« bris de glace »), sauf si vous le refusez. Chaque \
accès est tracé et vous pouvez consulter la liste des accès.

Qui ne peut jamais le lire, même avec votre accord : votre employeur, la médecine du travail, \
les assurances et les banques.

En ligne, à tout moment, vous pouvez masquer un document aux professionnels, autoriser ou \
bloquer un professionnel, désigner votre médecin traitant, changer vos choix d'urgence et \
votre contact, et fermer votre DMP (ou le rouvrir). La création est gratuite et n'est pas \
obligatoire ; la refuser ne change rien à vos remboursements.
"""
