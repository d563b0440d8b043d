"""The service's codes as the patient reads them: the portal's French, in one place."""

from __future__ import annotations

from central.patient.labels import CATEGORY_LABELS
from dmpcommon.vocabulary import AccessMode

__all__ = [
    "CATEGORY_LABELS",
    "AUTHORISE_LIFTS_BLOCK",
    "CONFIRMATIONS",
    "EMERGENCY_CONSEQUENCES",
    "EVENTS",
    "REFUSALS",
    "ROLE_LABELS",
    "TREATING_DOCTOR_REPLACED",
    "TREATING_DOCTOR_REVOKED",
    "UNKNOWN_PROFESSIONAL",
    "refusal",
]

ROLE_LABELS = {
    "professionnel_sante": "professionnel de santé",
    "regulateur_samu": "médecin régulateur du SAMU",
    "agent_administratif": "agent d'accueil",
    "structure_inconnue": "structure inconnue du répertoire",
    "patient": "vous",
    "representant_legal": "représentant légal",
    "employeur": "employeur",
    "assureur": "assureur",
    "banque": "banque",
    "medecine_travail": "médecine du travail",
    "service": "le service lui-même, à une date prévue",
    "assurance_maladie": "Assurance Maladie (soins remboursés)",
}

# What happened, each line of the patient's log ("Qui a consulté ou modifié mon dossier").
EVENTS = {
    "consulted": "a consulté votre dossier",
    "consulted_regulator": "a consulté votre dossier comme régulateur du SAMU",
    "consulted_break_glass": "a consulté votre dossier en urgence (bris de glace)",
    "checked_status": "a vérifié si vous avez un dossier",
    "read_card": "a lu votre carte Vitale",
    "searched_identity": "vous a recherché au répertoire national, sur pièce d'identité",
    "checked_identity_document": "a contrôlé votre pièce d'identité",
    "recorded_consent": "a enregistré votre consentement",
    "created": "a créé votre dossier",
    "added_document": "a ajouté un document",
    "authorised_itself": "s'est déclaré autorisé avec votre accord",
    "authorised_professional": "a autorisé un professionnel",
    "revoked_itself": "a renoncé à son autorisation",
    "revoked_professional": "a retiré l'autorisation d'un professionnel",
    "blocked_professional": "a bloqué un professionnel",
    "unblocked_professional": "a débloqué un professionnel",
    "designated_treating_doctor": "a désigné votre médecin traitant",
    "changed_contact": "a changé votre contact",
    "reissued_activation": "vous a remis un nouveau code d'accès",
    "closed": "a fermé votre dossier à votre demande",
    "reopened": "a rouvert votre dossier à votre demande",
    "came_of_age": "vos 18 ans : ce dossier est le vôtre, votre représentant n'y a plus accès",
    "listed_documents": "a consulté la liste de vos documents",
    "read_document": "a ouvert un document",
    f"read_document_{AccessMode.REGULATOR.value}": (
        "a ouvert un document comme régulateur du SAMU"
    ),
    f"read_document_{AccessMode.BREAK_GLASS.value}": (
        "a ouvert un document en urgence (bris de glace)"
    ),
    "received_care_lines": "a versé des soins remboursés à votre historique",
}

# Why something was refused: on the portal's pages and in the patient's log.
REFUSALS = {
    "kept_from_representatives": (
        "un représentant légal ne peut pas retirer ni bloquer ce professionnel pour ce dossier"
    ),
    "forbidden_party": "employeur, assureur, banque ou médecine du travail : jamais autorisés",
    "structure_unknown": "structure inconnue du répertoire : aucun accès au contenu",
    "blocked_by_patient": "vous l'avez bloqué",
    "not_authorised": "vous ne l'avez pas autorisé",
    "not_a_regulator": "ce n'est pas un médecin régulateur du SAMU",
    "patient_refused_etreat": "vous avez refusé l'accès du SAMU",
    "patient_refused_btg": "vous avez refusé l'accès d'urgence",
    "no_medical_content_for_agents": "un agent d'accueil ne lit pas le contenu médical",
    "dmp_closed": "votre dossier est fermé",
    "patient_absent": "vous n'étiez pas présent(e) au comptoir",
    "patient_agreement_required": "votre accord n'a pas été déclaré",
    "agents_are_never_authorised": "un agent d'accueil n'est jamais autorisé",
    "only_the_patient_blocks": "vous seul(e) bloquez ou débloquez un professionnel",
    "only_the_patient_revokes_others": "vous seul(e) retirez l'autorisation d'un autre",
    "only_the_patient_authorises_others": "vous seul(e) autorisez un autre professionnel",
    "not_for_operators": "réservé à vous",
    "not_for_the_patient": "réservé au comptoir",
    "not_your_record": "ce n'est pas votre dossier",
    "reason_required": "le motif de l'accès d'urgence manquait",
    "treating_doctor_cannot_be_blocked": (
        "c'est votre médecin traitant : changez de médecin traitant avant de le bloquer"
    ),
    "professional_blocked": "ce professionnel est bloqué : débloquez-le d'abord",
    "not_a_physician": "un médecin traitant est un médecin",
    "id_nat_not_rpps": "un médecin traitant se désigne par son numéro RPPS (11 chiffres)",
    "bad_id_nat": "numéro de professionnel invalide",
    "contact_needs_code": "un nouveau contact se confirme par le code qui lui est envoyé",
    "dmp_already_closed": "votre dossier est déjà fermé",
    "dmp_not_closed": "votre dossier n'est pas fermé",
    "ins_not_qualified": "identité inconnue du répertoire",
    "no_dmp": "pas de dossier",
    "bad_code": "code incorrect",
    "code_expired": "code expiré : recommencez",
    "too_many_tries": "trop d'essais : recommencez",
    "no_contact_change": "aucun changement de contact en attente",
    "resend_too_soon": "attendez une minute avant de redemander un code",
    "too_many_codes": "trop de codes demandés : réessayez dans une heure",
    "too_many_from_source": "trop de demandes depuis cette adresse : réessayez plus tard",
    "service_busy": "le service reçoit trop de demandes : réessayez dans quelques minutes",
    "not_your_document": "ce document n'est pas le vôtre",
    "category_changed": "une nouvelle version garde la rubrique du document",
    "not_a_patient_note": "vous ajoutez des personnes à prévenir, des notes et des directives",
    "no_document": "document introuvable",
    "already_replaced": "ce document a déjà une version plus récente",
    "only_the_patient_masks": "vous seul(e) masquez un document",
    "only_the_patient_deletes": "vous seul(e) supprimez vos notes",
    "loinc_invalid": "code LOINC invalide",
    "loinc_not_for_category": "ce type de document ne va pas dans cette rubrique",
    "identity_not_proven": (
        "ces informations ne correspondent pas : vérifiez le numéro de sécurité sociale, "
        "la date de naissance et le numéro de série de votre carte Vitale"
    ),
    "minor_at_counter": ("le dossier d'un mineur se crée au comptoir, avec son représentant légal"),
    "dmp_exists": "vous avez déjà un DMP : connectez-vous",
    "information_old": "la note d'information a changé : relisez-la",
    "nir_invalid": "numéro de sécurité sociale invalide (15 chiffres, clé comprise)",
    "no_creation_waiting": "aucune création en attente : recommencez",
    "identifier_taken": "incident de création : recommencez",
    "birth_date_invalid": "date de naissance illisible",
    "rpps_format": "numéro RPPS invalide : 11 chiffres",
    "rpps_key": "numéro RPPS invalide : vérifiez-le sur une ordonnance",
}
_UNKNOWN = "refusé"

# Every change of access is asked before it is made: the question ({who}: the professional as
# the service knows them; {title}: the document's) and what it will change.
CONFIRMATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "authorise": (
        "Autoriser {who} ?",
        (
            "Ce professionnel pourra lire votre dossier, sauf les documents que vous masquez "
            "aux professionnels, et y ajouter des documents.",
            "Vous pourrez retirer cette autorisation, ou le bloquer, à tout moment.",
        ),
    ),
    "revoke": (
        "Retirer l'autorisation donnée à {who} ?",
        (
            "Ce professionnel ne pourra plus lire votre dossier, sauf en urgence selon vos choix.",
            "Il pourra être autorisé de nouveau, par vous, ou au comptoir en votre présence et "
            "avec votre accord. Pour l'en empêcher, bloquez-le.",
        ),
    ),
    "block": (
        "Bloquer {who} ?",
        (
            "Ce professionnel ne pourra plus lire votre dossier, même autorisé par ailleurs, "
            "même en urgence ; son autorisation, s'il en avait une, est retirée.",
            "Vous pourrez le débloquer.",
        ),
    ),
    "unblock": (
        "Débloquer {who} ?",
        (
            "Ce professionnel n'est pas autorisé pour autant : il lira votre dossier si vous "
            "l'autorisez, ou en urgence selon vos choix.",
            "Vous pourrez le bloquer de nouveau.",
        ),
    ),
    "treating_doctor": (
        "Désigner {who} comme médecin traitant ?",
        (
            "Votre médecin traitant lit votre dossier, documents masqués compris.",
            "Tant qu'il est votre médecin traitant, il ne peut pas être bloqué.",
        ),
    ),
    "emergency": ("Enregistrer ces choix pour les urgences ?", ()),
    "close": (
        "Fermer votre dossier ?",
        (
            "Aucun professionnel ne pourra plus le lire, ni votre médecin traitant, ni en "
            "urgence, et vous ne serez plus prévenu(e) de rien.",
            "Son contenu est conservé : vous pourrez le rouvrir ici à tout moment et retrouver "
            "vos autorisations.",
        ),
    ),
    "reopen": (
        "Rouvrir votre dossier ?",
        (
            "Votre médecin traitant, les professionnels que vous avez autorisés et, selon vos "
            "choix, les urgences pourront de nouveau le lire.",
        ),
    ),
    "mask": (
        "Masquer « {title} » aux professionnels ?",
        (
            "Seuls vous, son auteur et votre médecin traitant le verront ; en urgence, selon "
            "votre choix pour les documents masqués.",
            "Vous pourrez le rendre de nouveau visible.",
        ),
    ),
    "unmask": (
        "Ne plus masquer « {title} » ?",
        ("Les professionnels qui peuvent lire votre dossier le verront de nouveau.",),
    ),
    "delete": (
        "Supprimer « {title} » ?",
        (
            "Cette note sera retirée de votre dossier, avec ses versions précédentes.",
            "Ce n'est pas réversible : pour la retrouver, il faudra l'ajouter de nouveau.",
        ),
    ),
}
TREATING_DOCTOR_REPLACED = "Il remplace {who}, qui ne sera plus votre médecin traitant."
AUTHORISE_LIFTS_BLOCK = "Vous l'aviez bloqué : l'autoriser lève ce blocage."
TREATING_DOCTOR_REVOKED = "C'est votre médecin traitant : il ne le sera plus."
# A number the service has never seen log in: nothing to show but the number typed.
UNKNOWN_PROFESSIONAL = (
    "Ce professionnel n'est encore jamais venu au service : vérifiez son numéro RPPS sur une "
    "ordonnance avant de confirmer."
)
# Each emergency choice as it will be: (if allowed, if refused).
EMERGENCY_CONSEQUENCES = {
    "etreat": (
        "Le médecin régulateur du SAMU (15) pourra lire votre dossier pour organiser vos secours.",
        "Le médecin régulateur du SAMU (15) ne pourra pas lire votre dossier.",
    ),
    "btg": (
        "Un soignant face à une urgence pourra ouvrir votre dossier en écrivant pourquoi "
        "(« bris de glace ») ; ce sera tracé, et vous en serez prévenu(e) si vous l'avez "
        "choisi dans « Notifications ».",
        "Aucun soignant ne pourra ouvrir votre dossier en urgence (« bris de glace »), sauf "
        "s'il y est autorisé.",
    ),
    "masked": (
        "Vos documents masqués seront visibles lors d'un accès d'urgence que vous permettez "
        "(SAMU ou « bris de glace »).",
        "Vos documents masqués resteront cachés, même en urgence.",
    ),
}


def refusal(code: str) -> str:
    """The French for a refusal code; a plain "refusé" for a code this page does not know."""
    return REFUSALS.get(code, _UNKNOWN)
