"""One payload of every action type, every optional field set, as a kiosk could build it."""

from __future__ import annotations

from dmpcommon.actions import (
    ActionPayload,
    ActionType,
    ActivationReissued,
    AuthorisationGranted,
    AuthorisationRevoked,
    CardReadRefused,
    CardTraits,
    ConsentRecorded,
    ContactSet,
    DmpClosed,
    DmpCreated,
    DmpOpened,
    DmpReopened,
    DocumentAdded,
    EmergencyChoices,
    IdentityChecked,
    IdentityToQualify,
    NotificationContact,
    OperatorSessionClosed,
    OperatorSessionOpened,
    RefusedCard,
    Representative,
    TreatingDoctorSet,
)
from dmpcommon.vocabulary import (
    AccessMode,
    BreakGlassReason,
    ContactChannel,
    CounterDocument,
    IdentityDocument,
)

JEANNE = "279035121518989"
TRAITS = CardTraits(nom="BERNARD", prenom="JEANNE", birth_date="1979-03-28", nir=JEANNE)
PARENT = Representative.of_card(
    CardTraits(nom="MARTIN", prenom="CLAIRE", birth_date="1984-02-11", nir="284027511234577")
)
PHYSICIAN = "810100457828"
NURSE = "860012345678"

SAMPLES: dict[ActionType, ActionPayload] = {
    ActionType.OPERATOR_SESSION_OPENED: OperatorSessionOpened(
        issued_at="2031-05-17T09:30:00.000000+00:00", certificate="MIIB", signature="MEUC"
    ),
    ActionType.OPERATOR_SESSION_CLOSED: OperatorSessionClosed(),
    ActionType.IDENTITY_TO_QUALIFY: IdentityToQualify.of(TRAITS),
    ActionType.CONSENT_RECORDED: ConsentRecorded(
        identity=TRAITS, information_version="2026-11", representative=PARENT
    ),
    ActionType.DMP_CREATED: DmpCreated(
        ins=JEANNE,
        consent=True,
        information_version="2026-11",
        representative=PARENT,
        emergency=EmergencyChoices(etreat=False, btg=True, masked=False),
        contact=NotificationContact(channel=ContactChannel.SMS, address="+33612345678"),
        treating_doctor=PHYSICIAN,
        authorised_professionals=(NURSE, PHYSICIAN),
        access_identifier="ABCDEFGH23",
        activation_code="01234567",
    ),
    ActionType.AUTHORISATION_GRANTED: AuthorisationGranted(
        ins=JEANNE, id_nat=NURSE, patient_agreement=True
    ),
    ActionType.AUTHORISATION_REVOKED: AuthorisationRevoked(identity=TRAITS, id_nat=NURSE),
    ActionType.CONTACT_SET: ContactSet(
        ins=JEANNE,
        contact=NotificationContact(channel=ContactChannel.EMAIL, address="jeanne@exemple.fr"),
    ),
    ActionType.TREATING_DOCTOR_SET: TreatingDoctorSet(ins=JEANNE, id_nat=PHYSICIAN),
    ActionType.DMP_OPENED: DmpOpened(
        ins=JEANNE,
        mode=AccessMode.BREAK_GLASS,
        reason_code=BreakGlassReason.UNCONSCIOUS_PATIENT,
        reason_text="Patiente inconsciente au comptoir",
    ),
    ActionType.CARD_READ_REFUSED: CardReadRefused(reason=RefusedCard.APCV),
    ActionType.IDENTITY_CHECKED: IdentityChecked(ins=JEANNE, document=IdentityDocument.PASSPORT),
    ActionType.DOCUMENT_ADDED: DocumentAdded(
        ins=JEANNE,
        kind=CounterDocument.VACCINATION,
        title="Vaccin grippe saisonnière",
        content="Influvac Tetra, lot 4421, bras gauche",
        document_date="2026-11-20",
        masked=True,
    ),
    ActionType.DMP_CLOSED: DmpClosed(ins=JEANNE),
    ActionType.DMP_REOPENED: DmpReopened(ins=JEANNE),
    ActionType.ACTIVATION_REISSUED: ActivationReissued(
        ins=JEANNE, access_identifier="ABCDEFGH23", activation_code="01234567"
    ),
}
