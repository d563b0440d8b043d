"""The counter's whole day in the workflow, through fakes: the changes made with the patient
present (each through the queue, "done" once the service says so), identity vigilance, a
patient without a card, the timer that warns before it wipes, the session back with the
network. The same over the real parts: tests/e2e/test_counter_day.py and tests/ui."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from dmpcommon.actions import (
    ActivationReissued,
    AuthorisationGranted,
    ContactSet,
    DmpClosed,
    DmpCreated,
    DmpReopened,
    DocumentAdded,
    IdentityChecked,
    IdentitySearch,
    OperatorSessionClosed,
    TreatingDoctorSet,
)
from dmpcommon.vocabulary import (
    AccessMode,
    BreakGlassReason,
    ContactChannel,
    CounterDocument,
    DmpStatus,
    IdentityDocument,
)
from kiosk.core import CardFamily, Change, NoticeCode, OtherRepresentative, Step
from kiosk.core.ports import Delivery
from kiosk.core.workflow import IDLE_WARNING_S, LONG_READING_FACTOR, RESUME_EVERY_S, parse_day
from tests.support.fakes import (
    ADULT,
    AGENT,
    CHILD,
    FAMILY,
    PARENT,
    PATIENT_READER,
    PHARMACIST,
    TODAY,
    Counter,
    make_counter,
)

ADULT_INS = "279035121518989"
CHILD_INS = "115063523804211"


def _code(counter: Counter) -> NoticeCode | None:
    notice = counter.workflow.view().notice
    return notice.code if notice else None


def _patient(
    counter: Counter, person=ADULT, *, ins: str = ADULT_INS, status: DmpStatus | None = None
) -> None:  # type: ignore[no-untyped-def]
    counter.central.qualifies(person, ins)
    if status is not None:
        counter.central.dmps[ins] = status
    cards = FAMILY if person in FAMILY else (person,)
    counter.vitale(*cards)
    counter.workflow.choose_holder(list(cards).index(person))
    assert counter.workflow.view().step is Step.PATIENT, counter.workflow.view().notice


def _answer(counter: Counter, delivery: Delivery = Delivery.ACCEPTED, reason: str = "") -> None:
    counter.queue.answer_all(delivery, reason or None)
    counter.workflow.tick()


# -- "le patient m'autorise" ------------------------------------------------------------------


def test_the_patient_authorises_the_pharmacist_then_the_summary_opens() -> None:
    counter = make_counter()
    counter.login()
    _patient(counter, status=DmpStatus.VALID)
    view = counter.workflow.view()
    assert view.can_authorise_self and view.can_break_glass and not view.can_open
    counter.workflow.ask_confirmation(Change.AUTHORISE)
    view = counter.workflow.view()
    assert (view.step, view.confirming) == (Step.CONFIRM, Change.AUTHORISE)
    counter.workflow.back()  # the patient says no: nothing queued
    assert counter.queue.of(AuthorisationGranted) == []
    counter.workflow.ask_confirmation(Change.AUTHORISE)
    counter.workflow.confirm()
    [granted] = counter.queue.of(AuthorisationGranted)
    assert granted == AuthorisationGranted(
        ins=ADULT_INS, id_nat=PHARMACIST.id_nat, patient_agreement=True
    )
    view = counter.workflow.view()
    assert view.step is Step.PATIENT and view.change is not None
    assert (view.change.change, view.change.delivery) == (Change.AUTHORISE, Delivery.PENDING)
    assert not view.can_open and not view.can_authorise_self  # not done until the service says
    counter.central.authorised[ADULT_INS] = {PHARMACIST.id_nat}  # the service applied it
    _answer(counter)
    view = counter.workflow.view()
    assert view.change is not None and view.change.delivery is Delivery.ACCEPTED
    assert view.can_open and not view.can_authorise_self
    counter.workflow.open_record()
    assert counter.workflow.view().step is Step.SUMMARY


def test_an_authorisation_refused_over_a_block_says_why() -> None:
    counter = make_counter()
    counter.login()
    _patient(counter, status=DmpStatus.VALID)
    counter.workflow.ask_confirmation(Change.AUTHORISE)
    counter.workflow.confirm()
    _answer(counter, Delivery.REJECTED, "blocked_by_patient")
    view = counter.workflow.view()
    assert view.change is not None
    assert (view.change.delivery, view.change.reason) == (Delivery.REJECTED, "blocked_by_patient")
    assert not view.can_open


def test_no_self_authorisation_for_an_agent_nor_over_a_known_block() -> None:
    counter = make_counter()
    counter.login(AGENT)
    _patient(counter, status=DmpStatus.VALID)
    assert not counter.workflow.view().can_authorise_self
    counter.workflow.ask_confirmation(Change.AUTHORISE)
    assert counter.workflow.view().step is Step.PATIENT
    blocked = make_counter()
    blocked.login()
    blocked.central.blocked[ADULT_INS] = {PHARMACIST.id_nat}
    _patient(blocked, status=DmpStatus.VALID)
    assert not blocked.workflow.view().can_authorise_self


# -- documents, contact, doctor, closing, a new code ------------------------------------------


def test_a_vaccination_is_filed_only_by_an_authorised_professional() -> None:
    counter = make_counter()
    counter.login()
    _patient(counter, status=DmpStatus.VALID)
    assert not counter.workflow.view().can_add_document  # not authorised yet
    counter.workflow.start_change(Change.DOCUMENT, CounterDocument.VACCINATION)
    assert counter.workflow.view().step is Step.PATIENT
    counter.central.authorised[ADULT_INS] = {PHARMACIST.id_nat}
    counter.workflow.finish()
    _patient(counter, status=DmpStatus.VALID)
    counter.workflow.start_change(Change.DOCUMENT, CounterDocument.VACCINATION)
    view = counter.workflow.view()
    assert (view.step, view.document_kind) == (Step.DOCUMENT, CounterDocument.VACCINATION)
    for fields, field in (
        ({"title": " ", "content": "lot 1", "document_date": "2031-05-17"}, "title"),
        ({"title": "Grippe", "content": "", "document_date": "2031-05-17"}, "content"),
        ({"title": "Grippe", "content": "lot 1", "document_date": "17/05"}, "document_date"),
        ({"title": "Grippe", "content": "lot 1", "document_date": "2031-05-18"}, "document_date"),
    ):
        counter.workflow.add_document(**fields)
        notice = counter.workflow.view().notice
        assert notice is not None and notice.field == field, fields
        assert counter.workflow.view().step is Step.DOCUMENT  # what was typed stays
    counter.workflow.add_document(
        title="Vaccin grippe", content="Influvac Tetra, lot 4421", document_date="2031-05-17"
    )
    [added] = counter.queue.of(DocumentAdded)
    assert added == DocumentAdded(
        ins=ADULT_INS,
        kind=CounterDocument.VACCINATION,
        title="Vaccin grippe",
        content="Influvac Tetra, lot 4421",
        document_date="2031-05-17",
    )
    view = counter.workflow.view()
    assert view.step is Step.PATIENT and view.change is not None
    assert view.change.change is Change.DOCUMENT


def test_the_contact_and_the_doctor_are_checked_then_queued() -> None:
    counter = make_counter()
    counter.login(AGENT)  # an agent may, the patient present
    _patient(counter, status=DmpStatus.VALID)
    counter.workflow.start_change(Change.CONTACT)
    counter.workflow.set_contact(ContactChannel.SMS, "0512")
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.field) == (
        NoticeCode.CONTACT_INVALID,
        "address",
    )
    counter.workflow.set_contact(ContactChannel.SMS, "06 12 34 56 78")
    [contact] = counter.queue.of(ContactSet)
    assert isinstance(contact, ContactSet) and contact.contact.address == "+33612345678"
    assert not counter.workflow.view().can_set_doctor  # one change at a time
    _answer(counter)
    counter.workflow.start_change(Change.DOCTOR)
    counter.workflow.set_doctor("10100457823")
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.reason, notice.field) == ("key", "doctor")
    counter.workflow.set_doctor("10100457828")
    assert counter.queue.of(TreatingDoctorSet) == [
        TreatingDoctorSet(ins=ADULT_INS, id_nat="810100457828")
    ]


def test_closing_and_reopening_are_confirmed_queued_and_done_once_answered() -> None:
    counter = make_counter()
    counter.login(AGENT)
    _patient(counter, status=DmpStatus.VALID)
    view = counter.workflow.view()
    assert view.can_close and not view.can_reopen
    counter.workflow.ask_confirmation(Change.REOPEN)  # not closed: nothing to reopen
    assert counter.workflow.view().step is Step.PATIENT
    counter.workflow.ask_confirmation(Change.CLOSE)
    counter.workflow.confirm()
    assert counter.queue.of(DmpClosed) == [DmpClosed(ins=ADULT_INS)]
    assert counter.workflow.view().dmp is DmpStatus.VALID  # not said closed before it is
    counter.central.dmps[ADULT_INS] = DmpStatus.CLOSED
    _answer(counter)
    view = counter.workflow.view()
    assert view.dmp is DmpStatus.CLOSED and view.can_reopen and not view.can_close
    counter.workflow.set_closed(False)
    assert counter.queue.of(DmpReopened) == [DmpReopened(ins=ADULT_INS)]


def test_a_new_access_sheet_is_drawn_here_and_done_once_the_service_applies_it() -> None:
    counter = make_counter()
    counter.login()
    _patient(counter)  # no DMP: nothing to give a code for
    assert not counter.workflow.view().can_reissue_activation
    counter.workflow.reissue_activation()
    assert counter.queue.of(ActivationReissued) == []
    counter.workflow.finish()
    _patient(counter, status=DmpStatus.CLOSED)  # a closed DMP: the patient may reopen it online
    counter.workflow.reissue_activation()
    [reissued] = counter.queue.of(ActivationReissued)
    view = counter.workflow.view()
    sheet = view.sheet
    assert view.step is Step.CREATED and sheet is not None and sheet.reissued
    assert isinstance(reissued, ActivationReissued)
    assert (sheet.identifier, sheet.activation_code) == (
        reissued.access_identifier,
        reissued.activation_code,
    )
    assert sheet.expires_on == (TODAY + dt.timedelta(days=30)).isoformat()
    assert sheet.counter == PHARMACIST.structure_name and view.creation is Delivery.PENDING
    _answer(counter, Delivery.REJECTED, "patient_absent")
    view = counter.workflow.view()
    assert (view.creation, view.creation_refusal) == (Delivery.REJECTED, "patient_absent")


# -- identity vigilance, families, a patient without a card -----------------------------------


def test_an_identity_is_retrieved_until_a_document_is_checked() -> None:
    counter = make_counter()
    counter.login()
    _patient(counter)
    view = counter.workflow.view()
    assert view.identity_qualified and view.identity_document is None and view.can_check_identity
    assert view.traits is not None and view.traits.sexe == "F" and view.traits.birth_place
    assert view.patient is not None and view.patient.sex == "F"
    counter.workflow.ask_identity_check()
    assert counter.workflow.view().step is Step.IDENTITY_CHECK
    counter.workflow.check_identity(IdentityDocument.PASSPORT)
    view = counter.workflow.view()
    assert view.step is Step.PATIENT and view.identity_document is IdentityDocument.PASSPORT
    assert counter.queue.of(IdentityChecked) == [
        IdentityChecked(ins=ADULT_INS, document=IdentityDocument.PASSPORT)
    ]
    assert not view.can_check_identity


def test_another_person_of_the_card_without_pulling_it() -> None:
    counter = make_counter()
    counter.login()
    counter.central.qualifies(CHILD, CHILD_INS)
    _patient(counter, PARENT)
    assert counter.workflow.view().can_other_holder
    reads = counter.cards.jobs.count("read_vitale")
    counter.workflow.other_holder()
    view = counter.workflow.view()
    assert view.step is Step.HOLDERS and len(view.holders) == 3 and view.patient is None
    counter.workflow.choose_holder(1)
    view = counter.workflow.view()
    assert view.patient is not None and view.patient.prenom == CHILD.prenom
    assert counter.cards.jobs.count("read_vitale") == reads  # the card was not read again


def test_a_patient_without_a_card_is_found_by_a_checked_document() -> None:
    counter = make_counter()
    counter.login()
    assert counter.workflow.view().can_search
    counter.workflow.start_search()
    assert counter.workflow.view().step is Step.SEARCH
    search = IdentitySearch(
        nom="BERNARD",
        prenom="JEANNE",
        birth_date=ADULT.birth_date,
        sexe="F",
        document=IdentityDocument.ID_CARD,
    )
    counter.workflow.search_patient(search.model_copy(update={"prenom": "JANE"}))
    notice = counter.workflow.view().notice
    assert notice is not None and notice.reason == "not_found"
    counter.central.qualifies(ADULT, ADULT_INS)
    counter.central.dmps[ADULT_INS] = DmpStatus.VALID
    counter.workflow.search_patient(search)
    view = counter.workflow.view()
    assert view.step is Step.PATIENT and view.without_card and view.dmp is DmpStatus.VALID
    # Found by traits anyone could type: no change to who reads it or where codes go.
    assert not (
        view.can_authorise_self
        or view.can_set_contact
        or view.can_set_doctor
        or view.can_reissue_activation
        or view.can_close
    )
    assert view.identity_document is IdentityDocument.ID_CARD and view.identity_qualified
    assert counter.queue.of(IdentityChecked) == [
        IdentityChecked(ins=ADULT_INS, document=IdentityDocument.ID_CARD)
    ]
    counter.workflow.finish()
    assert counter.workflow.view().step is Step.READY


def test_no_search_without_the_network() -> None:
    counter = make_counter(online=False)
    counter.login()
    assert not counter.workflow.view().can_search
    counter.workflow.start_search()
    assert _code(counter) is NoticeCode.SEARCH_NEEDS_NETWORK


def test_offline_the_creation_warns_and_its_sheet_is_provisional() -> None:
    counter = make_counter(online=False)
    counter.login()
    counter.vitale(ADULT)
    counter.workflow.choose_holder(0)
    view = counter.workflow.view()
    assert view.status_unknown and view.can_create
    counter.workflow.start_creation()
    counter.workflow.accept_information("v1")
    counter.workflow.update_form(consent=True)
    counter.workflow.create()
    sheet = counter.workflow.view().sheet
    assert sheet is not None and sheet.provisional and not sheet.online
    assert counter.queue.subjects[-1] == "J. B."  # for whom, if it is refused


# -- the timer --------------------------------------------------------------------------------


def test_the_timer_warns_before_it_wipes_and_activity_keeps_the_patient() -> None:
    counter = make_counter(idle_s=90)
    counter.login()
    _patient(counter)
    counter.clock.advance(90 - IDLE_WARNING_S - 1)
    counter.workflow.tick()
    assert counter.workflow.view().idle_warning_s is None
    counter.clock.advance(2)
    counter.workflow.tick()
    assert counter.workflow.view().idle_warning_s == IDLE_WARNING_S - 1
    counter.workflow.activity()  # "Oui, je continue"
    assert counter.workflow.view().idle_warning_s is None
    for _ in range(10):  # typing for 100 s, a key every 10 s
        counter.clock.advance(10)
        counter.workflow.activity()
        counter.workflow.tick()
    assert counter.workflow.view().step is Step.PATIENT
    counter.clock.advance(90)
    counter.workflow.tick()
    view = counter.workflow.view()
    assert (view.step, _code(counter)) == (Step.READY, NoticeCode.IDLE_TIMEOUT)
    assert view.card_to_return and view.patient is None  # "Rendez sa carte Vitale"
    counter.workflow.card_removed(PATIENT_READER)
    assert not counter.workflow.view().card_to_return


@pytest.mark.parametrize("step", [Step.INFORMATION, Step.SUMMARY])
def test_reading_screens_get_longer(step: Step) -> None:
    counter = make_counter(idle_s=90)
    counter.login()
    counter.central.authorised[ADULT_INS] = {PHARMACIST.id_nat}
    _patient(counter, status=DmpStatus.VALID if step is Step.SUMMARY else None)
    if step is Step.SUMMARY:
        counter.workflow.open_record()
    else:
        counter.workflow.start_creation()
    counter.clock.advance(90 * LONG_READING_FACTOR - IDLE_WARNING_S - 1)
    counter.workflow.tick()
    assert counter.workflow.view().step is step and counter.workflow.view().idle_warning_s is None


# -- the network comes back -------------------------------------------------------------------


def test_the_session_comes_back_by_itself_with_the_network() -> None:
    counter = make_counter(online=False)
    counter.login()
    counter.vitale(ADULT)
    counter.workflow.choose_holder(0)
    assert not counter.workflow.view().online and counter.workflow.view().dmp is None
    counter.central.online = True
    counter.central.qualifies(ADULT, ADULT_INS)
    counter.central.dmps[ADULT_INS] = DmpStatus.VALID
    counter.workflow.tick()  # too soon: the service is not asked every second
    assert counter.central.resumed == []
    counter.clock.advance(RESUME_EVERY_S)
    counter.workflow.tick()
    view = counter.workflow.view()
    assert view.online and _code(counter) is NoticeCode.BACK_ONLINE
    assert view.dmp is DmpStatus.VALID and view.identity_qualified  # asked again, live
    assert not view.status_unknown


def test_a_session_the_service_ended_is_not_asked_for_again() -> None:
    counter = make_counter(online=False)
    counter.login()
    counter.central.online = True
    counter.central.refuse_login = "operator_session_over"
    counter.clock.advance(RESUME_EVERY_S)
    counter.workflow.tick()
    assert _code(counter) is NoticeCode.CENTRAL_REFUSED
    view = counter.workflow.view()  # nothing done offline in it would be accepted
    assert view.step is Step.WELCOME and view.operator is None
    counter.central.refuse_login = None
    counter.clock.advance(RESUME_EVERY_S)
    counter.workflow.tick()
    assert counter.central.resumed == []


def test_a_live_call_that_times_out_does_not_end_the_day_online() -> None:
    counter = make_counter()
    counter.login()
    counter.central.authorised[ADULT_INS] = {PHARMACIST.id_nat}
    _patient(counter, status=DmpStatus.VALID)
    counter.central.online = False
    counter.workflow.open_record()
    assert _code(counter) is NoticeCode.OPEN_NEEDS_NETWORK
    counter.central.online = True
    counter.clock.advance(RESUME_EVERY_S)
    counter.workflow.tick()
    counter.workflow.open_record()
    assert counter.workflow.view().step is Step.SUMMARY


# -- the operator -----------------------------------------------------------------------------


def test_signing_out_closes_the_session_and_asks_for_the_cards() -> None:
    counter = make_counter()
    counter.login()
    _patient(counter)
    counter.workflow.sign_out()
    view = counter.workflow.view()
    assert (view.step, _code(counter)) == (Step.WELCOME, NoticeCode.SIGNED_OUT)
    assert view.card_to_return and view.operator is None and view.patient is None
    assert isinstance(counter.queue.actions[-1][0], OperatorSessionClosed)


@pytest.mark.parametrize(
    ("code", "text", "field"),
    [
        (None, "Patiente inconsciente au comptoir", "reason"),  # nothing pre-selected
        (BreakGlassReason.OTHER, "aaaaa", "reason-text"),
        (BreakGlassReason.OTHER, "a b c", "reason-text"),
    ],
)
def test_break_glass_needs_a_chosen_reason_and_words(
    code: BreakGlassReason | None, text: str, field: str
) -> None:
    counter = make_counter()
    counter.login()
    _patient(counter, status=DmpStatus.VALID)
    counter.workflow.ask_break_glass()
    counter.workflow.open_record(AccessMode.BREAK_GLASS, code, text)
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.field) == (NoticeCode.REASON_REQUIRED, field)
    assert counter.central.opened == []


def test_a_minor_creation_queues_nothing_before_the_representative() -> None:
    counter = make_counter()
    counter.login()
    _patient(counter, CHILD, ins=CHILD_INS)
    counter.workflow.start_creation()
    counter.workflow.create()
    assert counter.queue.of(DmpCreated) == [] and counter.workflow.view().step is (
        Step.REPRESENTATIVE
    )
    counter.workflow.card_inserted(PATIENT_READER, CardFamily.VITALE2)  # no second card
    assert _code(counter) is NoticeCode.ONE_PATIENT_AT_A_TIME


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("17/05/2031", dt.date(2031, 5, 17)),
        (" 2031-05-17 ", dt.date(2031, 5, 17)),
        ("31/02/2031", None),
        ("17/05/31", None),
        ("17-05", None),
        ("", None),
    ],
)
def test_a_typed_date_is_read_as_the_counter_writes_it(text: str, day: dt.date | None) -> None:
    assert parse_day(text) == day


def test_the_search_form_names_each_field_that_is_wrong() -> None:
    counter = make_counter()
    counter.login()
    counter.workflow.start_search()
    good = {
        "nom": "bernard",
        "prenom": "jeanne",
        "birth_date": ADULT.birth_date,
        "sexe": "F",
        "birth_place": "",
        "document": IdentityDocument.PASSPORT,
    }
    for change, field in (
        ({"nom": " "}, "nom"),
        ({"birth_date": "12/13/1979"}, "birth_date"),
        ({"birth_date": "01/01/2099"}, "birth_date"),
        ({"sexe": ""}, "sexe"),
        ({"birth_place": "2C123"}, "birth_place"),
        ({"document": None}, "document"),
    ):
        counter.workflow.search_form(**{**good, **change})  # type: ignore[arg-type]
        notice = counter.workflow.view().notice
        assert notice is not None and notice.field == field, change
    counter.central.qualifies(ADULT, ADULT_INS)
    counter.workflow.search_form(**good)  # type: ignore[arg-type]
    view = counter.workflow.view()
    assert view.step is Step.PATIENT and view.identity_document is IdentityDocument.PASSPORT


def test_the_document_form_asks_which_kind() -> None:
    counter = make_counter()
    counter.login()
    counter.central.authorised[ADULT_INS] = {PHARMACIST.id_nat}
    _patient(counter, status=DmpStatus.VALID)
    counter.workflow.start_change(Change.DOCUMENT)
    fields = {"title": "Note", "content": "Observance bonne", "document_date": "17/05/2031"}
    counter.workflow.add_document(**fields)
    notice = counter.workflow.view().notice
    assert notice is not None and notice.field == "kind"
    counter.workflow.add_document(**fields, kind=CounterDocument.PHARMACEUTICAL_NOTE)
    [added] = counter.queue.of(DocumentAdded)
    assert isinstance(added, DocumentAdded)
    assert (added.kind, added.document_date) == (CounterDocument.PHARMACEUTICAL_NOTE, "2031-05-17")


def test_a_second_child_after_the_first_without_pulling_the_card() -> None:
    counter = make_counter()
    counter.login()
    counter.central.qualifies(CHILD, CHILD_INS)
    _patient(counter, CHILD, ins=CHILD_INS)
    counter.workflow.start_creation()
    counter.workflow.choose_representative(0)
    counter.workflow.accept_information("v1")
    counter.workflow.update_form(consent=True)
    counter.workflow.create()
    assert counter.workflow.view().can_other_holder
    counter.workflow.other_holder()
    view = counter.workflow.view()
    assert view.step is Step.HOLDERS and view.sheet is None and view.patient is None


def test_a_family_record_book_proves_a_child_not_an_adult() -> None:
    counter = make_counter()
    counter.login()
    _patient(counter)
    counter.workflow.ask_identity_check()
    counter.workflow.check_identity(IdentityDocument.FAMILY_RECORD_BOOK)
    notice = counter.workflow.view().notice
    assert notice is not None and notice.code is NoticeCode.DOCUMENT_NOT_FOR_ADULT
    assert counter.queue.of(IdentityChecked) == []
    counter.workflow.finish()
    counter.central.qualifies(CHILD, CHILD_INS)
    _patient(counter, CHILD, ins=CHILD_INS)
    counter.workflow.start_creation()
    other = OtherRepresentative(
        "KERGOAT", "Yann", "1980-01-01", IdentityDocument.FAMILY_RECORD_BOOK
    )
    counter.workflow.declare_representative(other)
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.field) == (
        NoticeCode.DOCUMENT_NOT_FOR_ADULT,
        "rep_document",
    )
    counter.workflow.declare_representative(
        replace(other, nom="K" * 121, document=IdentityDocument.PASSPORT)
    )
    notice = counter.workflow.view().notice
    assert notice is not None and (notice.code, notice.field) == (
        NoticeCode.NAME_INVALID,
        "rep_nom",
    )


def test_traits_typed_on_the_search_screen_are_wiped_by_the_timer() -> None:
    counter = make_counter(idle_s=90)
    counter.login()
    counter.workflow.start_search()
    counter.clock.advance(90 - IDLE_WARNING_S)
    counter.workflow.tick()
    assert counter.workflow.view().idle_warning_s is not None
    counter.clock.advance(IDLE_WARNING_S)
    counter.workflow.tick()
    assert (counter.workflow.view().step, _code(counter)) == (Step.READY, NoticeCode.IDLE_TIMEOUT)


def test_back_to_the_patient_after_the_creation_once_the_service_answered() -> None:
    counter = make_counter()
    counter.login()
    _patient(counter)
    counter.workflow.start_creation()
    counter.workflow.accept_information("v1")
    counter.workflow.update_form(consent=True)
    counter.workflow.create()
    counter.workflow.back()  # not answered yet: the status would be a guess
    assert counter.workflow.view().step is Step.CREATED
    counter.central.dmps[ADULT_INS] = DmpStatus.VALID
    _answer(counter)
    counter.workflow.back()
    view = counter.workflow.view()
    assert view.step is Step.PATIENT and view.dmp is DmpStatus.VALID and view.sheet is None


def test_only_actions_about_the_patient_carry_their_initials() -> None:
    counter = make_counter()
    counter.login()
    _patient(counter)
    counter.workflow.card_inserted(PATIENT_READER, CardFamily.UNKNOWN)  # a second, odd card
    counter.workflow.sign_out()
    subjects = dict(zip(counter.queue.types(), counter.queue.subjects, strict=True))
    assert subjects["card_read_refused"] is None
    assert subjects["operator_session_closed"] is None
    assert subjects["operator_session_opened"] is None
