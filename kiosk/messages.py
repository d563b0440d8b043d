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

__all__ = [
    "AGENT_NO_CONTENT",
    "CONSENT_REQUIRED",
    "DOCTOR_INVALID",
    "IDLE_TIMEOUT",
    "LOGIN_FIRST",
    "OFFLINE_LOGIN",
    "ONE_PATIENT_AT_A_TIME",
    "OPEN_NEEDS_NETWORK",
    "OPERATOR_ALREADY_IN",
    "OPERATOR_CARD_REMOVED",
    "PATIENT_CARD_REMOVED",
    "REASON_REQUIRED",
    "REPRESENTATIVE_REQUIRED",
    "TO_QUALIFY",
    "UNEXPECTED",
    "contact_invalid",
    "describe_card_family",
    "describe_error",
    "identity_not_qualified",
    "open_refused",
]

# -- the counter workflow (kiosk/session.py) ---------------------------------------------------

LOGIN_FIRST = "connectez-vous d'abord avec votre carte professionnelle (CPS ou CPE)"
OPERATOR_ALREADY_IN = "une carte professionnelle est déjà connectée : retirez cette carte"
OPERATOR_CARD_REMOVED = "carte professionnelle retirée : session fermée"
PATIENT_CARD_REMOVED = "carte Vitale retirée : les données du patient ont été effacées"
ONE_PATIENT_AT_A_TIME = "une seule carte Vitale à la fois : retirez la seconde carte"
OFFLINE_LOGIN = (
    "hors ligne : vous pouvez créer des DMP, ils seront transmis au retour du réseau ; "
    "la consultation attend le réseau"
)
TO_QUALIFY = (
    "hors ligne : l'identité sera vérifiée (INSi) au retour du réseau ; "
    "le statut du DMP n'est pas connu"
)
CONSENT_REQUIRED = "cochez le consentement du patient pour créer son DMP"
REPRESENTATIVE_REQUIRED = (
    "patient mineur : choisissez le représentant légal parmi les adultes de la carte"
)
DOCTOR_INVALID = "médecin traitant : numéro RPPS (11 chiffres) ou ADELI (9 chiffres)"
AGENT_NO_CONTENT = "le contenu du DMP est réservé aux professionnels de santé"
REASON_REQUIRED = "accès d'urgence : indiquez le motif (il est tracé et le patient prévenu)"
OPEN_NEEDS_NETWORK = "consultation impossible hors ligne : réessayez au retour du réseau"
IDLE_TIMEOUT = "inactivité : les données du patient ont été effacées"
UNEXPECTED = "erreur inattendue : réessayez, puis prévenez le support si elle revient"

_QUALIFY = {
    "not_found": "identité introuvable au référentiel INS : vérifiez la carte du patient",
    "ambiguous": "identité ambiguë au référentiel INS : vérifiez l'identité du patient",
}
_OPEN_REFUSED = {
    "not_authorised": "vous n'êtes pas autorisé sur ce DMP : le patient peut vous autoriser",
    "blocked_by_patient": "le patient vous a bloqué sur ce DMP",
    "not_a_regulator": "accès régulateur réservé au médecin régulateur du SAMU",
    "patient_refused_etreat": "le patient a refusé l'accès du régulateur SAMU",
    "patient_refused_btg": "le patient a refusé l'accès d'urgence (bris de glace)",
    "no_medical_content_for_agents": "le contenu du DMP est réservé aux professionnels de santé",
    "no_dmp": "ce patient n'a pas de DMP",
    "dmp_closed": "ce DMP est fermé",
}


def describe_card_family(family: str) -> str:
    """Why a card the kiosk does not read is refused."""
    if family in _UNSUPPORTED:
        return _UNSUPPORTED[family]
    return (
        "carte inconnue (ni carte Vitale, ni carte professionnelle) : "
        "présentez une carte Vitale 2 ou une CPS/CPE"
    )


def identity_not_qualified(status: str) -> str:
    return _QUALIFY.get(status, "identité non qualifiée : vérifiez la carte du patient")


def contact_invalid(reason: str) -> str:
    return f"contact de notification : {reason}"


def open_refused(code: str) -> str:
    return _OPEN_REFUSED.get(code, f"consultation refusée ({code})")


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
