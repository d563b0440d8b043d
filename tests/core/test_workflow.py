"""The counter workflow alone, through fakes of its ports: every step, every refusal, a card
pulled at every step, offline. No Qt, no pcscd, no HTTP: the whole module runs in well under
a second. The same workflow over the real parts: tests/e2e, tests/ui."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace

import pytest

from dmpcommon.actions import (
    CardReadRefused,
    ConsentRecorded,
    DmpCreated,
    DmpOpened,
    IdentityToQualify,
    OperatorSessionClosed,
    OperatorSessionOpened,
    RefusedCard,
    Representative,
)
from dmpcommon.attestation import attestation_digest
from dmpcommon.identifiers import is_access_identifier
from dmpcommon.vocabulary import (
    AccessMode,
    Authorisation,
    BreakGlassReason,
    ContactChannel,
    CounterDocument,
    DmpStatus,
    IdentityDocument,
    Role,
)
from kiosk.core import CardFamily, Change, NoticeCode, OtherRepresentative, Step
from kiosk.core.errors import CardMuteError, CardRemovedError
from kiosk.core.ports import Delivery, SummarySection
from kiosk.core.workflow import NO_SESSION
from tests.support.fakes import (
    ADULT,
    AGENT,
    BAD_KEY,
    CERTIFICATE,
    CHILD,
    FAMILY,
    KIOSK_ID,
    NOW,
    PARENT,
    PATIENT_READER,
    PHARMACIST,
    PHYSICIAN,
    PRO_READER,
    TEEN,
    Counter,
    make_counter,
)

ADULT_INS = "279035121518989"
CHILD_INS = "115063523804211"
VERSION = "2031-01"


def _code(counter: Counter) -> NoticeCode | None:
    notice = counter.workflow.view().notice
    return notice.code if notice else None


def _at_patient(
    counter: Counter,
    person=ADULT,  # type: ignore[no-untyped-def]
    *,
    ins: str = ADULT_INS,
    status: DmpStatus | None = None,
    holders: tuple[object, ...] | None = None,
) -> None:
    """Logged in, the card in, this person chosen (qualified; a DMP if status says so)."""
    counter.central.qualifies(person, ins)
    if status is not None:
        counter.central.dmps[ins] = status
    cards = holders or (person,)
    counter.vitale(*cards)  # type: ignore[arg-type]
    counter.workflow.choose_holder(list(cards).index(person))
    assert counter.workflow.view().step is Step.PATIENT, counter.workflow.view().notice


def _to_consent(counter: Counter) -> None:
    counter.workflow.start_creation()
    counter.workflow.accept_information(VERSION)
    assert counter.workflow.view().step is Step.CONSENT


# -- the operator's login ---------------------------------------------------------------------


def test_a_login_reads_the_card_once_and_signs_once() -> None:
    counter = make_counter()
    counter.cards.insert_professional(PHARMACIST)
    counter.workflow.card_inserted(PRO_READER, CardFamily.PROFESSIONAL)
    view = counter.workflow.view()
    assert (view.step, view.pin_tries_left) == (Step.PIN, 3)
    counter.workflow.submit_pin("1234")
    assert counter.cards.jobs == ["read_professional", "sign_attestation"]
    view = counter.workflow.view()
    assert (view.step, view.online, view.notice) == (Step.READY, True, None)
    assert view.operator is not None and view.operator.health_professional
    [(opened, session_id)] = counter.queue.actions
    assert isinstance(opened, OperatorSessionOpened)
    assert base64.b64decode(opened.certificate) == CERTIFICATE
    # The card signed this kiosk, this session and the injected time.
    assert opened.issued_at == NOW.isoformat(timespec="microseconds")
    assert counter.cards.signed == [
        attestation_digest(kiosk_id=KIOSK_ID, session_id=session_id, issued_at=opened.issued_at)
    ]


@pytest.mark.parametrize("pin", ["", "1", "123", "123456789", "12a4", "１２３４"])
def test_a_pin_of_the_wrong_shape_is_refused_without_spending_a_try(pin: str) -> None:
    counter = make_counter()
    counter.cards.insert_professional(PHARMACIST)
    counter.workflow.card_inserted(PRO_READER, CardFamily.PROFESSIONAL)
    counter.workflow.submit_pin(pin)
    view = counter.workflow.view()
    assert (view.step, view.pin_tries_left, _code(counter)) == (Step.PIN, 3, NoticeCode.PIN_FORMAT)
    assert "sign_attestation" not in counter.cards.jobs and counter.queue.actions == []


def test_wrong_pins_count_down_then_block_the_card() -> None:
    counter = make_counter()
    counter.cards.insert_professional(PHARMACIST)
    counter.workflow.card_inserted(PRO_READER, CardFamily.PROFESSIONAL)
    for left in (2, 1):
        counter.workflow.submit_pin("0000")
        view = counter.workflow.view()
        assert view.notice is not None
        assert (view.step, view.notice.code, view.notice.tries_left) == (
            Step.PIN,
            NoticeCode.PIN_WRONG,
            left,
        )
        assert view.pin_tries_left == left
    counter.workflow.submit_pin("0000")
    assert (counter.workflow.view().step, _code(counter)) == (Step.WELCOME, NoticeCode.PIN_BLOCKED)
    assert counter.queue.actions == []


def test_a_blocked_card_is_told_at_insertion() -> None:
    counter = make_counter()
    counter.cards.insert_professional(PHARMACIST, tries=0)
    counter.workflow.card_inserted(PRO_READER, CardFamily.PROFESSIONAL)
    assert (counter.workflow.view().step, _code(counter)) == (Step.WELCOME, NoticeCode.PIN_BLOCKED)


def test_a_card_error_at_insertion_is_a_notice_with_its_code() -> None:
    counter = make_counter()
    counter.cards.insert_professional(PHARMACIST)
    counter.cards.failures[PRO_READER] = CardRemovedError("pulled")
    counter.workflow.card_inserted(PRO_READER, CardFamily.PROFESSIONAL)
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.reason) == (
        NoticeCode.CARD_ERROR,
        "card_removed",
    )
    assert counter.workflow.view().step is Step.WELCOME


def test_offline_login_goes_through_the_queue() -> None:
    counter = make_counter(online=False)
    counter.login()
    view = counter.workflow.view()
    assert (view.step, view.online, _code(counter)) == (
        Step.READY,
        False,
        NoticeCode.OFFLINE_LOGIN,
    )
    assert counter.queue.types() == ["operator_session_opened"]


def test_a_login_the_service_refuses_goes_back_to_welcome_with_its_reason() -> None:
    counter = make_counter()
    counter.central.refuse_login = "bad_certificate"
    counter.login()
    notice = counter.workflow.view().notice
    assert counter.workflow.view().step is Step.WELCOME
    assert notice is not None and (notice.code, notice.reason) == (
        NoticeCode.CENTRAL_REFUSED,
        "bad_certificate",
    )
    assert counter.queue.actions == []


def test_one_professional_card_at_a_time() -> None:
    counter = make_counter()
    counter.login()
    counter.workflow.card_inserted(PRO_READER, CardFamily.PROFESSIONAL)
    assert _code(counter) is NoticeCode.OPERATOR_ALREADY_IN
    assert counter.workflow.view().step is Step.READY


def test_the_professional_card_pulled_during_the_pin_leaves_nothing() -> None:
    counter = make_counter()
    counter.cards.insert_professional(PHARMACIST)
    counter.workflow.card_inserted(PRO_READER, CardFamily.PROFESSIONAL)
    counter.workflow.card_removed(PRO_READER)
    assert counter.workflow.view().step is Step.WELCOME
    counter.workflow.submit_pin("1234")  # a tap that arrives late does nothing
    assert counter.queue.actions == [] and counter.workflow.view().step is Step.WELCOME


# -- the patient's card -----------------------------------------------------------------------


def test_a_vitale_before_any_login_waits_unread_then_is_read_after_login() -> None:
    counter = make_counter()
    counter.vitale(ADULT)
    view = counter.workflow.view()
    assert (view.step, _code(counter)) == (Step.WELCOME, NoticeCode.VITALE_WAITING)
    assert view.vitale_waiting and counter.cards.jobs == []  # nothing read without an operator
    counter.login()
    assert counter.workflow.view().step is Step.HOLDERS  # no need to pull it out and back
    assert counter.cards.jobs[-1] == "read_vitale"


def test_a_vitale_pulled_before_login_is_forgotten() -> None:
    counter = make_counter()
    counter.vitale(ADULT)
    counter.workflow.card_removed(PATIENT_READER)
    counter.login()
    view = counter.workflow.view()
    assert view.step is Step.READY and not view.vitale_waiting
    assert "read_vitale" not in counter.cards.jobs


@pytest.mark.parametrize("family", [CardFamily.VITALE1, CardFamily.APCV, CardFamily.UNKNOWN])
def test_cards_the_kiosk_refuses_are_traced_without_their_data(family: CardFamily) -> None:
    counter = make_counter()
    counter.workflow.card_inserted(PATIENT_READER, family)  # nobody logged in: not traced
    assert counter.queue.actions == []
    counter.login()
    counter.workflow.card_inserted(PATIENT_READER, family)
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.reason) == (
        NoticeCode.CARD_REFUSED,
        family.value,
    )
    assert counter.queue.of(CardReadRefused) == [CardReadRefused(reason=RefusedCard(family))]
    assert counter.cards.jobs.count("read_vitale") == 0


def test_the_holders_with_minors_marked_as_of_today() -> None:
    counter = make_counter()
    counter.login()
    counter.vitale(*FAMILY)
    view = counter.workflow.view()
    assert view.step is Step.HOLDERS
    assert [(h.prenom, h.minor) for h in view.holders] == [
        ("CLAIRE", False),
        ("LEO", True),
        ("JADE", True),  # 18 tomorrow: still a minor today
    ]


def test_a_second_vitale_is_refused() -> None:
    counter = make_counter()
    counter.login()
    counter.vitale(ADULT)
    counter.workflow.card_inserted("Virtual PCD 00 02", CardFamily.VITALE2)
    assert _code(counter) is NoticeCode.ONE_PATIENT_AT_A_TIME


def test_a_vitale_that_fails_to_read_says_why() -> None:
    counter = make_counter()
    counter.login()
    counter.cards.failures[PATIENT_READER] = CardMuteError("mute")
    counter.vitale(ADULT)
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.reason) == (
        NoticeCode.CARD_ERROR,
        "card_mute",
    )
    assert counter.workflow.view().step is Step.READY


def test_a_nir_with_a_wrong_key_never_leaves_the_kiosk() -> None:
    counter = make_counter()
    counter.login()
    counter.vitale(BAD_KEY)
    counter.workflow.choose_holder(0)
    assert (counter.workflow.view().step, _code(counter)) == (Step.HOLDERS, NoticeCode.NIR_INVALID)
    assert counter.queue.types() == ["operator_session_opened"]


def test_an_identity_the_register_does_not_know() -> None:
    counter = make_counter()
    counter.login()
    counter.vitale(ADULT)
    counter.workflow.choose_holder(0)
    notice = counter.workflow.view().notice
    assert counter.workflow.view().step is Step.HOLDERS
    assert notice is not None and (notice.code, notice.reason) == (
        NoticeCode.IDENTITY_NOT_QUALIFIED,
        "not_found",
    )


def test_the_network_lost_at_qualification_carries_on_offline() -> None:
    counter = make_counter()
    counter.login()
    counter.central.online = False
    counter.vitale(ADULT)
    counter.workflow.choose_holder(0)
    view = counter.workflow.view()
    assert (view.step, view.online, view.identity_qualified, view.dmp) == (
        Step.PATIENT,
        False,
        False,
        None,
    )
    assert _code(counter) is NoticeCode.TO_QUALIFY
    assert counter.queue.of(IdentityToQualify) == [IdentityToQualify.of(ADULT.traits())]
    assert view.can_create and not (view.can_open or view.can_break_glass)


# -- what the operator may do: decided once, in the view --------------------------------------


@pytest.mark.parametrize(
    ("who", "role", "status", "authorised", "blocked", "expected"),
    [
        # create, open, regulator, break-glass, authorise oneself
        (PHARMACIST, None, None, False, False, (True, False, False, False, True)),
        (PHARMACIST, None, DmpStatus.VALID, True, False, (False, True, False, False, True)),
        (PHARMACIST, None, DmpStatus.VALID, False, False, (False, False, False, True, True)),
        (PHARMACIST, None, DmpStatus.VALID, False, True, (False, False, False, False, True)),
        (PHARMACIST, None, DmpStatus.CLOSED, True, False, (False, False, False, False, True)),
        (AGENT, None, None, False, False, (True, False, False, False, False)),
        (AGENT, None, DmpStatus.VALID, True, False, (False, False, False, False, False)),
        (
            PHYSICIAN,
            Role.SAMU_REGULATOR,
            DmpStatus.VALID,
            False,
            False,
            (False, False, True, True, True),
        ),
    ],
)
def test_what_the_patient_screen_offers(
    who: object,
    role: Role | None,
    status: DmpStatus | None,
    authorised: bool,
    blocked: bool,
    expected: tuple[bool, bool, bool, bool, bool],
) -> None:
    counter = make_counter()
    counter.login(who, role=role)  # type: ignore[arg-type]
    if authorised:
        counter.central.authorised[ADULT_INS] = {who.id_nat}  # type: ignore[attr-defined]
    if blocked:
        counter.central.blocked[ADULT_INS] = {who.id_nat}  # type: ignore[attr-defined]
    _at_patient(counter, status=status)
    view = counter.workflow.view()
    assert (
        view.can_create,
        view.can_open,
        view.can_open_as_regulator,
        view.can_break_glass,
        view.can_authorise_operator,
    ) == expected
    assert view.can_finish


def test_commands_the_view_does_not_offer_do_nothing() -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter, status=DmpStatus.VALID)  # not authorised
    counter.workflow.start_creation()  # a DMP exists: no creation
    assert counter.workflow.view().step is Step.PATIENT
    counter.workflow.open_record()  # not authorised: no normal opening
    counter.workflow.open_record(AccessMode.REGULATOR)  # not a regulator
    assert counter.central.opened == [] and counter.workflow.view().step is Step.PATIENT
    counter.workflow.open_record(
        AccessMode.BREAK_GLASS, BreakGlassReason.OTHER, "sans passer par l'écran"
    )
    assert counter.central.opened == []  # break-glass only from its own screen


# -- creation ---------------------------------------------------------------------------------


def test_an_adult_creation_queues_the_consent_and_the_creation_then_the_sheet() -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter)
    _to_consent(counter)
    counter.workflow.update_form(
        consent=True,
        etreat=False,
        contact_channel=ContactChannel.EMAIL,
        contact_address=" Jeanne.Bernard@Exemple.FR ",
        treating_doctor="101 0045 7828",
        authorise_operator=True,
    )
    counter.workflow.create()
    view = counter.workflow.view()
    assert view.step is Step.CREATED and view.notice is None
    consent, created = counter.queue.actions[-2:]
    session_id = counter.queue.actions[0][1]
    assert consent == (ConsentRecorded(ins=ADULT_INS, information_version=VERSION), session_id)
    payload = created[0]
    assert isinstance(payload, DmpCreated)
    assert (payload.ins, payload.identity, payload.information_version) == (
        ADULT_INS,
        None,
        VERSION,
    )
    assert (payload.emergency.etreat, payload.emergency.btg, payload.emergency.masked) == (
        False,
        True,
        True,
    )
    assert payload.contact is not None
    assert payload.contact.address == "Jeanne.Bernard@exemple.fr"
    assert payload.treating_doctor == "810100457828"  # the RPPS typed, as the card's id
    assert payload.authorised_professionals == (PHARMACIST.id_nat,)
    sheet = view.sheet
    assert sheet is not None and sheet.online and not sheet.etreat
    assert is_access_identifier(sheet.identifier)
    assert (sheet.identifier, sheet.activation_code) == (
        payload.access_identifier,
        payload.activation_code,
    )


def test_consent_is_never_assumed() -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter)
    _to_consent(counter)
    counter.workflow.create()
    assert (counter.workflow.view().step, _code(counter)) == (
        Step.CONSENT,
        NoticeCode.CONSENT_REQUIRED,
    )
    assert counter.queue.of(DmpCreated) == []


@pytest.mark.parametrize(
    ("representative", "reason"),
    [
        (1, "representative_required"),  # the child for themself: no one chosen
        (7, "representative_required"),  # not a holder of the card
        (2, "representative_not_adult"),  # the 17-year-old sister
    ],
)
def test_who_consents_for_a_minor_is_chosen_first(representative: int, reason: str) -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter, CHILD, ins=CHILD_INS, holders=FAMILY)
    counter.workflow.start_creation()
    view = counter.workflow.view()
    # Before the information and the consent box, and nobody pre-selected.
    assert view.step is Step.REPRESENTATIVE and view.form.representative is None
    counter.workflow.choose_representative(representative)
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.reason) == (
        NoticeCode.REPRESENTATIVE_INVALID,
        reason,
    )
    assert counter.workflow.view().step is Step.REPRESENTATIVE
    counter.workflow.accept_information(VERSION)  # no way round the representative
    assert counter.workflow.view().step is Step.REPRESENTATIVE


def test_an_adult_consents_alone() -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter, PARENT, ins=ADULT_INS, holders=FAMILY)
    counter.workflow.start_creation()
    assert counter.workflow.view().step is Step.INFORMATION  # no representative step
    counter.workflow.accept_information(VERSION)
    counter.workflow.update_form(consent=True, representative=1)  # a forged form
    counter.workflow.create()
    notice = counter.workflow.view().notice
    assert notice is not None and notice.reason == "representative_for_adult"


def _minor_to_consent(counter: Counter, representative: int) -> None:
    counter.workflow.start_creation()
    counter.workflow.choose_representative(representative)
    assert counter.workflow.view().step is Step.INFORMATION, counter.workflow.view().notice
    counter.workflow.accept_information(VERSION)


def test_a_minor_with_the_parent_as_representative() -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter, CHILD, ins=CHILD_INS, holders=FAMILY)
    view = counter.workflow.view()
    assert view.minor and [i for i, _ in view.adults] == [0]  # the sister is not an adult yet
    _minor_to_consent(counter, 0)
    counter.workflow.update_form(consent=True)
    counter.workflow.create()
    parent = Representative.of_card(PARENT.traits())
    [created] = counter.queue.of(DmpCreated)
    assert isinstance(created, DmpCreated) and created.representative == parent
    [consent] = counter.queue.of(ConsentRecorded)
    assert isinstance(consent, ConsentRecorded) and consent.representative == parent
    sheet = counter.workflow.view().sheet
    assert sheet is not None and sheet.representative == f"{PARENT.prenom} {PARENT.nom}"


def test_a_minor_with_the_other_parent_whose_identity_document_was_checked() -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter, CHILD, ins=CHILD_INS, holders=(CHILD,))  # no adult on this card
    counter.workflow.start_creation()
    assert counter.workflow.view().adults == ()
    other = OtherRepresentative(
        "  le goff ", "Marie-Hélène", "1980-03-02", IdentityDocument.ID_CARD
    )
    counter.workflow.declare_representative(replace(other, nom=" "))
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.field) == (
        NoticeCode.FIELD_REQUIRED,
        "rep_nom",
    )
    counter.workflow.declare_representative(replace(other, birth_date="2015-01-01"))
    notice = counter.workflow.view().notice
    assert notice is not None and notice.reason == "representative_not_adult"
    counter.workflow.declare_representative(other)
    counter.workflow.accept_information(VERSION)
    counter.workflow.update_form(consent=True)
    counter.workflow.create()
    [created] = counter.queue.of(DmpCreated)
    assert isinstance(created, DmpCreated) and created.representative == Representative(
        nom="LE GOFF",
        prenom="Marie-Hélène",
        birth_date="1980-03-02",
        identity_document=IdentityDocument.ID_CARD,
    )
    sheet = counter.workflow.view().sheet
    assert sheet is not None and sheet.representative == "Marie-Hélène LE GOFF"


@pytest.mark.parametrize(
    ("changes", "code", "reason"),
    [
        (
            {"contact_channel": ContactChannel.SMS, "contact_address": "0512"},
            NoticeCode.CONTACT_INVALID,
            "mobile_invalid",
        ),
        (
            {"contact_channel": ContactChannel.EMAIL, "contact_address": "jeanne@"},
            NoticeCode.CONTACT_INVALID,
            "email_invalid",
        ),
        ({"treating_doctor": "12345"}, NoticeCode.DOCTOR_INVALID, "format"),
        ({"treating_doctor": "10100457823"}, NoticeCode.DOCTOR_INVALID, "key"),
    ],
)
def test_a_form_field_that_is_wrong_is_named(
    changes: dict[str, object], code: NoticeCode, reason: str
) -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter)
    _to_consent(counter)
    counter.workflow.update_form(consent=True, **changes)
    counter.workflow.create()
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.reason) == (code, reason)
    assert counter.workflow.view().step is Step.CONSENT and counter.queue.of(DmpCreated) == []


def test_the_patient_is_never_their_own_representative_nor_a_holder_whose_nir_is_wrong() -> None:
    counter = make_counter()
    counter.login()
    family = (PARENT, CHILD, TEEN, BAD_KEY)
    _at_patient(counter, PARENT, ins=ADULT_INS, holders=family)
    assert [i for i, _ in counter.workflow.view().adults] == []  # BAD_KEY's NIR cannot be sent
    _to_consent(counter)
    counter.workflow.update_form(consent=True, representative=0)  # the patient themself
    counter.workflow.create()
    [created] = counter.queue.of(DmpCreated)
    assert isinstance(created, DmpCreated) and created.representative is None
    counter.workflow.finish()
    _at_patient(counter, CHILD, ins=CHILD_INS, holders=family)
    counter.workflow.start_creation()
    counter.workflow.choose_representative(3)  # the holder with a bad key
    notice = counter.workflow.view().notice
    assert notice is not None and notice.reason == "representative_required"


def test_a_card_whose_identifier_names_no_health_professional_is_not_offered_authorisation() -> (
    None
):
    odd = PHARMACIST.__class__("CPS", "899700218890", "DUPONT", "ANNE", "21", "Pharmacie")
    counter = make_counter()
    counter.login(odd)
    _at_patient(counter)
    _to_consent(counter)
    assert not counter.workflow.view().can_authorise_operator
    counter.workflow.update_form(consent=True, authorise_operator=True)
    counter.workflow.create()
    assert counter.queue.types()[-2:] == ["consent_recorded", "dmp_created"]  # both, or neither
    [created] = counter.queue.of(DmpCreated)
    assert isinstance(created, DmpCreated) and created.authorised_professionals == ()


def test_an_agent_never_authorises_themself_whatever_the_form_says() -> None:
    counter = make_counter()
    counter.login(AGENT)
    _at_patient(counter)
    _to_consent(counter)
    assert not counter.workflow.view().can_authorise_operator
    counter.workflow.update_form(consent=True, authorise_operator=True)
    counter.workflow.create()
    [created] = counter.queue.of(DmpCreated)
    assert isinstance(created, DmpCreated) and created.authorised_professionals == ()


@pytest.mark.parametrize("answer", [Delivery.ACCEPTED, Delivery.REJECTED])
def test_the_creation_is_done_only_once_the_service_answered(answer: Delivery) -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter)
    _to_consent(counter)
    counter.workflow.update_form(consent=True)
    counter.workflow.create()
    assert counter.workflow.view().creation is Delivery.PENDING
    counter.workflow.tick()
    assert counter.workflow.view().creation is Delivery.PENDING  # no answer yet
    counter.queue.answers[len(counter.queue.actions)] = answer  # the creation, last queued
    counter.workflow.tick()
    assert counter.workflow.view().creation is answer
    counter.workflow.finish()
    assert counter.workflow.view().creation is None


def test_offline_no_new_access_code_is_offered() -> None:
    counter = make_counter()
    counter.login()
    counter.central.dmps[ADULT_INS] = DmpStatus.VALID
    counter.central.online = False
    counter.vitale(ADULT)
    counter.workflow.choose_holder(0)
    assert not counter.workflow.view().can_reissue_activation


def test_an_offline_creation_names_the_patient_by_the_card_traits() -> None:
    counter = make_counter(online=False)
    counter.login()
    counter.vitale(ADULT)
    counter.workflow.choose_holder(0)
    _to_consent(counter)
    counter.workflow.update_form(consent=True)
    counter.workflow.create()
    [created] = counter.queue.of(DmpCreated)
    assert isinstance(created, DmpCreated)
    assert (created.ins, created.identity) == (None, ADULT.traits())
    sheet = counter.workflow.view().sheet
    assert sheet is not None and not sheet.online


def test_back_returns_to_the_patient_and_the_form_keeps_nothing_queued() -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter)
    counter.workflow.start_creation()
    counter.workflow.back()
    assert counter.workflow.view().step is Step.PATIENT
    counter.workflow.create()  # not on the consent screen: nothing
    assert counter.queue.of(DmpCreated) == []


# -- opening the record -----------------------------------------------------------------------


def test_an_authorised_professional_opens_the_summary_and_it_is_traced() -> None:
    counter = make_counter()
    counter.login()
    counter.central.authorised[ADULT_INS] = {PHARMACIST.id_nat}
    _at_patient(counter, status=DmpStatus.VALID)
    assert counter.workflow.view().authorisation is Authorisation.AUTHORISED
    counter.workflow.open_record()
    view = counter.workflow.view()
    assert view.step is Step.SUMMARY and view.summary is not None
    assert [d.title for d in view.summary.documents(SummarySection.MEDICATIONS)] == [
        "Metformine 500 mg"
    ]
    assert counter.queue.of(DmpOpened) == [DmpOpened(ins=ADULT_INS, mode=AccessMode.NORMAL)]
    counter.workflow.back()
    assert counter.workflow.view().summary is None


def test_break_glass_needs_a_reason_and_traces_it() -> None:
    counter = make_counter()
    counter.login()
    _at_patient(counter, status=DmpStatus.VALID)
    counter.workflow.ask_break_glass()
    assert counter.workflow.view().step is Step.BREAK_GLASS
    for code, text in ((None, "Malaise au comptoir"), (BreakGlassReason.OTHER, "  aa  ")):
        counter.workflow.open_record(AccessMode.BREAK_GLASS, code, text)
        assert _code(counter) is NoticeCode.REASON_REQUIRED
    assert counter.central.opened == []
    counter.workflow.open_record(
        AccessMode.BREAK_GLASS, BreakGlassReason.VITAL_EMERGENCY, " Malaise au comptoir "
    )
    assert counter.workflow.view().step is Step.SUMMARY
    expected = DmpOpened(
        ins=ADULT_INS,
        mode=AccessMode.BREAK_GLASS,
        reason_code=BreakGlassReason.VITAL_EMERGENCY,
        reason_text="Malaise au comptoir",
    )
    assert counter.queue.of(DmpOpened) == [expected]
    assert counter.central.opened == [
        (ADULT_INS, AccessMode.BREAK_GLASS, BreakGlassReason.VITAL_EMERGENCY, "Malaise au comptoir")
    ]


def test_an_opening_the_service_refuses_is_told_with_its_reason() -> None:
    counter = make_counter()
    counter.login()
    counter.central.authorised[ADULT_INS] = {PHARMACIST.id_nat}
    _at_patient(counter, status=DmpStatus.VALID)
    counter.central.refuse_open = "blocked_by_patient"  # blocked since the status was read
    counter.workflow.open_record()
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.reason) == (
        NoticeCode.OPEN_REFUSED,
        "blocked_by_patient",
    )
    assert counter.queue.of(DmpOpened) == []


def test_an_opening_needs_the_network() -> None:
    counter = make_counter()
    counter.login()
    counter.central.authorised[ADULT_INS] = {PHARMACIST.id_nat}
    _at_patient(counter, status=DmpStatus.VALID)
    counter.central.online = False
    counter.workflow.open_record()
    assert _code(counter) is NoticeCode.OPEN_NEEDS_NETWORK
    assert counter.queue.of(DmpOpened) == []


def test_an_agent_is_told_the_content_is_not_for_them() -> None:
    counter = make_counter()
    counter.login(AGENT)
    counter.central.authorised[ADULT_INS] = {AGENT.id_nat}
    _at_patient(counter, status=DmpStatus.VALID)
    counter.workflow.open_record()
    assert _code(counter) is NoticeCode.AGENT_NO_CONTENT
    assert counter.central.opened == []


def test_the_regulator_opens_in_regulator_mode() -> None:
    counter = make_counter()
    counter.login(PHYSICIAN, role=Role.SAMU_REGULATOR)
    _at_patient(counter, status=DmpStatus.VALID)
    counter.workflow.open_record(AccessMode.REGULATOR)
    assert counter.workflow.view().step is Step.SUMMARY
    assert counter.queue.of(DmpOpened) == [DmpOpened(ins=ADULT_INS, mode=AccessMode.REGULATOR)]


# -- leaving: a card pulled at every step, idle, finish ---------------------------------------

STEPS: dict[Step, Callable[[Counter], None]] = {
    Step.HOLDERS: lambda c: c.vitale(ADULT),
    Step.PATIENT: lambda c: _at_patient(c, status=DmpStatus.VALID),
    Step.INFORMATION: lambda c: (_at_patient(c), c.workflow.start_creation()),  # type: ignore[func-returns-value]
    Step.CONSENT: lambda c: (_at_patient(c), _to_consent(c), c.workflow.update_form(consent=True)),  # type: ignore[func-returns-value]
    Step.CREATED: lambda c: (
        _at_patient(c),
        _to_consent(c),
        c.workflow.update_form(consent=True),
        c.workflow.create(),
    ),  # type: ignore[func-returns-value]
    Step.BREAK_GLASS: lambda c: (
        _at_patient(c, status=DmpStatus.VALID),
        c.workflow.ask_break_glass(),
    ),  # type: ignore[func-returns-value]
    Step.SUMMARY: lambda c: (
        c.central.authorised.setdefault(ADULT_INS, {PHARMACIST.id_nat}),
        _at_patient(c, status=DmpStatus.VALID),
        c.workflow.open_record(),
    ),  # type: ignore[func-returns-value]
    Step.REPRESENTATIVE: lambda c: (
        _at_patient(c, CHILD, ins=CHILD_INS, holders=FAMILY),
        c.workflow.start_creation(),
    ),  # type: ignore[func-returns-value]
    Step.IDENTITY_CHECK: lambda c: (_at_patient(c), c.workflow.ask_identity_check()),  # type: ignore[func-returns-value]
    Step.CONFIRM: lambda c: (
        _at_patient(c, status=DmpStatus.VALID),
        c.workflow.ask_confirmation(Change.AUTHORISE),
    ),  # type: ignore[func-returns-value]
    Step.DOCUMENT: lambda c: (
        c.central.authorised.setdefault(ADULT_INS, {PHARMACIST.id_nat}),
        _at_patient(c, status=DmpStatus.VALID),
        c.workflow.start_change(Change.DOCUMENT, CounterDocument.VACCINATION),
    ),  # type: ignore[func-returns-value]
    Step.CONTACT: lambda c: (
        _at_patient(c, status=DmpStatus.VALID),
        c.workflow.start_change(Change.CONTACT),
    ),  # type: ignore[func-returns-value]
    Step.DOCTOR: lambda c: (
        _at_patient(c, status=DmpStatus.VALID),
        c.workflow.start_change(Change.DOCTOR),
    ),  # type: ignore[func-returns-value]
}


def _nothing_of_the_patient(counter: Counter) -> None:
    view = counter.workflow.view()
    assert (view.holders, view.patient, view.sheet, view.summary, view.dmp) == (
        (),
        None,
        None,
        None,
        None,
    )
    assert view.form == type(view.form)() and view.adults == ()


@pytest.mark.parametrize("step", list(STEPS))
def test_the_patient_card_pulled_at_each_step_forgets_the_patient(step: Step) -> None:
    counter = make_counter()
    counter.login()
    STEPS[step](counter)
    assert counter.workflow.view().step is step
    queued = counter.queue.types()
    counter.workflow.card_removed(PATIENT_READER)
    assert (counter.workflow.view().step, _code(counter)) == (
        Step.READY,
        NoticeCode.PATIENT_CARD_REMOVED,
    )
    _nothing_of_the_patient(counter)
    counter.workflow.create()  # a tap from the old screen, delivered late
    assert counter.queue.types() == queued  # nothing half-done, nothing more


@pytest.mark.parametrize("step", list(STEPS))
def test_the_professional_card_pulled_at_each_step_logs_out(step: Step) -> None:
    counter = make_counter()
    counter.login()
    STEPS[step](counter)
    counter.workflow.card_removed(PRO_READER)
    assert (counter.workflow.view().step, _code(counter)) == (
        Step.WELCOME,
        NoticeCode.OPERATOR_CARD_REMOVED,
    )
    assert counter.workflow.view().operator is None
    _nothing_of_the_patient(counter)
    closed, session_id = counter.queue.actions[-1]
    assert closed == OperatorSessionClosed() and session_id == counter.queue.actions[0][1]


def test_idle_time_forgets_the_patient_and_activity_postpones_it() -> None:
    counter = make_counter(idle_s=90)
    counter.login()
    _at_patient(counter)
    counter.clock.advance(80)
    counter.workflow.tick()
    assert counter.workflow.view().step is Step.PATIENT
    counter.workflow.activity()  # a key, a scroll: the timer starts again
    counter.clock.advance(80)
    counter.workflow.tick()
    assert counter.workflow.view().step is Step.PATIENT
    counter.clock.advance(10)
    counter.workflow.tick()
    assert (counter.workflow.view().step, _code(counter)) == (Step.READY, NoticeCode.IDLE_TIMEOUT)
    _nothing_of_the_patient(counter)
    assert counter.workflow.view().operator is not None  # the operator stays logged in


def test_finish_forgets_the_patient_and_waits_for_the_next_card() -> None:
    counter = make_counter()
    counter.login()
    STEPS[Step.CREATED](counter)
    counter.workflow.finish()
    assert counter.workflow.view().step is Step.READY
    _nothing_of_the_patient(counter)


def test_actions_outside_a_session_carry_no_session_of_an_operator() -> None:
    counter = make_counter()
    counter.login()
    counter.workflow.logout()
    counter.workflow.card_inserted(PATIENT_READER, CardFamily.UNKNOWN)
    assert counter.queue.actions[-1][0] == OperatorSessionClosed()
    assert all(session != NO_SESSION for _, session in counter.queue.actions)
    assert TEEN.minor_on(counter.workflow.today())  # the fixtures' ages hold on TODAY
