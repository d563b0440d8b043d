"""Notification texts, in French. Never any health data: who and when, not what."""

from __future__ import annotations

import datetime as dt

from dmpcommon.vocabulary import AccessMode

__all__ = ["emergency_access", "first_access", "new_document", "one_time_code"]


def _when(at: dt.datetime) -> str:
    return at.strftime("%d/%m/%Y à %H:%M (UTC)")


def new_document(portal_url: str) -> tuple[str, str]:
    return (
        "Nouveau document dans votre DMP",
        f"Un nouveau document a été ajouté à votre Dossier Médical Partagé. "
        f"Connectez-vous pour le consulter : {portal_url}",
    )


def first_access(who: str, at: dt.datetime, portal_url: str) -> tuple[str, str]:
    return (
        "Première consultation de votre DMP par un professionnel",
        f"{who} a consulté votre Dossier Médical Partagé pour la première fois le {_when(at)}. "
        f"L'historique des accès est sur {portal_url}",
    )


def emergency_access(
    who: str, mode: AccessMode, at: dt.datetime, portal_url: str
) -> tuple[str, str]:
    kind = (
        "par le régulateur du SAMU"
        if mode is AccessMode.REGULATOR
        else "en accès d'urgence (bris de glace)"
    )
    return (
        "Accès d'urgence à votre DMP",
        f"Votre Dossier Médical Partagé a été consulté {kind} par {who} le {_when(at)}. "
        f"Le motif déclaré est visible dans l'historique des accès : {portal_url}",
    )


def one_time_code(code: str, minutes: int) -> tuple[str, str]:
    return (
        "Votre code de connexion au DMP",
        f"Votre code de connexion au DMP : {code}. Il expire dans {minutes} minutes. "
        f"Ne le communiquez à personne.",
    )
