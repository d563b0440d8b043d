"""The card port of the counter workflow (kiosk.core.ports.CardPort) over the card service.

Each call is one job on the card thread, on the named reader: a professional card is selected
again at each job, since another job may have run in between. A login costs two jobs: one at
insertion (identity, tries left and certificate), one for the PIN and the signature.
"""

from __future__ import annotations

from kiosk.cardreader.apdu import ApduProtocol, CardConnection
from kiosk.cardreader.profiles.cps import CpsSession, ProfessionalCard
from kiosk.cardreader.profiles.vitale2 import Vitale2Session
from kiosk.cardreader.reading import check_supported
from kiosk.cardreader.service import CardService
from kiosk.core.domain import OperatorCard, ProfessionalIdentity, RetrievedIdentity

__all__ = ["CounterCards"]


def _cps(connection: CardConnection, atr: bytes) -> CpsSession:
    check_supported(atr)
    session = CpsSession(ApduProtocol(connection), atr)
    session.select()
    return session


def _identity(card: ProfessionalCard) -> ProfessionalIdentity:
    return ProfessionalIdentity(
        card_type=card.card_type,
        id_nat=card.id_nat,
        nom=card.nom,
        prenom=card.prenom,
        profession=card.profession,
        structure_name=card.structure_name,
    )


class CounterCards:
    """kiosk.core.ports.CardPort through the one card thread."""

    def __init__(self, service: CardService, *, timeout_s: float = 8.0) -> None:
        self.service = service
        self.timeout_s = timeout_s

    def read_professional(self, reader: str) -> OperatorCard:
        def job(connection: CardConnection, atr: bytes) -> OperatorCard:
            session = _cps(connection, atr)
            identity = _identity(session.read_identity())
            return OperatorCard(identity, session.pin_tries_left(), session.read_certificate())

        return self.service.run(job, reader=reader, timeout_s=self.timeout_s)

    def sign_attestation(self, reader: str, pin: str, digest: bytes) -> bytes:
        def job(connection: CardConnection, atr: bytes) -> bytes:
            session = _cps(connection, atr)
            session.verify_pin(pin)
            return session.sign_digest(digest)

        return self.service.run(job, reader=reader, timeout_s=self.timeout_s)

    def read_vitale(self, reader: str) -> tuple[RetrievedIdentity, ...]:
        def job(connection: CardConnection, atr: bytes) -> tuple[RetrievedIdentity, ...]:
            check_supported(atr)
            card = Vitale2Session(ApduProtocol(connection), atr).read()
            return tuple(
                RetrievedIdentity(h.nom, h.prenom, h.birth_date, h.nir, h.nir_valid)
                for h in card.holders
            )

        return self.service.run(job, reader=reader, timeout_s=self.timeout_s)
