"""The information the patient reads before consenting, at the kiosk or in the portal:
one versioned text (a document both screens show, not a message), the version recorded.

Change the text, change the version: the consent record names the version the patient saw.

It is the notice the GDPR (articles 13 and 14) and the public health code (L. 1111-14 and
following, R. 1111-26 and following) ask for: controller, purposes, recipients, rights and
where to exercise them, retention, the DPO, the CNIL. What it says the portal offers is what
central/portal offers: a right it names must be a page there, or a place to write to.

Its shape, which the printed notice reads (kiosk/ui/sheet.py): the first line is the title;
paragraphs are separated by a blank line; a paragraph of one short line without final
punctuation is a heading; lines starting with "– " are list items.
"""

from __future__ import annotations

__all__ = ["INFORMATION_TEXT", "INFORMATION_VERSION"]

INFORMATION_VERSION = "2027-01"

INFORMATION_TEXT = """\
Note d'information sur le Dossier Médical Partagé (DMP)

Ce qu'est le DMP

Votre DMP est un carnet de santé numérique et sécurisé. Il conserve vos traitements, vos \
allergies et pathologies, l'historique de vos soins des 24 derniers mois, vos comptes rendus, \
vos résultats d'examens, vos directives anticipées et les personnes à prévenir, pour que les \
professionnels de santé qui vous soignent les retrouvent. Sa création est gratuite et n'est \
pas obligatoire : la refuser ne change rien à vos soins ni à vos remboursements.

Responsable du traitement

La Caisse nationale de l'assurance maladie (CNAM), 50 avenue du Professeur André Lemierre, \
75986 Paris Cedex 20. Le DMP est prévu par le code de la santé publique (articles L. 1111-14 \
et suivants, R. 1111-26 et suivants) : une mission d'intérêt public dans le domaine de la \
santé.

À quoi il sert

Uniquement à favoriser la prévention, la qualité, la continuité et la coordination de vos \
soins. Vos données ne sont ni vendues ni utilisées pour de la publicité, et ne servent pas à \
décider de vos remboursements.

Qui peut le lire

– vous-même ; pour un mineur, son représentant légal ;
– les professionnels de santé que vous autorisez, et votre médecin traitant ;
– en urgence, sauf si vous le refusez : le médecin régulateur du SAMU, et un professionnel \
face à une urgence (« bris de glace »), qui doit écrire pourquoi ; vous êtes prévenu(e) ;
– les agents d'accueil d'une pharmacie ou d'un établissement voient seulement si votre DMP \
existe, jamais son contenu.
Jamais, même avec votre accord : votre employeur, la médecine du travail, les assurances, les \
mutuelles et les banques. Chaque tentative est refusée et tracée.

Vos droits, sur le site de votre DMP

L'adresse du site est sur la fiche remise au comptoir. À tout moment, vous pouvez :
– accès : lire tout votre dossier, documents masqués compris ;
– historique des accès : voir qui a consulté ou modifié votre dossier, et quand, accès \
d'urgence compris, avec le motif déclaré ;
– masquage : masquer un document aux professionnels (son auteur et votre médecin traitant le \
voient encore), ou le rendre de nouveau visible ;
– opposition : bloquer un professionnel, retirer une autorisation, refuser les accès \
d'urgence, ou fermer votre DMP ;
– autoriser un professionnel, désigner votre médecin traitant ;
– ajouter vos propres notes (personne à prévenir, réaction à un médicament, directives \
anticipées) et les supprimer ;
– choisir d'être prévenu(e) d'un nouveau document, du premier accès d'un professionnel et de \
chaque accès d'urgence, et changer votre e-mail ou votre mobile (confirmé par un code).
Vos messages de connexion et vos notifications ne contiennent aucune donnée de santé.

Au comptoir

À votre demande, un nouveau code d'accès (l'ancien ne fonctionne \
plus), la fermeture ou la réouverture de votre DMP, un nouveau contact ou un nouveau médecin \
traitant.

Rectification

Un document déposé par un professionnel ne peut être corrigé que par lui : demandez-le-lui. \
Pour une erreur sur votre identité, adressez-vous à votre caisse d'assurance maladie.

Fermeture et conservation

Fermé, votre DMP n'est plus lisible par aucun professionnel, même en urgence, directives \
anticipées comprises : confiez-en aussi une copie à votre médecin ou à un proche. Son contenu \
et l'historique de ses accès sont conservés 10 ans après la fermeture, puis détruits. Pendant \
ces 10 ans, vous pouvez le rouvrir.

Pour un mineur

Son représentant légal consent à la création et exerce ces droits pour lui. Un mineur peut \
demander à un professionnel qu'un document reste invisible à ses représentants légaux.

Contact et réclamation

Pour toute question sur vos données, ou pour exercer un droit autrement qu'en ligne, écrivez \
au délégué à la protection des données (DPO) de la CNAM, 50 avenue du Professeur André \
Lemierre, 75986 Paris Cedex 20, ou adressez-vous à votre caisse d'assurance maladie : \
réponse sous un mois. Si la réponse ne vous satisfait pas, vous pouvez adresser une \
réclamation à la CNIL : www.cnil.fr, ou 3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07.
"""
