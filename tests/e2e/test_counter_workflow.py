"""The counter workflow (kiosk/core) over the real parts: pcscd and the virtual cards, the
central service over HTTP, the real queue and sync. The workflow's every step and refusal
is tested fast, through fakes, in tests/core; here, the paths that cross every part."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from central.audit.models import AuditEntry
from central.dmp.models import Dmp
from dmpcommon.identifiers import rpps_of_id_nat
from dmpcommon.information import INFORMATION_VERSION
from dmpcommon.vocabulary import Authorisation, ContactChannel, DmpStatus
from kiosk.cardreader.counter import CounterCards
from kiosk.core import Change, CounterWorkflow, NoticeCode, Step
from kiosk.core.ports import Delivery, SummarySection
from kiosk.sync.queue import ActionQueue
from tests.support.central import Server, fixture_professional, login
from tests.support.counter import AgedFixtures, inserted, make_workflow
from tests.support.dmp import add_doc, create
from tests.support.queues import sync

JEANNE = "279035121518989"
LEO = "115063523804211"
PHARMACIST = "899700218896"
PHYSICIAN = "810100457828"  # fixtures/cards/cps-medecin.json


def _create(workflow: CounterWorkflow, **form: object) -> None:
    """The chosen patient's creation with the defaults and this form."""
    workflow.start_creation()
    workflow.accept_information(INFORMATION_VERSION)
    workflow.update_form(consent=True, **form)
    workflow.create()
    assert workflow.view().step is Step.CREATED, workflow.view().notice


def _born(server: Server, ins: str = JEANNE) -> str:
    """The birth date the service holds for the record's person, asked at activation."""
    with server.state.sessions() as db:
        dmp = db.get(Dmp, ins)
        assert dmp is not None
        return dmp.birth_date


def test_an_adult_creation_in_five_taps_then_the_sheet_opens_the_access(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    workflow = make_workflow(server, cards, queue)
    with inserted(workflow, aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        assert (workflow.view().step, workflow.view().pin_tries_left) == (Step.PIN, 3)
        workflow.submit_pin("1234")
        view = workflow.view()
        assert (view.step, view.online) == (Step.READY, True)
        assert view.operator is not None and view.operator.health_professional
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            assert [(h.nom, h.prenom) for h in workflow.view().holders] == [("BERNARD", "JEANNE")]
            taps = [
                lambda: workflow.choose_holder(0),
                workflow.start_creation,
                lambda: workflow.accept_information(INFORMATION_VERSION),
                lambda: workflow.update_form(consent=True),
                workflow.create,
            ]
            seen = []
            for tap in taps:
                tap()
                seen.append(workflow.view().step)
            assert seen == [
                Step.PATIENT,
                Step.INFORMATION,
                Step.CONSENT,
                Step.CONSENT,
                Step.CREATED,
            ]
            sheet = workflow.view().sheet
            assert sheet is not None and sheet.online
            assert (sheet.etreat, sheet.btg, sheet.masked) == (True, True, True)
        # The card is out: nothing of the patient is left.
        view = workflow.view()
        assert (view.step, view.holders, view.patient, view.sheet) == (Step.READY, (), None, None)
    assert workflow.view().step is Step.WELCOME  # the professional card is out too
    sync(server, queue)
    status = queue.status()
    assert status.pending == 0 and status.rejected == [], status
    with server.state.sessions() as db:
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None and dmp.information_version == INFORMATION_VERSION
        logins = db.scalars(select(AuditEntry.detail).where(AuditEntry.action == "operator_login"))
        assert len(list(logins)) == 1  # the live login and its queued copy are one login
    with httpx.Client(base_url=server.url) as client:
        response = client.post(
            "/v1/patient/activate",
            json={
                "identifier": sheet.identifier,
                "code": sheet.activation_code,
                "birth_date": _born(server),
            },
        )
    assert response.status_code == 200, response.text


def test_a_minor_needs_an_adult_of_the_card_as_representative(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    workflow = make_workflow(server, cards, queue)
    with inserted(workflow, aged.cards / "cpe-agent-enim-paimpol.json", slot=1):
        workflow.submit_pin("1234")
        view = workflow.view()
        assert view.operator is not None and not view.operator.health_professional
        with inserted(workflow, aged.cards / "vitale-parent-deux-enfants.json", slot=0):
            assert [(h.prenom, h.minor) for h in workflow.view().holders] == [
                ("CLAIRE", False),
                ("LEO", True),
                ("JADE", True),
            ]
            workflow.choose_holder(1)
            workflow.start_creation()
            view = workflow.view()  # the representative first, nobody pre-selected
            assert view.step is Step.REPRESENTATIVE and view.form.representative is None
            assert view.minor and [i for i, _ in view.adults] == [0]
            workflow.choose_representative(2)  # JADE, a minor too
            notice = workflow.view().notice
            assert notice is not None and notice.code is NoticeCode.REPRESENTATIVE_INVALID
            assert notice.reason == "representative_not_adult"
            workflow.choose_representative(0)
            workflow.accept_information(INFORMATION_VERSION)
            assert not workflow.view().can_authorise_operator  # an agent never is
            workflow.update_form(consent=True, contact_channel=ContactChannel.SMS)
            workflow.update_form(contact_address="06 12 34 56 78")
            workflow.create()
            assert workflow.view().step is Step.CREATED
            workflow.finish()
            assert workflow.view().step is Step.READY
    sync(server, queue)
    assert queue.status().rejected == []
    with server.state.sessions() as db:
        dmp = db.get(Dmp, LEO)
        assert dmp is not None and dmp.consent_by == "representative"
        assert (dmp.representative_prenom, dmp.notify_address) == ("CLAIRE", "+33612345678")


def test_the_treating_doctor_named_at_the_counter_opens_the_record(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    """The RPPS typed at creation reaches the service as the physician's card identifier:
    the physician, logged in with their own card, is authorised and opens the record."""
    rpps = rpps_of_id_nat(PHYSICIAN)
    assert rpps is not None
    workflow = make_workflow(server, cards, queue)
    with inserted(workflow, aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        workflow.submit_pin("1234")
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            _create(workflow, treating_doctor=f"{rpps[:3]} {rpps[3:7]} {rpps[7:]}")
    sync(server, queue)
    assert queue.status().rejected == []
    with server.state.sessions() as db:
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None and dmp.treating_doctor == PHYSICIAN
    add_doc(
        server, login(server, fixture_professional(PHYSICIAN)), JEANNE, "medications", "Metformine"
    )
    with inserted(workflow, aged.cards / "cps-medecin.json", slot=1):
        workflow.submit_pin("1234")
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            view = workflow.view()
            assert (view.dmp, view.authorisation) == (DmpStatus.VALID, Authorisation.AUTHORISED)
            assert view.can_open and not view.can_break_glass
            workflow.open_record()
            summary = workflow.view().summary
            assert summary is not None
            titles = [d.title for d in summary.documents(SummarySection.MEDICATIONS)]
            assert titles == ["Metformine"]
    sync(server, queue)
    assert queue.status().rejected == []  # the opening reconciled with the service's audit


def test_an_agent_gives_a_locked_out_patient_a_new_code_and_the_old_one_is_void(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    """A patient lost the sheet: at the counter, their card read, the agent prints a new one;
    once the service applied it, the old code no longer opens the portal, the new one does."""
    created = create(server, login(server, fixture_professional(PHARMACIST)), JEANNE)
    workflow = make_workflow(server, cards, queue)
    with inserted(workflow, aged.cards / "cpe-agent-enim-paimpol.json", slot=1):
        workflow.submit_pin("1234")
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            assert workflow.view().can_reissue_activation
            workflow.reissue_activation()
            view = workflow.view()
            assert view.step is Step.CREATED and view.sheet is not None and view.sheet.reissued
            assert view.creation is Delivery.PENDING  # not said done before the service
            sheet = view.sheet
            sync(server, queue)
            workflow.tick()
            assert workflow.view().creation is Delivery.ACCEPTED
    with httpx.Client(base_url=server.url) as client:
        old = client.post(
            "/v1/patient/activate",
            json={
                "identifier": created["access_identifier"],
                "code": created["activation_code"],
                "birth_date": created["birth_date"],
            },
        )
        new = client.post(
            "/v1/patient/activate",
            json={
                "identifier": sheet.identifier,
                "code": sheet.activation_code,
                "birth_date": _born(server),
            },
        )
    assert old.status_code == 401 and new.status_code == 200, (old.text, new.text)


def test_the_counter_closes_the_record_at_the_patients_request_and_reopens_it(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    create(server, login(server, fixture_professional(PHARMACIST)), JEANNE)
    workflow = make_workflow(server, cards, queue)
    with inserted(workflow, aged.cards / "cpe-agent-enim-paimpol.json", slot=1):
        workflow.submit_pin("1234")
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            workflow.ask_confirmation(Change.CLOSE)
            workflow.confirm()
            assert workflow.view().dmp is DmpStatus.VALID  # queued, not done yet
            sync(server, queue)
            workflow.tick()
            assert workflow.view().dmp is DmpStatus.CLOSED
            with server.state.sessions() as db:
                dmp = db.get(Dmp, JEANNE)
                assert dmp is not None and dmp.status == "FERME"
            workflow.set_closed(False)
            sync(server, queue)
            workflow.tick()
            assert workflow.view().dmp is DmpStatus.VALID
    with server.state.sessions() as db:
        done = db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.in_(["dmp_close", "dmp_reopen"]))
            .order_by(AuditEntry.id)
        ).all()
    assert done == ["dmp_close", "dmp_reopen"]


def test_a_pharmacist_opens_and_an_agent_does_not(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    workflow = make_workflow(server, cards, queue)
    # The DMP exists, with the pharmacist authorised and a medication on it.
    with inserted(workflow, aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        workflow.submit_pin("1234")
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            _create(workflow, authorise_operator=True)
        sync(server, queue)
        token = login(server, fixture_professional(PHARMACIST))
        add_doc(server, token, JEANNE, "medications", "Amoxicilline 1 g")
        add_doc(server, token, JEANNE, "pathologies_allergies", "Allergie : pénicilline")
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            view = workflow.view()
            assert (view.dmp, view.authorisation) == (DmpStatus.VALID, Authorisation.AUTHORISED)
            workflow.open_record()
            summary = workflow.view().summary
            assert workflow.view().step is Step.SUMMARY and summary is not None
            assert [d.title for d in summary.documents(SummarySection.MEDICATIONS)] == [
                "Amoxicilline 1 g"
            ]
            assert [d.title for d in summary.documents(SummarySection.PATHOLOGIES_ALLERGIES)] == [
                "Allergie : pénicilline"
            ]
        assert workflow.view().summary is None  # card out: the record is gone from memory
    with inserted(workflow, aged.cards / "cpe-agent-enim-paimpol.json", slot=1):
        workflow.submit_pin("1234")
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            view = workflow.view()
            assert view.dmp is DmpStatus.VALID
            assert not (view.can_open or view.can_break_glass or view.can_open_as_regulator)
            workflow.open_record()
            view = workflow.view()
            assert view.step is Step.PATIENT and view.summary is None
            assert view.notice is not None and view.notice.code is NoticeCode.AGENT_NO_CONTENT
    sync(server, queue)
    assert [r["type"] for r in queue.status().rejected] == []


def test_wrong_pin_then_blocked_card_and_refused_cards(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    workflow = make_workflow(server, cards, queue)
    with inserted(workflow, aged.cards / "cps-bloquee.json", slot=1):
        view = workflow.view()
        assert view.step is Step.WELCOME
        assert view.notice is not None and view.notice.code is NoticeCode.PIN_BLOCKED
    with inserted(workflow, aged.cards / "cps-medecin.json", slot=1):
        workflow.submit_pin("12")  # refused by the workflow: no try spent
        view = workflow.view()
        assert view.notice is not None and view.notice.code is NoticeCode.PIN_FORMAT
        assert view.pin_tries_left == 3
        workflow.submit_pin("0000")
        view = workflow.view()
        assert (view.step, view.pin_tries_left) == (Step.PIN, 2)
        assert view.notice is not None
        assert (view.notice.code, view.notice.tries_left) == (NoticeCode.PIN_WRONG, 2)
        workflow.submit_pin("1234")
        assert workflow.view().step is Step.READY
        for image, reason in (("vitale1.json", "vitale1"), ("carte-bancaire.json", "unknown")):
            with inserted(workflow, aged.cards / image, slot=0):
                notice = workflow.view().notice
                assert notice is not None
                assert (notice.code, notice.reason) == (NoticeCode.CARD_REFUSED, reason)
    sync(server, queue)
    with server.state.sessions() as db:
        refused = db.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "card_read_refused")
            .order_by(AuditEntry.id)
        ).all()
    assert refused == ["vitale1", "unknown"]


def test_an_offline_creation_is_queued_to_qualify_and_syncs_later(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    workflow = make_workflow(server, cards, queue, url="http://127.0.0.1:9")  # network down
    with inserted(workflow, aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        workflow.submit_pin("1234")
        view = workflow.view()
        assert view.step is Step.READY and not view.online
        assert view.notice is not None and view.notice.code is NoticeCode.OFFLINE_LOGIN
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            view = workflow.view()
            assert not view.identity_qualified and view.dmp is None
            assert view.notice is not None and view.notice.code is NoticeCode.TO_QUALIFY
            _create(workflow)
            sheet = workflow.view().sheet
            assert sheet is not None and not sheet.online
    assert [r.action_type for r in queue.pending()] == [
        "operator_session_opened",
        "identity_to_qualify",
        "consent_recorded",
        "dmp_created",
        "operator_session_closed",
    ]
    sync(server, queue)  # the network is back
    assert queue.status().rejected == []
    with server.state.sessions() as db:
        assert db.get(Dmp, JEANNE) is not None
    with httpx.Client(base_url=server.url) as client:
        response = client.post(
            "/v1/patient/activate",
            json={
                "identifier": sheet.identifier,
                "code": sheet.activation_code,
                "birth_date": _born(server),
            },
        )
    assert response.status_code == 200
