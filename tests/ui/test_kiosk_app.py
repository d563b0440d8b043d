"""The kiosk app, offscreen, driven like a counter: real cards in vpcd, real central service."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from central.audit.models import AuditEntry
from central.dmp.models import Dmp
from kiosk.core import NoticeCode, Step
from kiosk.messages import describe_notice, describe_refusal
from kiosk.ui.app import Kiosk
from kiosk.ui.pin import PinScreen
from tests.support.central import Server
from tests.support.counter import AgedFixtures
from tests.support.pcsc import card_in_slot
from tests.support.ui import KioskFactory, tap, wait_step

JEANNE = "279035121518989"


def _notice(kiosk: Kiosk) -> NoticeCode | None:
    view = kiosk.window.view
    return view.notice.code if view is not None and view.notice is not None else None


def _refused(kiosk: Kiosk) -> str | None:
    """The card family of a refused card's notice."""
    view = kiosk.window.view
    if view is None or view.notice is None or view.notice.code is not NoticeCode.CARD_REFUSED:
        return None
    return view.notice.reason


def _login(qtbot: QtBot, kiosk: object, pin: str = "1234", *, pause_ms: int = 0) -> None:
    wait_step(qtbot, kiosk, Step.PIN)  # type: ignore[arg-type]
    screen = kiosk.window.screens[Step.PIN]  # type: ignore[attr-defined]
    assert isinstance(screen, PinScreen)
    for i, digit in enumerate(pin):
        tap(qtbot, kiosk, f"key-{digit}")  # type: ignore[arg-type]
        if i == 1 and pause_ms:
            qtbot.wait(pause_ms)  # a slow operator: idle ticks must not wipe the digits
    tap(qtbot, kiosk, "key-Valider")  # type: ignore[arg-type]


def _open_first_holder(qtbot: QtBot, kiosk: object) -> None:
    """From the inserted Vitale card to the first holder's patient screen."""
    wait_step(qtbot, kiosk, Step.HOLDERS)  # type: ignore[arg-type]
    tap(qtbot, kiosk, "holder-0")  # type: ignore[arg-type]
    wait_step(qtbot, kiosk, Step.PATIENT)  # type: ignore[arg-type]


# An adult's creation with the defaults: each tap, and the screen it leads to.
ADULT_CREATION = (
    ("holder-0", Step.PATIENT),
    ("create", Step.INFORMATION),
    ("accept", Step.CONSENT),
    ("consent", Step.CONSENT),
    ("create", Step.CREATED),
)


def _create(qtbot: QtBot, kiosk: object, *, pause_after_consent_ms: int = 0) -> int:
    """Tap through an adult's creation from the holders; returns the number of taps."""
    for name, step in ADULT_CREATION:
        tap(qtbot, kiosk, name)  # type: ignore[arg-type]
        wait_step(qtbot, kiosk, step)  # type: ignore[arg-type]
        if name == "consent" and pause_after_consent_ms:
            qtbot.wait(pause_after_consent_ms)  # idle ticks: the ticked box must stay ticked
    return len(ADULT_CREATION)


def test_an_adult_creation_at_the_counter(
    qtbot: QtBot, make_kiosk: KioskFactory, server: Server, aged: AgedFixtures
) -> None:
    kiosk = make_kiosk()
    with card_in_slot(aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        _login(qtbot, kiosk, pause_ms=2200)
        wait_step(qtbot, kiosk, Step.READY)
        with card_in_slot(aged.cards / "vitale-adulte-seul.json", slot=0):
            wait_step(qtbot, kiosk, Step.HOLDERS)
            assert _create(qtbot, kiosk, pause_after_consent_ms=2200) <= 6
            created = kiosk.window.screens[Step.CREATED].heading  # type: ignore[attr-defined]
            assert created.text() in (
                "Création envoyée : en attente de la réponse du service central…",
                "DMP créé.",  # the service was quicker than this line
            )
            # "DMP créé" once the service acknowledged it, not before.
            qtbot.waitUntil(lambda: created.text() == "DMP créé.", timeout=15_000)
            qtbot.waitUntil(lambda: len(kiosk.window.printed) == 1)
            assert kiosk.window.printed[0].read_bytes().startswith(b"%PDF")
            # Green only once the service acknowledged everything.
            qtbot.waitUntil(lambda: kiosk.window.sync.objectName() == "sync-ok", timeout=15_000)
        wait_step(qtbot, kiosk, Step.READY)
        view = kiosk.window.view
        assert view is not None and view.patient is None and view.sheet is None
    wait_step(qtbot, kiosk, Step.WELCOME)
    with server.state.sessions() as db:
        assert db.get(Dmp, JEANNE) is not None


def test_a_pharmacist_sees_medications_an_agent_does_not_and_break_glass_is_traced(
    qtbot: QtBot, make_kiosk: KioskFactory, server: Server, aged: AgedFixtures
) -> None:
    from tests.support.central import fixture_professional, login
    from tests.support.dmp import add_doc, create
    from tests.support.documents import file_in, report_pdf

    token = login(server, fixture_professional("899700218896"))
    doctor = "810100457828"
    create(server, token, JEANNE, authorised_professionals=[doctor])  # not the pharmacist
    report = add_doc(
        server,
        login(server, fixture_professional(doctor)),
        JEANNE,
        "reports",
        "Compte rendu de consultation",
        file=file_in(report_pdf("Compte rendu", ["Tension 13/8."]), "application/pdf"),
    )
    add_doc(
        server,
        login(server, fixture_professional(doctor)),
        JEANNE,
        "medications",
        "Metformine 500 mg",
    )
    kiosk = make_kiosk()
    with card_in_slot(aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        _login(qtbot, kiosk)
        with card_in_slot(aged.cards / "vitale-adulte-seul.json", slot=0):
            _open_first_holder(qtbot, kiosk)
            # Found in the register from the card, no identity document checked: not "qualifiée".
            identity = kiosk.window.screens[Step.PATIENT].identity  # type: ignore[attr-defined]
            assert identity.text().startswith("Identité récupérée du répertoire national (INS)")
            # The pharmacist looks at her identity card: then, and only then, "qualifiée".
            tap(qtbot, kiosk, "check-identity")
            wait_step(qtbot, kiosk, Step.IDENTITY_CHECK)
            tap(qtbot, kiosk, "document-carte_identite")
            tap(qtbot, kiosk, "confirm")
            wait_step(qtbot, kiosk, Step.PATIENT)
            assert identity.text() == (
                "INS qualifiée — pièce contrôlée : carte nationale d'identité."
            )
            tap(qtbot, kiosk, "break-glass")
            wait_step(qtbot, kiosk, Step.BREAK_GLASS)
            screen = kiosk.window.screens[Step.BREAK_GLASS]
            screen.details.setText("Malaise au comptoir, patiente confuse")  # type: ignore[attr-defined]
            tap(qtbot, kiosk, "reason-URGENCE_VITALE")  # nothing chosen in advance
            tap(qtbot, kiosk, "confirm")
            wait_step(qtbot, kiosk, Step.SUMMARY)
            summary = kiosk.window.screens[Step.SUMMARY]
            assert "Metformine 500 mg" in summary.plain_text()  # type: ignore[attr-defined]
            # The PDF, fetched in break-glass over HTTP on the workflow's thread, rendered.
            button = summary.findChild(QPushButton, f"open-{report['id']}")
            assert button is not None and button.isVisible()
            # Offscreen, the kinetic scroller replays a press at a window position that has
            # no widget: the button is clicked as the replayed press would.
            button.click()
            wait_step(qtbot, kiosk, Step.VIEWER)
            viewer = kiosk.window.screens[Step.VIEWER]
            (page,) = viewer.pane.page_labels  # type: ignore[attr-defined]
            assert page.pixmap().width() == 860
        wait_step(qtbot, kiosk, Step.READY)
        assert summary.plain_text() == ""  # type: ignore[attr-defined]
        assert not viewer.pane.page_labels  # type: ignore[attr-defined]
        for screen in kiosk.window.screens.values():  # no patient left in a hidden screen
            texts = [w.text() for w in screen.findChildren(QLabel)]
            assert not any("BERNARD" in t or "Jeanne" in t for t in texts), texts
    with server.state.sessions() as db:
        entries = db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "open", AuditEntry.mode == "bris_de_glace"
            )
        ).all()
    assert [e.detail for e in entries] == ["URGENCE_VITALE: Malaise au comptoir, patiente confuse"]
    with server.state.sessions() as db:
        read = db.scalars(select(AuditEntry).where(AuditEntry.action == "document_read")).one()
    assert (read.mode, read.outcome) == ("bris_de_glace", "allowed")
    with card_in_slot(aged.cards / "cpe-agent-enim-paimpol.json", slot=1):
        _login(qtbot, kiosk)
        with card_in_slot(aged.cards / "vitale-adulte-seul.json", slot=0):
            _open_first_holder(qtbot, kiosk)
            screen = kiosk.window.stack.currentWidget()
            for name in ("open", "break-glass", "regulator"):
                button = screen.findChild(object, name)  # type: ignore[call-overload]
                assert button is not None and not button.isVisible()


def test_pulling_the_patient_card_at_each_step_leaves_nothing_half_done(
    qtbot: QtBot, make_kiosk: KioskFactory, aged: AgedFixtures
) -> None:
    kiosk = make_kiosk()
    path = [
        ("holder-0", Step.PATIENT),
        ("create", Step.INFORMATION),
        ("accept", Step.CONSENT),
        ("consent", Step.CONSENT),
    ]
    with card_in_slot(aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        _login(qtbot, kiosk)
        wait_step(qtbot, kiosk, Step.READY)
        for stop_after in range(len(path) + 1):
            with card_in_slot(aged.cards / "vitale-adulte-seul.json", slot=0):
                wait_step(qtbot, kiosk, Step.HOLDERS)
                for name, step in path[:stop_after]:
                    tap(qtbot, kiosk, name)
                    wait_step(qtbot, kiosk, step)
            wait_step(qtbot, kiosk, Step.READY)
            view = kiosk.window.view
            assert view is not None and view.patient is None and view.holders == ()
            assert view.notice is not None
            assert view.notice.code is NoticeCode.PATIENT_CARD_REMOVED
            assert kiosk.window.notice.text() == describe_notice(view.notice)
    types = [r.action_type for r in kiosk.queue.pending(limit=100)] + [
        r["type"] for r in kiosk.queue.status().rejected
    ]
    assert "dmp_created" not in types and "consent_recorded" not in types


def test_idle_timeout_forgets_the_patient(
    qtbot: QtBot, make_kiosk: KioskFactory, aged: AgedFixtures
) -> None:
    kiosk = make_kiosk(idle_s=2)
    with card_in_slot(aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        _login(qtbot, kiosk)
        with card_in_slot(aged.cards / "vitale-adulte-seul.json", slot=0):
            _open_first_holder(qtbot, kiosk)
            wait_step(qtbot, kiosk, Step.READY, timeout_ms=6_000)
            view = kiosk.window.view
            assert view is not None and view.patient is None
            assert view.notice is not None and view.notice.code is NoticeCode.IDLE_TIMEOUT


def test_offline_creation_then_back_online(
    qtbot: QtBot, make_kiosk: KioskFactory, server: Server, aged: AgedFixtures
) -> None:
    kiosk = make_kiosk(central_url="http://127.0.0.1:9")  # the network is down
    with card_in_slot(aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        _login(qtbot, kiosk)
        wait_step(qtbot, kiosk, Step.READY)
        with card_in_slot(aged.cards / "vitale-adulte-seul.json", slot=0):
            wait_step(qtbot, kiosk, Step.HOLDERS)
            _create(qtbot, kiosk)
            view = kiosk.window.view
            assert view is not None and view.sheet is not None and not view.sheet.online
            qtbot.waitUntil(
                lambda: kiosk.window.sync.objectName() == "sync-offline", timeout=10_000
            )
    # The network comes back: the same queue drains to the service.
    from kiosk.sync.client import SyncClient
    from kiosk.sync.transport import CentralClient, RequestSigner

    queue = kiosk.queue
    signer = RequestSigner(queue.kiosk_id, queue.signing_key)
    SyncClient(queue, CentralClient(server.url, signer=signer), queue.kiosk_id).sync_once()
    assert queue.status().rejected == []
    with server.state.sessions() as db:
        assert db.get(Dmp, JEANNE) is not None


def test_wrong_pin_blocked_card_and_cards_the_kiosk_refuses(
    qtbot: QtBot, make_kiosk: KioskFactory, aged: AgedFixtures
) -> None:
    kiosk = make_kiosk()
    notice = kiosk.window.notice
    with card_in_slot(aged.cards / "cps-bloquee.json", slot=1):
        qtbot.waitUntil(lambda: _notice(kiosk) is NoticeCode.PIN_BLOCKED and notice.isVisible())
        assert kiosk.window.view is not None and kiosk.window.view.step is Step.WELCOME
    with card_in_slot(aged.cards / "cps-medecin.json", slot=1):
        _login(qtbot, kiosk, pin="12")  # too short: the pad says so, no try is spent
        qtbot.waitUntil(lambda: _notice(kiosk) is NoticeCode.PIN_FORMAT)
        assert kiosk.window.view is not None and kiosk.window.view.pin_tries_left == 3
        _login(qtbot, kiosk, pin="9999")
        qtbot.waitUntil(lambda: _notice(kiosk) is NoticeCode.PIN_WRONG)
        view = kiosk.window.view
        assert view is not None and view.notice is not None and view.notice.tries_left == 2
        assert notice.text() == describe_notice(view.notice)
        assert view.pin_tries_left == 2
        _login(qtbot, kiosk)
        wait_step(qtbot, kiosk, Step.READY)
        for card, reason in (("vitale1.json", "vitale1"), ("carte-bancaire.json", "unknown")):
            with card_in_slot(aged.cards / card, slot=0):
                qtbot.waitUntil(lambda reason=reason: _refused(kiosk) == reason)
                assert kiosk.window.view is not None and kiosk.window.view.step is Step.READY


def test_a_minor_with_the_parent_as_representative(
    qtbot: QtBot, make_kiosk: KioskFactory, server: Server, aged: AgedFixtures
) -> None:
    kiosk = make_kiosk()
    with card_in_slot(aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        _login(qtbot, kiosk)
        with card_in_slot(aged.cards / "vitale-parent-jumeaux.json", slot=0):
            wait_step(qtbot, kiosk, Step.HOLDERS)
            view = kiosk.window.view
            assert view is not None
            labels = [(h.nom, h.prenom) for h in view.holders]
            assert len(set(labels)) == len(labels)  # twins told apart by first name
            minor = next(i for i, h in enumerate(view.holders) if h.minor)
            adult = next(i for i, h in enumerate(view.holders) if not h.minor)
            tap(qtbot, kiosk, f"holder-{minor}")
            wait_step(qtbot, kiosk, Step.PATIENT)
            tap(qtbot, kiosk, "create")
            wait_step(qtbot, kiosk, Step.REPRESENTATIVE)  # who consents, first
            tap(qtbot, kiosk, f"representative-{adult}")
            wait_step(qtbot, kiosk, Step.INFORMATION)
            tap(qtbot, kiosk, "accept")
            wait_step(qtbot, kiosk, Step.CONSENT)
            consent = kiosk.window.screens[Step.CONSENT]
            assert consent.representative.text().startswith("Représentant légal : ")  # type: ignore[attr-defined]
            tap(qtbot, kiosk, "consent")
            tap(qtbot, kiosk, "create")
            wait_step(qtbot, kiosk, Step.CREATED)
            qtbot.waitUntil(lambda: kiosk.window.sync.objectName() == "sync-ok", timeout=15_000)
    assert kiosk.queue.status().rejected == []
    with server.state.sessions() as db:
        dmps = db.scalars(select(Dmp)).all()
        assert [d.consent_by for d in dmps] == ["representative"]


def test_a_creation_the_service_rejects_is_listed_with_its_reason(
    qtbot: QtBot, make_kiosk: KioskFactory, server: Server, aged: AgedFixtures
) -> None:
    from tests.support.central import fixture_professional, login
    from tests.support.dmp import create

    create(server, login(server, fixture_professional("810100457828")), JEANNE)
    kiosk = make_kiosk(central_url="http://127.0.0.1:9")  # offline: the status is unknown
    with card_in_slot(aged.cards / "cps-pharmacienne-lorient.json", slot=1):
        _login(qtbot, kiosk)
        with card_in_slot(aged.cards / "vitale-adulte-seul.json", slot=0):
            wait_step(qtbot, kiosk, Step.HOLDERS)
            _create(qtbot, kiosk)
    from kiosk.sync.client import SyncClient
    from kiosk.sync.transport import CentralClient, RequestSigner

    queue = kiosk.queue
    signer = RequestSigner(queue.kiosk_id, queue.signing_key)
    SyncClient(queue, CentralClient(server.url, signer=signer), queue.kiosk_id).sync_once()
    qtbot.waitUntil(
        lambda: (status := kiosk.window.last_status) is not None and len(status.rejected) == 1,
        timeout=5_000,
    )
    kiosk.window.show_admin()
    rows = kiosk.window.admin.rows()
    assert len(rows) == 1 and "Création du DMP" in rows[0] and "J. B." in rows[0], rows
    assert describe_refusal("dmp_exists") in rows[0], rows
    # Red with the count, never "tout est transmis" (this kiosk is offline as well).
    qtbot.waitUntil(lambda: "1 action refusée" in kiosk.window.sync.text(), timeout=5_000)
    assert kiosk.window.sync.objectName() in ("sync-refused", "sync-offline")


def test_the_access_sheet_holds_the_access_and_no_health_data() -> None:
    from kiosk.core import AccessSheet
    from kiosk.ui.sheet import sheet_html

    sheet = AccessSheet("BERNARD", "JEANNE", "ABCDEFGH23", "12345678", True, False, True, False)
    page = sheet_html(sheet, portal_url="https://portail.test")
    assert "ABCD EFGH 23" in page and "1234 5678" in page and "https://portail.test" in page
    assert "bris de glace" in page and "activé dès son retour en ligne" in page
    assert "279035121518989" not in page  # no NIR
    new_code = AccessSheet(
        "BERNARD", "JEANNE", "ABCDEFGH23", "87654321", False, False, False, True, reissued=True
    )
    reissued = sheet_html(new_code, portal_url="https://portail.test")
    assert "l'ancien ne fonctionne plus" in reissued and "8765 4321" in reissued
    # Printed before the queued new code reaches the service: it never says "active now".
    assert "dès que le service central l'a enregistré" in reissued
    assert "dès maintenant" not in reissued
    assert "Vos choix en cas d'urgence" not in reissued  # not known to a new code's sheet


def test_a_revoked_kiosk_says_so_on_its_sync_line_and_in_its_log(
    qtbot: QtBot,
    make_kiosk: KioskFactory,
    server: Server,
    aged: AgedFixtures,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The sync thread survives a refusal: the status line gives the reason, the log too,
    and the thread keeps going (the actions wait, nothing is lost). A revoked kiosk serves
    no operator either: the next login is refused with the reason."""
    from central.sync.service import revoke

    kiosk = make_kiosk()
    card = aged.cards / "cps-pharmacienne-lorient.json"
    with caplog.at_level(logging.ERROR, logger="kiosk.sync.client"):
        with card_in_slot(card, slot=1):
            _login(qtbot, kiosk)
            wait_step(qtbot, kiosk, Step.READY)
            with server.state.sessions() as db, db.begin():
                revoke(db, kiosk.sync.kiosk_id, server.state.now())
        # The card pulled out: the logout is queued, and the service refuses the kiosk.
        with card_in_slot(card, slot=1):
            _login(qtbot, kiosk)  # and serves it no operator
            qtbot.waitUntil(
                lambda: (
                    kiosk.window.view is not None
                    and kiosk.window.view.notice is not None
                    and kiosk.window.view.notice.reason == "kiosk_revoked"
                ),
                timeout=10_000,
            )
            qtbot.waitUntil(lambda: kiosk.sync.state.refusal == "kiosk_revoked", timeout=10_000)
            qtbot.waitUntil(
                lambda: (
                    kiosk.window.sync.objectName() == "sync-offline"
                    and describe_refusal("kiosk_revoked") in kiosk.window.sync.text()
                ),
                timeout=5_000,
            )
    assert kiosk.sync_thread.is_alive()
    assert kiosk.queue.status().pending >= 1  # kept for when an administrator clears it
    assert any("kiosk_revoked" in r.getMessage() for r in caplog.records), caplog.text
