"""The one place where errors become French sentences for the people at the counter.

Every sentence says what went wrong and what to do. Used by the command line and the
kiosk's screens alike; nothing here names a PIN, a NIR or health data.
"""

from __future__ import annotations

from kiosk.errors import (
    ApduError,
    CardCommunicationError,
    CardDataError,
    CardMuteError,
    CardRemovedError,
    CentralRefusedError,
    CentralUnreachableError,
    KioskError,
    NoCardError,
    NoReaderError,
    PcscUnavailableError,
    PinBlockedError,
    PinError,
    SyncError,
    UnknownCardError,
    UnsupportedCardError,
)

__all__ = ["describe_error"]

_UNSUPPORTED = {
    "vitale1": "carte Vitale 1 : non prise en charge, utilisez l'appli carte Vitale "
    "ou une carte Vitale 2",
    "apcv": "appli carte Vitale : pas encore prise en charge à ce comptoir, "
    "présentez la carte Vitale 2",
}


_REFUSED = {
    "bad_token": "jeton d'enrôlement inconnu : vérifiez-le, ou demandez-en un nouveau",
    "token_used": "jeton d'enrôlement déjà utilisé : demandez-en un nouveau",
    "token_expired": "jeton d'enrôlement expiré : demandez-en un nouveau",
}


def describe_error(error: KioskError) -> str:
    """One French line for a person: what went wrong, and what to do."""
    if isinstance(error, PcscUnavailableError):
        return "service de lecteur de cartes (pcscd) injoignable : démarrez-le, puis réessayez"
    if isinstance(error, NoReaderError):
        if error.reader:
            return f"lecteur « {error.reader} » introuvable : vérifiez son branchement"
        return "aucun lecteur de cartes : branchez un lecteur, puis réessayez"
    if isinstance(error, NoCardError):
        return "aucune carte dans le lecteur : insérez la carte, puis réessayez"
    if isinstance(error, CardRemovedError):
        return "carte retirée pendant la lecture : réinsérez-la et laissez-la en place"
    if isinstance(error, CardMuteError):
        return "la carte ne répond pas : retirez-la, vérifiez son sens, puis réinsérez-la"
    if isinstance(error, UnsupportedCardError):
        return _UNSUPPORTED.get(error.kind, "carte non prise en charge à ce comptoir")
    if isinstance(error, UnknownCardError):
        return (
            "carte inconnue (ni carte Vitale, ni carte professionnelle) : "
            "présentez une carte Vitale 2 ou une CPS/CPE"
        )
    if isinstance(error, CardDataError):
        return (
            "données de la carte illisibles ou incomplètes : la carte est peut-être "
            "abîmée, orientez le patient vers sa caisse"
        )
    if isinstance(error, PinBlockedError):
        return (
            "code porteur bloqué : la carte doit être débloquée auprès de l'ANS (hors du kiosque)"
        )
    if isinstance(error, PinError):
        if error.tries_left == 1:
            return "code porteur faux : plus qu'un seul essai avant blocage de la carte"
        if error.tries_left > 1:
            return f"code porteur faux : {error.tries_left} essais restants"
        return "code porteur faux"
    if isinstance(error, ApduError):
        return f"la carte a refusé une commande (code {error.sw:04X}) : retirez-la et réinsérez-la"
    if isinstance(error, CardCommunicationError):
        return "erreur de communication avec la carte : retirez-la et réinsérez-la"
    if isinstance(error, CentralUnreachableError):
        return "service central injoignable : vérifiez le réseau ; rien n'est perdu, réessayez"
    if isinstance(error, CentralRefusedError):
        return _REFUSED.get(error.code, f"refusé par le service central ({error.code})")
    if isinstance(error, SyncError):
        return f"synchronisation impossible ({error}) : rien n'est perdu, prévenez le support"
    return "erreur inattendue : réessayez, puis prévenez le support si elle revient"
