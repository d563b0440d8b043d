"""The one place where the kiosk's codes become French sentences for the people at the counter.

The core speaks in notices (kiosk.core.notices) and errors carry codes (kiosk.core.errors);
the screens and the command line both describe them here. Every sentence says what went
wrong and what to do; nothing here names a PIN, a NIR or health data.
"""

from __future__ import annotations

from kiosk.core.errors import KioskError, NoReaderError, SettingsError
from kiosk.core.notices import Notice, NoticeCode, notice_for

__all__ = [
    "ACTION_LABELS",
    "SYNC_REFUSALS",
    "describe_action",
    "describe_error",
    "describe_notice",
    "describe_refusal",
    "sentence",
]

_UNKNOWN_CARD = (
    "carte inconnue (ni carte Vitale, ni carte professionnelle) : "
    "présentez une carte Vitale 2 ou une CPS/CPE"
)
_CARD_REFUSED = {
    "vitale1": "carte Vitale 1 : non prise en charge, utilisez l'appli carte Vitale "
    "ou une carte Vitale 2",
    "apcv": "appli carte Vitale : pas encore prise en charge à ce comptoir, "
    "présentez la carte Vitale 2",
    "unknown": _UNKNOWN_CARD,
}
_CARD_ERRORS = {
    "pcsc_unavailable": "service de lecteur de cartes (pcscd) injoignable : "
    "démarrez-le, puis réessayez",
    "no_reader": "aucun lecteur de cartes : branchez un lecteur, puis réessayez",
    "no_card": "aucune carte dans le lecteur : insérez la carte, puis réessayez",
    "card_removed": "carte retirée pendant la lecture : réinsérez-la et laissez-la en place",
    "card_mute": "la carte ne répond pas : retirez-la, vérifiez son sens, puis réinsérez-la",
    "card_unknown": _UNKNOWN_CARD,
    "card_unsupported": "carte non prise en charge à ce comptoir",
    "card_data": "données de la carte illisibles ou incomplètes : la carte est peut-être "
    "abîmée, orientez le patient vers sa caisse",
    "card_apdu": "la carte a refusé une commande : retirez-la et réinsérez-la",
    "card_communication": "erreur de communication avec la carte : retirez-la et réinsérez-la",
}
_QUALIFY = {
    "not_found": "identité introuvable au référentiel INS : vérifiez la carte du patient",
    "ambiguous": "identité ambiguë au référentiel INS : vérifiez l'identité du patient",
}
_REPRESENTATIVE = {
    "representative_required": "patient mineur : choisissez le représentant légal parmi "
    "les adultes de la carte",
    "representative_not_adult": "le représentant légal doit être majeur : choisissez un "
    "adulte de la carte",
    "representative_for_adult": "patient majeur : il consent lui-même, sans représentant",
    "birth_date_invalid": "date de naissance illisible sur la carte : orientez le patient vers "
    "sa caisse",
}
_CONTACT = {
    "email_invalid": "contact de notification : adresse e-mail invalide",
    "mobile_invalid": "contact de notification : numéro de mobile français invalide "
    "(06 ou 07, 10 chiffres)",
    "channel_unknown": "contact de notification : choisissez e-mail ou SMS",
}
_DOCTOR = {
    "format": "médecin traitant : le numéro RPPS a 11 chiffres",
    "key": "médecin traitant : numéro RPPS erroné (la clé ne correspond pas), vérifiez-le",
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
    "reason_required": "accès d'urgence : indiquez le motif",
}
# The central service's refusals, wherever they reach the kiosk (live answers, the queue's
# receipts, the sync line).
SYNC_REFUSALS = {
    "bad_token": "jeton d'enrôlement inconnu : vérifiez-le, ou demandez-en un nouveau",
    "token_used": "jeton d'enrôlement déjà utilisé : demandez-en un nouveau",
    "token_expired": "jeton d'enrôlement expiré : demandez-en un nouveau",
    "kiosk_revoked": "kiosque révoqué, prévenez le support (rien n'est perdu)",
    "unknown_kiosk": "kiosque inconnu du service central : réenrôlez-le",
    "fork": "file d'actions en conflit avec le service central : prévenez le support",
    "bad_signature": "signature du kiosque refusée : prévenez le support",
    "wrong_kiosk": "actions d'un autre kiosque : prévenez le support",
    "sequence_gap": "file d'actions incomplète pour le service central : prévenez le support",
    "unexpected_answer": "réponse inattendue du service central : prévenez le support",
    "unauthenticated": "session refusée par le service central : reconnectez-vous",
    "bad_certificate": "certificat de la carte refusé par le service central",
    "stale_attestation": "horloge du kiosque décalée : vérifiez la date et l'heure",
    "forbidden_party": "accès au DMP interdit à votre structure",
    "dmp_exists": "ce patient a déjà un DMP",
    "identity_not_found": "identité introuvable au référentiel INS",
    "identity_ambiguous": "identité ambiguë au référentiel INS",
    "invalid_nir": "numéro de sécurité sociale invalide (clé fausse)",
    "representative_required": _REPRESENTATIVE["representative_required"],
    "representative_not_adult": _REPRESENTATIVE["representative_not_adult"],
    "representative_for_adult": _REPRESENTATIVE["representative_for_adult"],
    "birth_date_invalid": _REPRESENTATIVE["birth_date_invalid"],
    "access_not_served": "consultation inconnue du service central",
    # What the patient's rules refuse at the counter (central.dmp.changes and policy).
    "blocked_by_patient": "le patient vous a bloqué sur ce DMP : lui seul peut lever ce "
    "blocage, dans son espace en ligne",
    "patient_agreement_required": "l'accord du patient est nécessaire : confirmez-le avec lui",
    "patient_absent": "le patient doit être présent : relisez sa carte Vitale ou sa pièce "
    "d'identité, puis recommencez",
    "agents_are_never_authorised": "un agent administratif ne peut pas être autorisé sur un DMP",
    "only_the_patient_authorises_others": "seul le patient autorise d'autres professionnels, "
    "dans son espace en ligne",
    "only_the_patient_blocks": "seul le patient bloque ou débloque un professionnel",
    "not_authorised": "vous n'êtes pas autorisé sur ce DMP : le patient peut vous autoriser",
    "no_medical_content_for_agents": "le contenu du DMP est réservé aux professionnels de santé",
    "structure_unknown": "votre structure est inconnue du service central : prévenez le support",
    "not_for_operators": "cette action est réservée au patient, dans son espace en ligne",
    "no_dmp": "ce patient n'a pas de DMP",
    "dmp_closed": "ce DMP est fermé : le patient peut le rouvrir",
    "dmp_already_closed": "ce DMP était déjà fermé",
    "dmp_not_closed": "ce DMP n'était pas fermé",
    "identifier_taken": "identifiant d'accès déjà pris : refaites un nouveau code",
    "professional_blocked": "le patient a bloqué ce médecin : choisissez-en un autre",
    "not_a_physician": "ce numéro RPPS n'est pas celui d'un médecin",
    "id_nat_not_rpps": "médecin traitant : un numéro RPPS est attendu",
    "ins_not_qualified": "identité non qualifiée au référentiel INS : vérifiez l'identité",
    "invalid_payload": "action mal formée : prévenez le support",
    "unsupported_action_type": "action inconnue du service central : mettez le kiosque à jour",
    # How far the service believes this kiosk (its clock, its key, the operator's card).
    "kiosk_flagged": "kiosque mis en attente par le service central après une anomalie : "
    "prévenez le support (rien n'est perdu)",
    "card_revoked": "carte professionnelle révoquée (perdue ou volée) : utilisez une autre carte",
    "action_time_in_future": "action datée dans le futur : vérifiez la date et l'heure du kiosque",
    "action_time_too_old": "action plus ancienne que la durée hors ligne permise : refaites-la",
    "action_time_before_previous": "action datée avant la précédente : vérifiez l'horloge du "
    "kiosque",
    "action_time_outside_session": "action datée hors de la session de l'opérateur : vérifiez "
    "l'horloge du kiosque",
    "action_time_unreadable": "action sans date lisible : prévenez le support",
    "operator_session_over": "session de l'opérateur terminée avant l'action : refaites-la",
    "no_operator_session": "session de l'opérateur inconnue du service central : refaites l'action",
    "database_refused": "action refusée par la base du service central : prévenez le support",
    "bad_request_signature": "signature du kiosque refusée : vérifiez la date et l'heure, puis "
    "prévenez le support",
    "request_signature_time": "horloge du kiosque décalée : vérifiez la date et l'heure",
    "body_too_large": "envoi trop volumineux pour le service central : prévenez le support",
    "https_required": "enrôlement refusé : le service central n'accepte que HTTPS",
}

# What each queued action was, as the counter would say it (the refused actions' list).
ACTION_LABELS = {
    "operator_session_opened": "Connexion de l'opérateur",
    "operator_session_closed": "Déconnexion de l'opérateur",
    "identity_to_qualify": "Vérification d'identité (INSi)",
    "consent_recorded": "Consentement du patient",
    "dmp_created": "Création du DMP",
    "authorisation_granted": "Autorisation d'accès",
    "authorisation_revoked": "Retrait d'autorisation",
    "contact_set": "Contact de notification",
    "treating_doctor_set": "Médecin traitant",
    "dmp_opened": "Consultation du DMP",
    "card_read_refused": "Carte refusée",
    "identity_checked": "Pièce d'identité contrôlée",
    "document_added": "Document ajouté",
    "dmp_closed": "Fermeture du DMP",
    "dmp_reopened": "Réouverture du DMP",
    "activation_reissued": "Nouveau code d'accès",
}


def describe_action(action_type: str) -> str:
    """A queued action's type, in French."""
    return ACTION_LABELS.get(action_type, f"Action « {action_type} »")


_SETTINGS = {
    "literal_error": "valeurs possibles : a4 ou ticket",
    "float_parsing": "un nombre est attendu",
    "int_parsing": "un nombre entier est attendu",
    "bool_parsing": "1 ou 0 (oui ou non) est attendu",
    "greater_than": "la valeur est trop petite",
    "less_than_equal": "la valeur est trop grande",
    "string_pattern_mismatch": "le format n'est pas le bon",
    "string_too_long": "la valeur est trop longue",
    "toml_syntax": "le fichier n'est pas du TOML valide, corrigez-le",
    "unknown_setting": "ce réglage n'existe pas (faute de frappe ?)",
}

_FIXED = {
    NoticeCode.LOGIN_FIRST: "connectez-vous d'abord avec votre carte professionnelle (CPS ou CPE)",
    NoticeCode.OPERATOR_ALREADY_IN: "une carte professionnelle est déjà connectée : "
    "retirez cette carte",
    NoticeCode.OPERATOR_CARD_REMOVED: "carte professionnelle retirée : session fermée",
    NoticeCode.PATIENT_CARD_REMOVED: "carte Vitale retirée : les données du patient ont été "
    "effacées",
    NoticeCode.ONE_PATIENT_AT_A_TIME: "une seule carte Vitale à la fois : retirez la seconde carte",
    NoticeCode.PIN_FORMAT: "le code porteur a 4 à 8 chiffres : retapez-le",
    NoticeCode.PIN_BLOCKED: "code porteur bloqué : la carte doit être débloquée auprès de l'ANS "
    "(hors du kiosque)",
    NoticeCode.OFFLINE_LOGIN: "hors ligne : vous pouvez créer des DMP, ils seront transmis au "
    "retour du réseau ; la consultation attend le réseau",
    NoticeCode.BACK_ONLINE: "de retour en ligne : la consultation est de nouveau possible",
    NoticeCode.SIGNED_OUT: "session fermée : retirez votre carte professionnelle",
    NoticeCode.VITALE_WAITING: "carte Vitale en attente : connectez-vous, elle sera lue ensuite",
    NoticeCode.SEARCH_NEEDS_NETWORK: "recherche sans carte Vitale impossible hors ligne : "
    "réessayez au retour du réseau",
    NoticeCode.FIELD_REQUIRED: "ce champ est à remplir",
    NoticeCode.DATE_INVALID: "date illisible : utilisez le format JJ/MM/AAAA",
    NoticeCode.DATE_IN_FUTURE: "cette date est dans le futur : corrigez-la",
    NoticeCode.BIRTH_PLACE_INVALID: "lieu de naissance : le code INSEE a 5 caractères "
    "(2A ou 2B pour la Corse, 99 suivi du pays pour l'étranger), ou laissez vide",
    NoticeCode.TEXT_TOO_LONG: "texte trop long : raccourcissez-le (4 000 caractères au plus)",
    NoticeCode.NIR_INVALID: "numéro de sécurité sociale de la carte invalide (clé fausse) : "
    "orientez le patient vers sa caisse",
    NoticeCode.TO_QUALIFY: "hors ligne : l'identité sera vérifiée (INSi) au retour du réseau ; "
    "le statut du DMP n'est pas connu",
    NoticeCode.CONSENT_REQUIRED: "cochez le consentement du patient pour créer son DMP",
    NoticeCode.AGENT_NO_CONTENT: "le contenu du DMP est réservé aux professionnels de santé",
    NoticeCode.REASON_REQUIRED: "accès d'urgence : choisissez le motif et décrivez la situation "
    "en quelques mots (c'est tracé et le patient est prévenu)",
    NoticeCode.OPEN_NEEDS_NETWORK: "consultation impossible hors ligne : réessayez au retour du "
    "réseau",
    NoticeCode.REISSUE_NEEDS_NETWORK: "nouveau code impossible hors ligne : réessayez au retour "
    "du réseau",
    NoticeCode.CLOSE_NEEDS_NETWORK: "fermeture ou réouverture impossible hors ligne : réessayez "
    "au retour du réseau",
    NoticeCode.DMP_CLOSED: "DMP fermé : plus aucun professionnel ne le lit ; le patient peut le "
    "rouvrir en ligne ou ici",
    NoticeCode.DMP_REOPENED: "DMP rouvert : les autorisations du patient s'appliquent de nouveau",
    NoticeCode.IDLE_TIMEOUT: "inactivité : les données du patient ont été effacées de l'écran",
    NoticeCode.CENTRAL_UNREACHABLE: "service central injoignable : vérifiez le réseau ; rien "
    "n'est perdu, réessayez",
    NoticeCode.SYNC_ERROR: "synchronisation impossible : rien n'est perdu, prévenez le support",
    NoticeCode.UNEXPECTED: "erreur inattendue : réessayez, puis prévenez le support si elle "
    "revient",
}


def describe_refusal(reason: str) -> str:
    """A refusal code of the central service (possibly "code:detail"), in French."""
    code = reason.split(":", 1)[0]
    return SYNC_REFUSALS.get(code, f"refusé par le service central ({reason})")


def _pin_wrong(tries_left: int | None) -> str:
    if tries_left == 1:
        return "code porteur faux : plus qu'un seul essai avant blocage de la carte"
    if tries_left is not None and tries_left > 1:
        return f"code porteur faux : {tries_left} essais restants"
    return "code porteur faux"


def sentence(words: str) -> str:
    """One voice everywhere: a capital first, a full stop last (the tables hold fragments,
    so that a refusal reads as well inside another line)."""
    if not words:
        return words
    words = words[0].upper() + words[1:]
    return words if words[-1] in ".!?…" else words + "."


def describe_notice(notice: Notice) -> str:
    """One French sentence for the notice bar (or beside the field it is about)."""
    return sentence(_notice_words(notice))


def _notice_words(notice: Notice) -> str:
    code, reason = notice.code, notice.reason or ""
    if code in _FIXED:
        return _FIXED[code]
    if code is NoticeCode.CARD_REFUSED:
        return _CARD_REFUSED.get(reason, _UNKNOWN_CARD)
    if code is NoticeCode.CARD_ERROR:
        return _CARD_ERRORS.get(reason, _CARD_ERRORS["card_communication"])
    if code is NoticeCode.PIN_WRONG:
        return _pin_wrong(notice.tries_left)
    if code is NoticeCode.IDENTITY_NOT_QUALIFIED:
        return _QUALIFY.get(reason, "identité non qualifiée : vérifiez la carte du patient")
    if code is NoticeCode.REPRESENTATIVE_INVALID:
        return _REPRESENTATIVE.get(reason, _REPRESENTATIVE["representative_required"])
    if code is NoticeCode.CONTACT_INVALID:
        return _CONTACT.get(reason, _CONTACT["channel_unknown"])
    if code is NoticeCode.DOCTOR_INVALID:
        return _DOCTOR.get(reason, _DOCTOR["format"])
    if code is NoticeCode.OPEN_REFUSED:
        return _OPEN_REFUSED.get(reason, f"consultation refusée ({reason})")
    if code is NoticeCode.CENTRAL_REFUSED:
        return describe_refusal(reason)
    raise KeyError(code)  # a code without words: the exhaustiveness test catches it


def describe_error(error: KioskError) -> str:
    """One French line for a person: what went wrong, and what to do."""
    if isinstance(error, NoReaderError) and error.reader:
        return sentence(f"lecteur « {error.reader} » introuvable : vérifiez son branchement")
    if isinstance(error, SettingsError):
        expected = _SETTINGS.get(error.problem, "valeur inattendue")
        seen = f" (lu : « {error.value} »)" if error.value else ""
        return sentence(f"réglage {error.name} invalide : {expected}{seen}")
    if error.code == "not_enrolled":
        return sentence("kiosque non enrôlé : lancez d'abord « kiosk enroll »")
    return describe_notice(notice_for(error))
