"""The information notice says what the law asks, and offers only what the portal does."""

from __future__ import annotations

from central.portal.routes import router
from dmpcommon.information import INFORMATION_TEXT

# What the notice promises online, and the portal's page that keeps the promise.
PROMISES = {
    "historique des accès": "/patient/journal",
    "masquer un document": "/patient/document/masque",
    "bloquer un professionnel": "/patient/acces/professionnel",
    "désigner votre médecin traitant": "/patient/acces/medecin-traitant",
    "refuser les accès d'urgence": "/patient/acces/urgence",
    "fermer votre DMP": "/patient/fermeture",
    "vous pouvez le rouvrir": "/patient/reouverture",
    "ajouter vos propres notes": "/patient/ajouter",
    "et les supprimer": "/patient/document/suppression",
    "changer votre e-mail ou votre mobile": "/patient/contact",
    "choisir d'être prévenu(e)": "/patient/notifications",
}


def test_the_notice_names_the_controller_purposes_rights_retention_dpo_and_cnil() -> None:
    text = " ".join(INFORMATION_TEXT.split())
    for words in (
        "Responsable du traitement",
        "Caisse nationale de l'assurance maladie (CNAM)",
        "prévention, la qualité, la continuité et la coordination",
        "Qui peut le lire",
        "Rectification",
        "opposition",
        "conservés 10 ans après la fermeture",
        "délégué à la protection des données (DPO)",
        "réclamation à la CNIL",
        "employeur",
    ):
        assert words in text, words


def test_every_right_the_notice_offers_online_is_a_page_of_the_portal() -> None:
    text = " ".join(INFORMATION_TEXT.split())
    paths = {getattr(route, "path", "") for route in router.routes}
    for promise, path in PROMISES.items():
        assert promise in text, promise
        assert path in paths, path
