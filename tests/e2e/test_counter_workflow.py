"""The counter workflow (kiosk/session.py) driven without Qt, over the real parts."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from central.audit.models import AuditEntry
from central.dmp.models import Dmp
from kiosk.cardreader.counter import CounterCards
from kiosk.session import Step
from kiosk.sync.queue import ActionQueue
from tests.central.harness import Server
from tests.e2e.conftest import inserted, make_session, sync

JEANNE = "279035121518989"
LEO = "115063523804211"


def test_an_adult_creation_in_five_taps_then_the_sheet_opens_the_access(
    server: Server, cards: CounterCards, queue: ActionQueue
) -> None:
    session = make_session(server, cards, queue)
    with inserted(session, "cps-pharmacienne-lorient.json", slot=1):
        assert (session.view().step, session.view().pin_tries_left) == (Step.PIN, 3)
        session.submit_pin("1234")
        view = session.view()
        assert (view.step, view.online, view.health_professional) == (Step.READY, True, True)
        assert view.operator == "Anne DUPONT, Pharmacie du Port, Lorient"
        with inserted(session, "vitale-adulte-seul.json", slot=0):
            assert [h.label for h in session.view().holders] == ["BERNARD Jeanne"]
            taps = [
                lambda: session.choose_holder(0),
                session.start_creation,
                session.accept_information,
                lambda: session.update_form(consent=True),
                session.create,
            ]
            seen = []
            for tap in taps:
                tap()
                seen.append(session.view().step)
            assert seen == [
                Step.PATIENT,
                Step.INFORMATION,
                Step.CONSENT,
                Step.CONSENT,
                Step.CREATED,
            ]
            sheet = session.view().sheet
            assert (
                sheet is not None
                and sheet.online
                and (sheet.etreat, sheet.btg, sheet.masked)
                == (
                    True,
                    True,
                    True,
                )
            )
        # The card is out: nothing of the patient is left.
        view = session.view()
        assert (view.step, view.holders, view.patient, view.sheet) == (Step.READY, (), None, None)
    assert session.view().step is Step.WELCOME  # the professional card is out too
    sync(server, queue)
    status = queue.status()
    assert status.pending == 0 and status.rejected == [], status
    with server.state.sessions() as db:
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None and dmp.information_version == "2026-11"
        logins = db.scalars(select(AuditEntry.detail).where(AuditEntry.action == "operator_login"))
        assert len(list(logins)) == 1  # the live login and its queued copy are one login
    with httpx.Client(base_url=server.url) as client:
        response = client.post(
            "/v1/patient/activate",
            json={"identifier": sheet.identifier, "code": sheet.activation_code},
        )
    assert response.status_code == 200, response.text


def test_a_minor_needs_an_adult_of_the_card_as_representative(
    server: Server, cards: CounterCards, queue: ActionQueue
) -> None:
    session = make_session(server, cards, queue)
    with inserted(session, "cpe-agent-enim-paimpol.json", slot=1):
        session.submit_pin("1234")
        assert not session.view().health_professional
        with inserted(session, "vitale-parent-deux-enfants.json", slot=0):
            assert [(h.label, h.minor) for h in session.view().holders] == [
                ("MARTIN Claire", False),
                ("MARTIN Leo", True),
                ("MARTIN Jade", True),
            ]
            session.choose_holder(1)
            session.start_creation()
            session.accept_information()
            view = session.view()
            assert view.minor and view.adults == ((0, "MARTIN Claire"),)
            session.update_form(consent=True)
            session.create()
            assert session.view().step is Step.CONSENT
            assert "représentant légal" in (session.view().notice or "")
            session.update_form(representative=0, contact_channel="sms", contact_address="0612")
            session.create()
            assert "mobile" in (session.view().notice or "")
            session.update_form(contact_address="06 12 34 56 78")
            session.create()
            assert session.view().step is Step.CREATED
            session.finish()
            assert session.view().step is Step.READY
    sync(server, queue)
    assert queue.status().rejected == []
    with server.state.sessions() as db:
        dmp = db.get(Dmp, LEO)
        assert dmp is not None and dmp.consent_by == "representative"
        assert (dmp.representative_prenom, dmp.notify_address) == ("CLAIRE", "+33612345678")


def test_a_pharmacist_opens_and_an_agent_does_not(
    server: Server, cards: CounterCards, queue: ActionQueue
) -> None:
    session = make_session(server, cards, queue)
    # The DMP exists, with the pharmacist authorised and a medication on it.
    with inserted(session, "cps-pharmacienne-lorient.json", slot=1):
        session.submit_pin("1234")
        with inserted(session, "vitale-adulte-seul.json", slot=0):
            session.choose_holder(0)
            session.start_creation()
            session.accept_information()
            session.update_form(consent=True, authorise_operator=True)
            session.create()
        sync(server, queue)
        from tests.central.dmp_helpers import add_doc
        from tests.central.harness import fixture_professional, login

        token = login(server, fixture_professional("899700218896"))
        add_doc(server, token, JEANNE, "medications", "Amoxicilline 1 g")
        add_doc(server, token, JEANNE, "pathologies_allergies", "Allergie : pénicilline")
        with inserted(session, "vitale-adulte-seul.json", slot=0):
            session.choose_holder(0)
            view = session.view()
            assert (view.dmp, view.authorisation) == ("VALIDE", "AUTORISE")
            session.open_record()
            summary = session.view().summary
            assert session.view().step is Step.SUMMARY and summary is not None
            assert [d["title"] for d in summary["medications"]] == ["Amoxicilline 1 g"]
            assert [d["title"] for d in summary["pathologies_allergies"]] == [
                "Allergie : pénicilline"
            ]
        assert session.view().summary is None  # card out: the record is gone from memory
    with inserted(session, "cpe-agent-enim-paimpol.json", slot=1):
        session.submit_pin("1234")
        with inserted(session, "vitale-adulte-seul.json", slot=0):
            session.choose_holder(0)
            assert session.view().dmp == "VALIDE"
            session.open_record()
            view = session.view()
            assert view.step is Step.PATIENT and view.summary is None
            assert "réservé aux professionnels de santé" in (view.notice or "")
    sync(server, queue)
    assert [r["type"] for r in queue.status().rejected] == []


def test_wrong_pin_then_blocked_card_and_refused_cards(
    server: Server, cards: CounterCards, queue: ActionQueue
) -> None:
    session = make_session(server, cards, queue)
    with inserted(session, "cps-bloquee.json", slot=1):
        view = session.view()
        assert view.step is Step.WELCOME and "bloqué" in (view.notice or "")
    with inserted(session, "cps-medecin.json", slot=1):
        session.submit_pin("0000")
        view = session.view()
        assert (view.step, view.pin_tries_left) == (Step.PIN, 2)
        assert "2 essais restants" in (view.notice or "")
        session.submit_pin("1234")
        assert session.view().step is Step.READY
        with inserted(session, "vitale1.json", slot=0):
            assert "Vitale 1" in (session.view().notice or "")
        with inserted(session, "carte-bancaire.json", slot=0):
            assert "carte inconnue" in (session.view().notice or "")
    sync(server, queue)
    with server.state.sessions() as db:
        refused = db.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "card_read_refused")
        ).all()
    assert refused == ["vitale1", "unknown"]


def test_an_offline_creation_is_queued_to_qualify_and_syncs_later(
    server: Server, cards: CounterCards, queue: ActionQueue
) -> None:
    session = make_session(server, cards, queue, url="http://127.0.0.1:9")  # network down
    with inserted(session, "cps-pharmacienne-lorient.json", slot=1):
        session.submit_pin("1234")
        view = session.view()
        assert view.step is Step.READY and not view.online and "hors ligne" in (view.notice or "")
        with inserted(session, "vitale-adulte-seul.json", slot=0):
            session.choose_holder(0)
            view = session.view()
            assert view.to_qualify and view.dmp is None and "INSi" in (view.notice or "")
            session.start_creation()
            session.accept_information()
            session.update_form(consent=True)
            session.create()
            sheet = session.view().sheet
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
            json={"identifier": sheet.identifier, "code": sheet.activation_code},
        )
    assert response.status_code == 200
