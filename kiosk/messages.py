"""The one place where the kiosk's codes become French sentences for the people at the counter.

The core speaks in notices (kiosk.core.notices) and errors carry codes (kiosk.core.errors);
the screens and the command line both describe them here. Every sentence says what went
wrong and what to do; nothing here names a PIN, a NIR or health data.
"""

from __future__ import annotations

from kiosk.core.errors import KioskError, NoReaderError, SettingsError
from kiosk.core.notices import Notice, NoticeCode, notice_for
from kiosk.core.ports import CareNature, SummaryDocument
from kiosk.core.views import DocumentFailure

__all__ = [
    "ACTION_LABELS",
    "CATEGORY_LABELS",
    "LOINC_LABELS",
    "NATURE_LABELS",
    "SYNC_REFUSALS",
    "describe_action",
    "describe_document_failure",
    "describe_error",
    "describe_notice",
    "describe_refusal",
    "document_type",
    "file_kind",
    "sentence",
]

_UNKNOWN_CARD = (
    "carte non reconnue, ni carte Vitale ni carte professionnelle : retirez-la et présentez "
    "une carte Vitale ou une carte professionnelle (CPS ou CPE)"
)
_CARD_REFUSED = {
    "vitale1": "ancienne carte Vitale (Vitale 1) non prise en charge : retirez-la et recherchez "
    "le patient avec sa pièce d'identité",
    "apcv": "appli carte Vitale pas encore prise en charge à ce comptoir : recherchez le "
    "patient avec sa pièce d'identité",
    "unknown": _UNKNOWN_CARD,
}
# Every card problem says what happened to the card, then what to do with it.
_CARD_ERRORS = {
    "pcsc_unavailable": "lecteurs de cartes indisponibles : redémarrez le kiosque ; si cela "
    "recommence, prévenez le support",
    "no_reader": "aucun lecteur de cartes détecté : vérifiez son branchement, puis réessayez",
    "no_card": "aucune carte dans le lecteur : insérez la carte, puis réessayez",
    "card_removed": "carte retirée pendant la lecture : réinsérez-la et laissez-la jusqu'à la "
    "fin de la lecture",
    "card_mute": "la carte ne répond pas : retirez-la, vérifiez son sens, puis réinsérez-la",
    "card_unknown": _UNKNOWN_CARD,
    "card_unsupported": "carte non prise en charge à ce comptoir : retirez-la et présentez une "
    "carte Vitale ou une carte professionnelle (CPS ou CPE)",
    "card_data": "carte illisible : retirez-la, puis réinsérez-la ; si cela recommence, la "
    "carte est sans doute abîmée et doit être remplacée",
    "card_apdu": "la carte a refusé la lecture : retirez-la, puis réinsérez-la",
    "card_communication": "la lecture de la carte a été interrompue : retirez-la, puis "
    "réinsérez-la",
}
_QUALIFY = {
    "not_found": "identité introuvable au répertoire national (INS) : vérifiez que la carte "
    "Vitale ou les informations saisies sont bien celles du patient",
    "ambiguous": "plusieurs personnes correspondent au répertoire national (INS) : recherchez "
    "le patient avec sa pièce d'identité, en précisant son lieu de naissance",
}
_CAISSE = "orientez le patient vers sa caisse d'assurance maladie"
_REPRESENTATIVE = {
    "representative_required": "patient mineur : choisissez son représentant légal, un adulte "
    "de la carte Vitale ou un autre adulte sur pièce d'identité",
    "representative_not_adult": "le représentant légal doit être majeur : choisissez un autre "
    "adulte",
    "representative_for_adult": "patient majeur : il consent lui-même, sans représentant légal",
    "birth_date_invalid": f"date de naissance illisible sur la carte Vitale : {_CAISSE}",
}
_CONTACT = {
    "email_invalid": "adresse e-mail non valide : vérifiez-la (par exemple nom@exemple.fr)",
    "mobile_invalid": "numéro de mobile non valide : vérifiez-le (10 chiffres, commençant "
    "par 06 ou 07)",
    "channel_unknown": "choisissez e-mail ou SMS pour le contact de notification",
}
_DOCTOR = {
    "format": "numéro RPPS du médecin traitant incomplet : il a 11 chiffres",
    "key": "numéro RPPS du médecin traitant erroné : vérifiez-le chiffre par chiffre",
}
_NOT_AUTHORISED = (
    "vous n'avez pas l'autorisation du patient pour ce DMP : il peut vous la donner "
    "(« Le patient m'autorise »)"
)
_BLOCKED = (
    "le patient a bloqué votre accès à ce DMP : lui seul peut lever ce blocage, dans son "
    "espace en ligne"
)
_AGENTS = "le contenu du DMP est réservé aux professionnels de santé"
_OPEN_REFUSED = {
    "not_authorised": _NOT_AUTHORISED,
    "blocked_by_patient": _BLOCKED,
    "not_a_regulator": "l'accès régulateur est réservé aux médecins régulateurs du SAMU",
    "patient_refused_etreat": "le patient a refusé l'accès du médecin régulateur du SAMU",
    "patient_refused_btg": "le patient a refusé l'accès d'urgence (bris de glace)",
    "no_medical_content_for_agents": _AGENTS,
    "no_dmp": "ce patient n'a pas de DMP",
    "dmp_closed": "ce DMP est fermé : le patient peut le rouvrir",
    "reason_required": "accès d'urgence : indiquez le motif",
}
_SUPPORT = "prévenez le support"
_CLOCK = "horloge du kiosque décalée : vérifiez sa date et son heure, ou prévenez le support"
# The central service's refusals, wherever they reach the kiosk (live answers, the queue's
# receipts, the sync line).
SYNC_REFUSALS = {
    "bad_token": "jeton d'enrôlement inconnu : vérifiez-le ou demandez-en un nouveau",
    "token_used": "jeton d'enrôlement déjà utilisé : demandez-en un nouveau",
    "token_expired": "jeton d'enrôlement expiré : demandez-en un nouveau",
    "kiosk_revoked": f"kiosque désactivé par le service central : {_SUPPORT} (rien n'est perdu)",
    "unknown_kiosk": f"kiosque inconnu du service central, à enrôler de nouveau : {_SUPPORT}",
    "fork": f"actions du kiosque en conflit avec le service central : {_SUPPORT}",
    "bad_signature": f"signature du kiosque refusée par le service central : {_SUPPORT}",
    "wrong_kiosk": f"action rattachée à un autre kiosque : {_SUPPORT}",
    "sequence_gap": f"des actions du kiosque manquent au service central : {_SUPPORT}",
    "unexpected_answer": f"réponse inattendue du service central : {_SUPPORT}",
    "unauthenticated": "connexion refusée par le service central : déconnectez-vous, puis "
    "reconnectez-vous avec votre carte professionnelle",
    "bad_certificate": "carte professionnelle non reconnue par le service central : utilisez "
    f"une autre carte ou {_SUPPORT}",
    "stale_attestation": "connexion refusée, horloge du kiosque décalée : vérifiez sa date et "
    f"son heure, ou {_SUPPORT}",
    "forbidden_party": f"votre structure n'a pas accès au DMP : {_SUPPORT}",
    "dmp_exists": "ce patient a déjà un DMP",
    "identity_not_found": _QUALIFY["not_found"],
    "identity_ambiguous": _QUALIFY["ambiguous"],
    "invalid_nir": f"numéro de sécurité sociale non valide : {_CAISSE}",
    "representative_required": _REPRESENTATIVE["representative_required"],
    "representative_not_adult": _REPRESENTATIVE["representative_not_adult"],
    "representative_for_adult": _REPRESENTATIVE["representative_for_adult"],
    "birth_date_invalid": _REPRESENTATIVE["birth_date_invalid"],
    "access_not_served": f"consultation inconnue du service central : {_SUPPORT}",
    # What the patient's rules refuse at the counter (central.dmp.changes and policy).
    "blocked_by_patient": _BLOCKED,
    "patient_agreement_required": "l'accord du patient est nécessaire : confirmez-le avec lui",
    "patient_absent": "le patient doit être présent : relisez sa carte Vitale ou sa pièce "
    "d'identité, puis recommencez",
    "agents_are_never_authorised": "un agent administratif (carte CPE) ne peut pas recevoir "
    "d'autorisation sur un DMP",
    "only_the_patient_authorises_others": "seul le patient autorise d'autres professionnels, "
    "dans son espace en ligne",
    "only_the_patient_blocks": "seul le patient bloque ou débloque un professionnel, dans son "
    "espace en ligne",
    "not_authorised": _NOT_AUTHORISED,
    "no_medical_content_for_agents": _AGENTS,
    "structure_unknown": f"votre structure est inconnue du service central : {_SUPPORT}",
    "not_for_operators": "cette action est réservée au patient, dans son espace en ligne",
    "no_dmp": "ce patient n'a pas de DMP",
    "dmp_closed": "ce DMP est fermé : le patient peut le rouvrir",
    "dmp_already_closed": "ce DMP était déjà fermé",
    "dmp_not_closed": "ce DMP n'était pas fermé",
    "identifier_taken": "identifiant de la fiche d'accès déjà attribué : recommencez, un autre "
    "sera tiré",
    "professional_blocked": "le patient a bloqué ce médecin : choisissez-en un autre",
    "not_a_physician": "ce numéro RPPS n'est pas celui d'un médecin : vérifiez-le",
    "id_nat_not_rpps": "le médecin traitant se désigne par son numéro RPPS (11 chiffres)",
    "document_date_in_future": "document daté après le jour de l'action : corrigez la date "
    "des soins",
    "vitale_card_required": "patient trouvé sans carte Vitale : cette modification demande sa "
    "carte Vitale (la création du DMP, elle, est possible)",
    "ins_not_qualified": "identité pas encore vérifiée : contrôlez une pièce d'identité du "
    "patient, puis recommencez",
    "invalid_payload": f"action mal formée : {_SUPPORT}",
    "unsupported_action_type": f"action inconnue du service central (kiosque à mettre à "
    f"jour) : {_SUPPORT}",
    # How far the service believes this kiosk (its clock, its key, the operator's card).
    "kiosk_flagged": "kiosque mis en attente par le service central après une anomalie : "
    f"{_SUPPORT} (rien n'est perdu)",
    "card_revoked": "carte professionnelle révoquée (perdue ou volée) : utilisez une autre carte",
    "action_time_in_future": f"action datée dans le futur, {_CLOCK}",
    "action_time_too_old": "action plus ancienne que la durée hors ligne permise : refaites-la",
    "action_time_before_previous": f"action datée avant la précédente, {_CLOCK}",
    "action_time_outside_session": f"action datée hors de la connexion de l'opérateur, {_CLOCK}",
    "action_time_unreadable": f"action sans date lisible : {_SUPPORT}",
    "operator_session_over": "connexion de l'opérateur terminée avant l'action : "
    "reconnectez-vous, puis refaites-la",
    "no_operator_session": "connexion de l'opérateur inconnue du service central : refaites "
    "l'action",
    "database_refused": f"action refusée par la base du service central : {_SUPPORT}",
    "bad_request_signature": "signature du kiosque refusée : vérifiez sa date et son heure, "
    f"puis {_SUPPORT}",
    "request_signature_time": _CLOCK,
    "body_too_large": f"envoi trop volumineux pour le service central : {_SUPPORT}",
    "https_required": "enrôlement refusé : le service central n'accepte que HTTPS",
}

# What each queued action was, as the counter would say it (the refused actions' list).
ACTION_LABELS = {
    "operator_session_opened": "Connexion de l'opérateur",
    "operator_session_closed": "Déconnexion de l'opérateur",
    "identity_to_qualify": "Vérification d'identité (INS)",
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
    "activation_reissued": "Nouveau code provisoire",
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
    NoticeCode.OPERATOR_ALREADY_IN: "une carte professionnelle est déjà connectée : retirez "
    "celle que vous venez d'insérer",
    NoticeCode.OPERATOR_CARD_REMOVED: "carte professionnelle retirée : déconnexion faite, "
    "réinsérez-la pour vous reconnecter",
    NoticeCode.PATIENT_CARD_REMOVED: "carte Vitale retirée : les données du patient ont été "
    "effacées de l'écran, réinsérez-la pour reprendre",
    NoticeCode.ONE_PATIENT_AT_A_TIME: "une seule carte Vitale à la fois : retirez celle que "
    "vous venez d'insérer",
    NoticeCode.PIN_FORMAT: "le code porteur a 4 à 8 chiffres : retapez-le",
    NoticeCode.PIN_BLOCKED: "code porteur bloqué : retirez la carte et faites-la débloquer "
    "auprès de l'ANS, hors du kiosque",
    NoticeCode.OFFLINE_LOGIN: "kiosque hors ligne : vous pouvez créer des DMP, ils seront "
    "transmis au retour du réseau ; la consultation attendra le réseau",
    NoticeCode.BACK_ONLINE: "kiosque de nouveau en ligne : la consultation est possible",
    NoticeCode.SIGNED_OUT: "déconnexion faite : retirez votre carte professionnelle",
    NoticeCode.VITALE_WAITING: "carte Vitale détectée : connectez-vous avec votre carte "
    "professionnelle (CPS ou CPE), elle sera lue ensuite",
    NoticeCode.SEARCH_NEEDS_NETWORK: "recherche sans carte Vitale impossible hors ligne : "
    "réessayez au retour du réseau",
    NoticeCode.FIELD_REQUIRED: "ce champ est obligatoire",
    NoticeCode.DATE_INVALID: "date non reconnue : écrivez-la sous la forme JJ/MM/AAAA",
    NoticeCode.DATE_IN_FUTURE: "cette date est dans le futur : corrigez-la",
    NoticeCode.BIRTH_PLACE_INVALID: "lieu de naissance non reconnu : le code INSEE a 5 "
    "caractères (2A ou 2B pour la Corse, 99 et le code du pays pour l'étranger), ou laissez "
    "le champ vide",
    NoticeCode.NAME_INVALID: "nom trop long ou avec des caractères non imprimables : "
    "recopiez-le tel qu'il figure sur la pièce (120 caractères au plus)",
    NoticeCode.DOCUMENT_NOT_FOR_ADULT: "le livret de famille ne prouve que l'identité d'un "
    "enfant : pour un adulte, contrôlez sa carte d'identité, son passeport ou son titre de "
    "séjour",
    NoticeCode.TEXT_TOO_LONG: "texte trop long : raccourcissez-le (4 000 caractères au plus)",
    NoticeCode.NIR_INVALID: f"numéro de sécurité sociale de la carte Vitale non valide : {_CAISSE}",
    NoticeCode.TO_QUALIFY: "kiosque hors ligne : l'identité sera vérifiée au répertoire national "
    "(INS) au retour du réseau ; on ne sait pas encore si le patient a un DMP",
    NoticeCode.CONSENT_REQUIRED: "cochez la case du consentement pour créer le DMP",
    NoticeCode.AGENT_NO_CONTENT: f"{_AGENTS} : votre carte ne permet pas de le consulter",
    NoticeCode.REASON_REQUIRED: "accès d'urgence : choisissez le motif et décrivez la situation "
    "en quelques mots",
    NoticeCode.OPEN_NEEDS_NETWORK: "consultation impossible hors ligne : réessayez au retour du "
    "réseau",
    NoticeCode.REISSUE_NEEDS_NETWORK: "nouveau code provisoire impossible hors ligne : "
    "réessayez au retour du réseau",
    NoticeCode.CLOSE_NEEDS_NETWORK: "fermeture ou réouverture impossible hors ligne : réessayez "
    "au retour du réseau",
    NoticeCode.DMP_CLOSED: "DMP fermé : plus aucun professionnel ne peut le lire ; le patient "
    "peut le rouvrir en ligne ou à un comptoir",
    NoticeCode.DMP_REOPENED: "DMP rouvert : les autorisations du patient s'appliquent de nouveau",
    NoticeCode.IDLE_TIMEOUT: "kiosque inactif : les données du patient ont été effacées de "
    "l'écran ; pour reprendre, relisez sa carte Vitale ou refaites la recherche",
    NoticeCode.CENTRAL_UNREACHABLE: "service central injoignable : vérifiez le réseau, puis "
    "réessayez (rien n'est perdu)",
    NoticeCode.SYNC_ERROR: "synchronisation impossible : prévenez le support (rien n'est perdu)",
    NoticeCode.UNEXPECTED: "erreur inattendue : réessayez ; si elle revient, prévenez le support",
}


def describe_refusal(reason: str) -> str:
    """A refusal code of the central service (possibly "code:detail"), in French."""
    code = reason.split(":", 1)[0]
    if code in SYNC_REFUSALS:
        return SYNC_REFUSALS[code]
    # A code we have no words for: shown as is, for the support.
    seen = f" (motif « {reason} »)" if reason else ""
    return f"refusé par le service central{seen} : {_SUPPORT}"


def _pin_wrong(tries_left: int | None) -> str:
    if tries_left == 1:
        return "code porteur incorrect : retapez-le, c'est le dernier essai avant le blocage"
    if tries_left is not None and tries_left > 1:
        return f"code porteur incorrect : retapez-le ({tries_left} essais restants)"
    return "code porteur incorrect : retapez-le"


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
        return _QUALIFY.get(
            reason,
            "identité non vérifiée au répertoire national (INS) : vérifiez la carte Vitale ou "
            "les informations saisies",
        )
    if code is NoticeCode.REPRESENTATIVE_INVALID:
        return _REPRESENTATIVE.get(reason, _REPRESENTATIVE["representative_required"])
    if code is NoticeCode.CONTACT_INVALID:
        return _CONTACT.get(reason, _CONTACT["channel_unknown"])
    if code is NoticeCode.DOCTOR_INVALID:
        return _DOCTOR.get(reason, _DOCTOR["format"])
    if code is NoticeCode.OPEN_REFUSED:
        # The service's other refusals (its session, the card, the structure) have words too.
        return _OPEN_REFUSED.get(reason) or describe_refusal(reason)
    if code is NoticeCode.CENTRAL_REFUSED:
        return describe_refusal(reason)
    raise KeyError(code)  # a code without words: the exhaustiveness test catches it


def describe_error(error: KioskError) -> str:
    """One French line for a person: what went wrong, and what to do."""
    if isinstance(error, NoReaderError) and error.reader:
        return sentence(
            f"lecteur de cartes « {error.reader} » introuvable : vérifiez son branchement, "
            "puis réessayez"
        )
    if isinstance(error, SettingsError):
        expected = _SETTINGS.get(error.problem, "valeur inattendue")
        seen = f" (lu : « {error.value} »)" if error.value else ""
        return sentence(f"réglage {error.name} invalide : {expected}{seen}")
    if error.code == "not_enrolled":
        return sentence("kiosque non enrôlé : lancez d'abord « kiosk enroll »")
    return describe_notice(notice_for(error))


# The record's words, the same as the patient's portal says them (central.patient.labels).
CATEGORY_LABELS = {
    "care_history": "Synthèses et observations de soins",
    "pathologies_allergies": "Pathologies et allergies",
    "medications": "Traitements",
    "reports": "Comptes rendus",
    "exam_results": "Résultats d'examens",
    "advance_directives": "Directives anticipées",
    "emergency_contacts": "Personnes à prévenir",
    "other": "Autres documents",
}
LOINC_LABELS = {
    "34117-2": "Observation médicale",
    "11506-3": "Note d'évolution",
    "34133-9": "Synthèse d'un épisode de soins",
    "60591-5": "Synthèse médicale",
    "48765-2": "Allergies et intolérances",
    "11450-4": "Liste des problèmes de santé",
    "11348-0": "Antécédents médicaux",
    "10160-0": "Historique des traitements",
    "57833-6": "Ordonnance de médicaments",
    "60593-1": "Médicaments délivrés",
    "11488-4": "Compte rendu de consultation",
    "18842-5": "Compte rendu de sortie d'hospitalisation",
    "34874-8": "Compte rendu opératoire",
    "28570-0": "Compte rendu d'acte",
    "30954-2": "Résultats d'examens",
    "11502-2": "Compte rendu de biologie",
    "18748-4": "Compte rendu d'imagerie",
    "11524-6": "Électrocardiogramme",
    "42348-3": "Directives anticipées",
}
NATURE_LABELS = {
    CareNature.PHARMACY: "Pharmacie",
    CareNature.CONSULTATION: "Consultation",
    CareNature.BIOLOGY: "Biologie",
    CareNature.IMAGING: "Imagerie",
    CareNature.HOSPITAL: "Hospitalisation",
    CareNature.NURSING: "Soins infirmiers",
    CareNature.PHYSIOTHERAPY: "Kinésithérapie",
    CareNature.DENTAL: "Dentaire",
    CareNature.OTHER: "Autre soin",
}
_FILE_KINDS = {
    ("application/pdf", "urn:ihe:iti:xds-sd:pdf:2008"): "PDF",
    ("text/xml", "urn:ihe:pcc:xds-ms:2007"): "CDA structuré",
    ("text/xml", "urn:ihe:iti:xds-sd:pdf:2008"): "CDA (PDF)",
    ("text/xml", "urn:ihe:iti:xds-sd:text:2008"): "CDA (texte)",
    ("text/plain", "urn:ihe:iti:xds-sd:text:2008"): "texte",
    ("image/jpeg", "urn:ihe:iti:xds:2017:mimeTypeSufficient"): "image JPEG",
    ("image/png", "urn:ihe:iti:xds:2017:mimeTypeSufficient"): "image PNG",
}


def document_type(document: SummaryDocument) -> str:
    """The document's type: its LOINC type's name where known, else its category's."""
    if document.loinc and document.loinc in LOINC_LABELS:
        return LOINC_LABELS[document.loinc]
    return CATEGORY_LABELS.get(document.category, "Document")


def file_kind(document: SummaryDocument) -> str:
    """What the file is, in a word or two: "PDF", "CDA structuré", "texte", "image PNG"."""
    found = _FILE_KINDS.get((document.mime_type, document.format_code))
    return found or f"fichier {document.mime_type}"


_DOCUMENT_FAILURES = {
    DocumentFailure.UNREACHABLE: "document non reçu : le service central ne répond pas, "
    "vérifiez le réseau puis réessayez",
    DocumentFailure.NOT_FOUND: "document introuvable : il a pu être masqué ou remplacé depuis "
    "l'ouverture du DMP ; revenez au patient et rouvrez le DMP",
    DocumentFailure.CORRUPT: "document reçu abîmé (il ne correspond pas à celui du DMP) : "
    f"réessayez ; si cela recommence, {_SUPPORT}",
    DocumentFailure.UNREADABLE: "document reçu, mais impossible à afficher à l'écran de ce "
    "kiosque (fichier illisible, ou trop lourd à dessiner) : consultez-le sur un autre poste",
}


def describe_document_failure(failure: DocumentFailure, reason: str | None = None) -> str:
    """Why the opened document is not shown, and what to do."""
    if failure is DocumentFailure.REFUSED:
        return sentence(_OPEN_REFUSED.get(reason or "") or describe_refusal(reason or ""))
    return sentence(_DOCUMENT_FAILURES[failure])
