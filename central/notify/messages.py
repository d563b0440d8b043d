"""Notification texts, in French. Never any health data: who and when, not what."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dmpcommon.vocabulary import AccessMode

__all__ = [
    "PARIS",
    "activation_reissued",
    "came_of_age",
    "care_history_received",
    "contact_changed",
    "contact_code",
    "dmp_closed",
    "dmp_reopened",
    "emergency_access",
    "first_access",
    "new_document",
    "one_time_code",
    "paris_time",
]

PARIS = ZoneInfo("Europe/Paris")  # the patient's time, summer and winter


def paris_time(at: dt.datetime) -> str:
    """A service time (UTC) as the patient reads it: "02/12/2026 à 17:05"."""
    return at.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def _when(at: dt.datetime) -> str:
    return paris_time(at)


def new_document(portal_url: str) -> tuple[str, str]:
    return (
        "Nouveau document dans votre DMP",
        f"Un nouveau document a été ajouté à votre Dossier Médical Partagé. "
        f"Connectez-vous pour le consulter : {portal_url}",
    )


def care_history_received(portal_url: str) -> tuple[str, str]:
    return (
        "Vos soins remboursés dans votre DMP",
        "L'Assurance Maladie a versé des soins remboursés à l'historique de votre Dossier "
        f"Médical Partagé. Connectez-vous pour les consulter : {portal_url}",
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


def dmp_closed(at: dt.datetime, portal_url: str) -> tuple[str, str]:
    return (
        "Votre DMP est fermé",
        f"Votre Dossier Médical Partagé a été fermé le {_when(at)}, à votre demande. Plus aucun "
        f"professionnel ne peut le consulter ; son contenu est conservé et vous pouvez le "
        f"rouvrir sur {portal_url}",
    )


def dmp_reopened(at: dt.datetime, portal_url: str) -> tuple[str, str]:
    return (
        "Votre DMP est rouvert",
        f"Votre Dossier Médical Partagé a été rouvert le {_when(at)}. Les professionnels que "
        f"vous avez autorisés peuvent de nouveau le consulter : {portal_url}",
    )


def activation_reissued(at: dt.datetime, where: str) -> tuple[str, str]:
    return (
        "Nouveau code d'accès à votre DMP",
        f"Un nouveau code d'accès à votre Dossier Médical Partagé a été remis le {_when(at)} "
        f"({where}). L'ancien ne fonctionne plus. Si vous n'étiez pas au comptoir, "
        f"contactez votre caisse d'assurance maladie.",
    )


def contact_changed(at: dt.datetime, portal_url: str) -> tuple[str, str]:
    return (
        "Le contact de votre DMP a changé",
        f"Le contact où votre Dossier Médical Partagé vous prévient a été changé le "
        f"{_when(at)} : ce message est le dernier envoyé ici. Si ce n'est pas vous, "
        f"contactez votre caisse d'assurance maladie. Historique : {portal_url}",
    )


def contact_code(code: str, minutes: int) -> tuple[str, str]:
    return (
        "Confirmez le contact de votre DMP",
        f"Pour que votre Dossier Médical Partagé vous prévienne ici, saisissez ce code : "
        f"{code}. Il expire dans {minutes} minutes. Ne le communiquez à personne.",
    )


def creation_code(code: str, minutes: int) -> tuple[str, str]:
    return (
        "Créez votre DMP : votre code",
        f"Pour créer votre Dossier Médical Partagé et être prévenu(e) ici, saisissez ce code : "
        f"{code}. Il expire dans {minutes} minutes. Si vous n'avez rien demandé, ignorez ce "
        f"message : rien n'est créé sans ce code.",
    )


def came_of_age(first_name: str) -> tuple[str, str]:
    return (
        "Le DMP de votre enfant devient le sien",
        f"{first_name} a 18 ans : son Dossier Médical Partagé est désormais le sien. Vous n'y "
        f"avez plus accès et ce message est le dernier envoyé ici pour ce dossier. Dites-lui "
        f"qu'il ou elle peut demander une fiche d'accès au comptoir (pharmacie, agence Enim, "
        f"admission), avec sa carte Vitale.",
    )
