"""One contract between the kiosk and the central service: every action type, built on the
kiosk's side, read by the central appliers, each field written by one side and read by the
other.

The kiosk's real workflow (with fake readers that hold the fixture cards' real keys), its
real queue and sync client, the real central service over HTTP on SQLite. While it runs,
the service's payload decoding is wrapped so that every field an applier reads is noted:
a field added to a payload class and set by the kiosk but never read by the service, or read
by the service but never set by the kiosk, fails here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from sqlalchemy import select

from central.config import Settings
from central.migrate import upgrade
from central.sync import ingest as ingest_module
from central.sync.models import Receipt
from dmpcommon.actions import (
    PAYLOAD_TYPES,
    ActionPayload,
    ActionType,
    AuthorisationGranted,
    AuthorisationRevoked,
    ContactSet,
    DmpCreated,
    IdentityToQualify,
    NotificationContact,
    TreatingDoctorSet,
    decode_payload,
)
from dmpcommon.identifiers import rpps_of_id_nat
from dmpcommon.information import INFORMATION_VERSION
from dmpcommon.vocabulary import (
    AccessMode,
    BreakGlassReason,
    ContactChannel,
    CounterDocument,
    IdentityDocument,
)
from kiosk.core import (
    CardFamily,
    Change,
    CounterWorkflow,
    OperatorCard,
    ProfessionalIdentity,
    RetrievedIdentity,
)
from kiosk.core.ports import Delivery
from kiosk.sync.online import OnlineCentral
from kiosk.sync.queue import ActionQueue
from kiosk.sync.transport import CentralClient, RequestSigner
from tests.support.aged import write_aged_fixtures
from tests.support.central import Server, fixture_professional, start_server, wipe
from tests.support.dmp import card_traits
from tests.support.fakes import PATIENT_READER, PRO_READER, FakeCards
from tests.support.payloads import SAMPLES
from tests.support.queues import enrolled_queue, queue_login, sync

PHARMACIST = ProfessionalIdentity(
    "CPS", "899700218896", "DUPONT", "ANNE", "21", "Pharmacie du Port, Lorient"
)
PHYSICIAN = "810100457828"
JEANNE = "279035121518989"

# The action types the kiosk does not emit yet: defined, applied by the service, built here.
NOT_EMITTED_YET = {
    ActionType.AUTHORISATION_REVOKED,  # the patient's own pages withdraw authorisations
}
# A change to an existing DMP is offered only once the DMP's status is known, that is once
# the patient was qualified online: the kiosk names them by their INS, never by card traits
# (the service still takes traits, as for any patient action).
NAMED_BY_INS = {
    ActionType.AUTHORISATION_GRANTED,
    ActionType.CONTACT_SET,
    ActionType.TREATING_DOCTOR_SET,
    ActionType.DOCUMENT_ADDED,
    ActionType.DMP_CLOSED,
    ActionType.DMP_REOPENED,
    ActionType.ACTIVATION_REISSUED,
}
# Fields the service need not read, and why.
CHECKED_BY_VALIDATION = {
    (DmpCreated, "consent"): "Literal[True]: a payload without consent does not validate",
}


class SigningCards(FakeCards):
    """Fake readers holding the fixture professional cards' real keys and certificates, so
    that the real service accepts their logins."""

    def read_professional(self, reader: str) -> OperatorCard:
        card = super().read_professional(reader)
        certificate = fixture_professional(card.identity.id_nat).certificate_der
        return OperatorCard(card.identity, card.tries_left, certificate)

    def sign_attestation(self, reader: str, pin: str, digest: bytes) -> bytes:
        super().sign_attestation(reader, pin, digest)
        key = fixture_professional(self.professionals[reader][0].id_nat).key
        return key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))


class RecordingQueue:
    """The queue port: the real queue, and a copy of every payload the workflow built."""

    def __init__(self, queue: ActionQueue) -> None:
        self.queue = queue
        self.built: list[ActionPayload] = []

    def enqueue(
        self, payload: ActionPayload, *, session_id: str, subject: str | None = None
    ) -> object:
        self.built.append(payload)
        return self.queue.enqueue(payload, session_id=session_id, subject=subject)

    def delivery(self, entry: object) -> Delivery:
        return self.queue.delivery(entry)

    def refusal(self, entry: object) -> str | None:
        return self.queue.refusal(entry)


def _holders(cards: Path, image: str) -> tuple[RetrievedIdentity, ...]:
    document = json.loads((cards / image).read_text(encoding="utf-8"))
    return tuple(
        RetrievedIdentity(h["nom"], h["prenom"], h["birth_date"], h["nir"], True)
        for h in document["holders"]
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    cards, identities = write_aged_fixtures(tmp_path / "aged", dt.date.today())
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'central.db'}", home=tmp_path / "central", identities=identities
    )
    upgrade(settings.database_url)
    running = start_server(settings)
    wipe(running.state.engine)
    yield running, cards
    running.stop()


def _fields_set(payloads: list[ActionPayload]) -> set[str]:
    """The fields set to something other than their default in at least one payload."""
    seen: set[str] = set()
    for payload in payloads:
        for name, info in type(payload).model_fields.items():
            if getattr(payload, name) != info.get_default(call_default_factory=True):
                seen.add(name)
    return seen


def _the_counters_day(server: Server, cards: Path, queue: RecordingQueue) -> None:
    """What the kiosk does at a counter: every action type it emits, online and offline."""
    readers = SigningCards()

    def workflow(url: str) -> CounterWorkflow:
        return CounterWorkflow(
            kiosk_id=queue.queue.kiosk_id,
            cards=readers,
            central=OnlineCentral(
                CentralClient(
                    url,
                    timeout_s=5,
                    signer=RequestSigner(queue.queue.kiosk_id, queue.queue.signing_key),
                )
            ),
            queue=queue,
        )

    online = workflow(server.url)
    readers.insert_professional(PHARMACIST)
    online.card_inserted(PRO_READER, CardFamily.PROFESSIONAL)
    online.submit_pin("1234")
    online.card_inserted(PATIENT_READER, CardFamily.VITALE1)  # refused: traced
    # An adult, every choice made: contact, treating doctor, the pharmacist authorised.
    readers.vitales[PATIENT_READER] = _holders(cards, "vitale-adulte-seul.json")
    online.card_inserted(PATIENT_READER, CardFamily.VITALE2)
    online.choose_holder(0)
    online.start_creation()
    online.accept_information(INFORMATION_VERSION)
    online.update_form(
        consent=True,
        etreat=False,
        btg=True,
        masked=False,
        contact_channel=ContactChannel.SMS,
        contact_address="06 12 34 56 78",
        treating_doctor=str(rpps_of_id_nat(PHYSICIAN)),
        authorise_operator=True,
    )
    online.create()
    online.finish()
    online.card_removed(PATIENT_READER)
    sync(server, queue.queue)
    # The same adult again: the pharmacist opens her record.
    online.card_inserted(PATIENT_READER, CardFamily.VITALE2)
    online.choose_holder(0)
    online.open_record()
    # The rest of the counter's day on her record, each change answered before the next.
    online.back()

    def answered() -> None:
        sync(server, queue.queue)
        online.tick()
        change = online.view().change
        assert change is not None and change.delivery is Delivery.ACCEPTED, change

    online.ask_identity_check()
    online.check_identity(IdentityDocument.ID_CARD)
    online.start_change(Change.DOCUMENT, CounterDocument.ALLERGY)
    online.add_document(
        title="Allergie à la pénicilline",
        content="Urticaire sous amoxicilline en 2019",
        document_date=dt.date.today().isoformat(),
        masked=True,
    )
    answered()
    online.start_change(Change.CONTACT)
    online.set_contact(ContactChannel.EMAIL, "jeanne@exemple.fr")
    answered()
    online.start_change(Change.DOCTOR)
    online.set_doctor(str(rpps_of_id_nat(PHYSICIAN)))
    answered()
    online.ask_confirmation(Change.CLOSE)
    online.confirm()
    answered()
    online.ask_confirmation(Change.REOPEN)
    online.confirm()
    answered()
    online.reissue_activation()
    sync(server, queue.queue)
    online.tick()
    assert online.view().creation is Delivery.ACCEPTED
    online.finish()
    online.card_removed(PATIENT_READER)
    # A minor, with the parent of the card as legal representative; then break-glass on it.
    readers.vitales[PATIENT_READER] = _holders(cards, "vitale-parent-deux-enfants.json")
    online.card_inserted(PATIENT_READER, CardFamily.VITALE2)
    online.choose_holder(1)
    online.start_creation()
    online.choose_representative(0)
    online.accept_information(INFORMATION_VERSION)
    online.update_form(consent=True)
    online.create()
    online.finish()
    online.card_removed(PATIENT_READER)
    sync(server, queue.queue)
    online.card_inserted(PATIENT_READER, CardFamily.VITALE2)
    online.choose_holder(1)
    online.ask_break_glass()
    online.open_record(
        AccessMode.BREAK_GLASS, BreakGlassReason.UNCONSCIOUS_PATIENT, "Enfant inconscient"
    )
    # Then, his mother agreeing, the pharmacist is authorised on the child's record.
    online.back()
    online.ask_confirmation(Change.AUTHORISE)
    online.confirm()
    answered()
    online.card_removed(PATIENT_READER)
    online.card_removed(PRO_READER)  # logout
    # Offline: a login through the queue, an identity to qualify, a creation by card traits.
    offline = workflow("http://127.0.0.1:9")
    offline.card_inserted(PRO_READER, CardFamily.PROFESSIONAL)
    offline.submit_pin("1234")
    readers.vitales[PATIENT_READER] = _holders(cards, "vitale-noms-accents.json")
    offline.card_inserted(PATIENT_READER, CardFamily.VITALE2)
    offline.choose_holder(0)
    offline.ask_identity_check()
    offline.check_identity(IdentityDocument.PASSPORT)  # named by the card's traits
    offline.start_creation()
    offline.accept_information(INFORMATION_VERSION)
    offline.update_form(consent=True)
    offline.create()
    offline.card_removed(PATIENT_READER)
    offline.card_removed(PRO_READER)


def test_every_action_type_built_by_the_kiosk_is_read_by_the_central_appliers(
    server: tuple[Server, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, cards = server
    read: dict[type[ActionPayload], set[str]] = {}

    def recording_decode(action_type: str, data: bytes) -> ActionPayload:
        payload = decode_payload(action_type, data)
        cls = type(payload)
        fields = set(cls.model_fields)
        noted = read.setdefault(cls, set())

        class Recording(cls):  # type: ignore[valid-type,misc]
            def __getattribute__(self, name: str) -> Any:
                if name in fields:
                    noted.add(name)
                return super().__getattribute__(name)

        return Recording.model_construct(**{k: getattr(payload, k) for k in fields})

    monkeypatch.setattr(ingest_module, "decode_payload", recording_decode)
    (tmp_path / "kiosk").mkdir()
    queue = RecordingQueue(enrolled_queue(running, tmp_path / "kiosk"))
    _the_counters_day(running, cards, queue)
    # The types the kiosk does not emit yet, as it would build them, in a session of its own.
    queue_login(queue.queue, fixture_professional(PHARMACIST.id_nat), "session-not-yet")
    # The pharmacist reads Jeanne's card first (the patient present), then authorises itself
    # with her agreement and withdraws: the only authorisations an operator makes.
    pharmacist = PHARMACIST.id_nat
    for payload in (
        IdentityToQualify.model_validate(card_traits(running, JEANNE)),
        AuthorisationGranted(ins=JEANNE, id_nat=pharmacist, patient_agreement=True),
        SAMPLES[ActionType.IDENTITY_CHECKED],
        SAMPLES[ActionType.DOCUMENT_ADDED],
        SAMPLES[ActionType.DMP_CLOSED],
        SAMPLES[ActionType.DMP_REOPENED],
        SAMPLES[ActionType.ACTIVATION_REISSUED],
        AuthorisationRevoked(ins=JEANNE, id_nat=pharmacist),
        ContactSet(
            ins=JEANNE,
            contact=NotificationContact(channel=ContactChannel.EMAIL, address="j@exemple.fr"),
        ),
        TreatingDoctorSet(ins=JEANNE, id_nat=PHYSICIAN),
    ):
        queue.queue.enqueue(payload, session_id="session-not-yet")
    sync(running, queue.queue)

    with running.state.sessions() as db:
        receipts = db.execute(
            select(Receipt.action_type, Receipt.outcome, Receipt.reason).order_by(Receipt.seq)
        ).all()
    assert [r for r in receipts if r.outcome != "accepted"] == []
    assert {ActionType(r.action_type) for r in receipts} == set(ActionType)

    emitted = {payload.action_type for payload in queue.built}
    assert emitted == set(ActionType) - NOT_EMITTED_YET, (
        "the kiosk emits another action type: take it out of NOT_EMITTED_YET"
    )
    for action_type in emitted:
        cls = PAYLOAD_TYPES[action_type]
        built = [p for p in queue.built if type(p) is cls]
        expected = set(cls.model_fields) - ({"identity"} if action_type in NAMED_BY_INS else set())
        assert _fields_set(built) == expected, (
            f"{cls.__name__}: fields the kiosk never sets: "
            f"{set(cls.model_fields) - _fields_set(built)}"
        )
    for cls, names in read.items():
        expected = {n for n in cls.model_fields if (cls, n) not in CHECKED_BY_VALIDATION}
        assert names >= expected, (
            f"{cls.__name__}: fields the service never reads: {expected - names}"
        )
    assert set(read) == set(PAYLOAD_TYPES.values())
