"""The counter's day beyond creation, over the real cards, pcscd, queue and central service:
"le patient m'autorise" then the summary, a vaccination filed at the counter, a refusal over
the patient's block said with its reason. Each change goes through the queue and is said
done only once the service applied it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from central.dmp.models import Document
from dmpcommon.vocabulary import Authorisation, CounterDocument, DmpStatus
from kiosk.cardreader.counter import CounterCards
from kiosk.core import Change, NoticeCode, Step
from kiosk.core.ports import Delivery, SummarySection
from kiosk.core.workflow import RESUME_EVERY_S
from kiosk.sync.queue import ActionQueue
from tests.support.central import Server, fixture_professional, login
from tests.support.counter import AgedFixtures, inserted, make_workflow
from tests.support.dmp import create, patient_sets, patient_token
from tests.support.queues import sync

JEANNE = "279035121518989"
PHARMACIST = "899700218896"


def test_the_patient_authorises_the_pharmacist_who_files_a_vaccination(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    create(server, login(server, fixture_professional(PHARMACIST)), JEANNE)  # not authorised
    workflow = make_workflow(server, cards, queue)
    with inserted(workflow, aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        workflow.submit_pin("1234")
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            view = workflow.view()
            assert view.authorisation is Authorisation.NOT_AUTHORISED and view.can_authorise_self
            workflow.ask_confirmation(Change.AUTHORISE)
            workflow.confirm()
            assert not workflow.view().can_open  # queued: not done yet
            sync(server, queue)
            workflow.tick()
            view = workflow.view()
            assert view.change is not None and view.change.delivery is Delivery.ACCEPTED
            assert view.authorisation is Authorisation.AUTHORISED and view.can_open
            today = dt.date.today().isoformat()
            workflow.start_change(Change.DOCUMENT, CounterDocument.VACCINATION)
            workflow.add_document(
                title="Vaccin grippe saisonnière",
                content="Influvac Tetra, lot 4421, deltoïde gauche",
                document_date=today,
            )
            sync(server, queue)
            workflow.tick()
            view = workflow.view()
            assert view.change is not None and view.change.delivery is Delivery.ACCEPTED
            workflow.open_record()
            summary = workflow.view().summary
            assert workflow.view().step is Step.SUMMARY and summary is not None
            assert [d.title for d in summary.documents(SummarySection.OTHER)] == [
                "Vaccin grippe saisonnière"
            ]
    sync(server, queue)
    assert queue.status().rejected == []
    with server.state.sessions() as db:
        [document] = db.scalars(select(Document).where(Document.dmp_ins == JEANNE)).all()
        assert (document.category, document.loinc) == ("other", "11369-6")
        assert document.author_id == PHARMACIST


def test_a_self_authorisation_over_the_patients_block_is_refused_with_its_reason(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    created = create(server, login(server, fixture_professional(PHARMACIST)), JEANNE)
    workflow = make_workflow(server, cards, queue)
    with inserted(workflow, aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        workflow.submit_pin("1234")
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            assert workflow.view().dmp is DmpStatus.VALID and workflow.view().can_authorise_self
            # Meanwhile, on her phone, the patient blocks this pharmacist.
            blocked = patient_sets(server, patient_token(server, created), PHARMACIST, "block")
            assert blocked.status_code == 204, blocked.text
            workflow.ask_confirmation(Change.AUTHORISE)
            workflow.confirm()
            sync(server, queue)
            workflow.tick()
            view = workflow.view()
            assert view.change is not None
            assert (view.change.delivery, view.change.reason) == (
                Delivery.REJECTED,
                "blocked_by_patient",
            )
            assert not view.can_open
    [rejected] = queue.status().rejected
    assert (rejected["type"], rejected["reason"], rejected["subject"]) == (
        "authorisation_granted",
        "blocked_by_patient",
        "J. B.",
    )


def test_offline_at_login_the_session_comes_back_by_itself_with_the_network(
    server: Server, cards: CounterCards, queue: ActionQueue, aged: AgedFixtures
) -> None:
    """Logged in while the service was unreachable: once the queued login reached it, the
    kiosk asks for its session (signed with its key) and carries on online, the patient's
    identity qualified and the DMP's status known, without the operator logging in again."""
    create(server, login(server, fixture_professional(PHARMACIST)), JEANNE)
    workflow = make_workflow(server, cards, queue, url="http://127.0.0.1:9")  # no network
    with inserted(workflow, aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        workflow.submit_pin("1234")
        assert not workflow.view().online
        with inserted(workflow, aged.cards / "vitale-adulte-seul.json", slot=0):
            workflow.choose_holder(0)
            assert workflow.view().dmp is None and workflow.view().status_unknown
            sync(server, queue)  # the network is back: the queued login reaches the service
            workflow.central = make_workflow(server, cards, queue).central
            later = workflow.clock() + RESUME_EVERY_S
            workflow.clock = lambda: later
            workflow.tick()
            view = workflow.view()
            assert view.online and view.notice is not None
            assert view.notice.code is NoticeCode.BACK_ONLINE
            assert (view.dmp, view.identity_qualified) == (DmpStatus.VALID, True)
            assert view.can_authorise_self  # the live rules apply again
    sync(server, queue)
    assert queue.status().rejected == []
