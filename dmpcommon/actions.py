"""The action types of the kiosk's queue: one name each, on both ends of the sync.

Payloads (JSON, sealed; never on the kiosk's disk in clear):

- operator_session_opened: issued_at, certificate, signature (the card's attestation)
- operator_session_closed: {}
- identity_to_qualify: nom, prenom, birth_date, nir (read offline; the central qualifies)
- consent_recorded: ins or identity, information_version, representative (a minor's)
- dmp_created: ins or identity, consent, information_version, representative, emergency,
  contact, treating_doctor, authorised_professionals
- authorisation_granted / authorisation_revoked: ins or identity, id_nat
- contact_set: ins or identity, contact {channel, address}
- treating_doctor_set: ins or identity, id_nat
- dmp_opened: ins, mode (normal | regulateur | bris_de_glace), reason_code, reason_text
- card_read_refused: reason (vitale1, apcv, unknown_card...), no card data

`identity` is the card's traits {nom, prenom, birth_date, nir} when the kiosk could not
qualify them online; the central service qualifies them when the action arrives.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ActionType"]


class ActionType(StrEnum):
    OPERATOR_SESSION_OPENED = "operator_session_opened"
    OPERATOR_SESSION_CLOSED = "operator_session_closed"
    IDENTITY_TO_QUALIFY = "identity_to_qualify"
    CONSENT_RECORDED = "consent_recorded"
    DMP_CREATED = "dmp_created"
    AUTHORISATION_GRANTED = "authorisation_granted"
    AUTHORISATION_REVOKED = "authorisation_revoked"
    CONTACT_SET = "contact_set"
    TREATING_DOCTOR_SET = "treating_doctor_set"
    DMP_OPENED = "dmp_opened"
    CARD_READ_REFUSED = "card_read_refused"
