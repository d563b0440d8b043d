"""The patient's access: activation, one-time codes (from the real SMTP server), their record."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from central.notify.models import OutboxMessage
from tests.support.aged import aged
from tests.support.central import Server, post_all_at_once
from tests.support.dmp import JEANNE, PHARMACIST, PHYSICIAN, add_doc, create, open_record
from tests.support.mail import Mailbox, SmsGateway

EMAIL = "jeanne.bernard@exemple.test"
BORN = aged("1979-03-28")


def _post(server: Server, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    with server.client(token) as client:
        return client.post(path, json=body)


def _login(server: Server, mailbox: Mailbox) -> str:
    assert _post(server, "/v1/patient/code", {"ins": JEANNE, "birth_date": BORN}).status_code == 202
    code = mailbox.code_for(EMAIL)
    response = _post(server, "/v1/patient/login", {"ins": JEANNE, "birth_date": BORN, "code": code})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


@pytest.fixture
def jeanne(server: Server, tokens: dict[str, str]) -> dict[str, Any]:
    return create(
        server,
        tokens["agent"],
        authorised_professionals=[PHARMACIST],
        contact={"channel": "email", "address": EMAIL},
    )


def test_activation_code_is_single_use_and_expires(server: Server, jeanne: dict[str, Any]) -> None:
    body = {"identifier": jeanne["access_identifier"], "code": jeanne["activation_code"]}
    first = _post(server, "/v1/patient/activate", body)
    assert first.status_code == 200
    again = _post(server, "/v1/patient/activate", body)
    assert (again.status_code, again.json()["error"]) == (410, "activation_spent")


def test_activation_expiry_and_tries(server: Server, tokens: dict[str, str]) -> None:
    created = create(server, tokens["agent"])
    wrong = {"identifier": created["access_identifier"], "code": "00000000"}
    for _ in range(5):
        assert _post(server, "/v1/patient/activate", wrong).status_code == 401
    right = dict(wrong, code=created["activation_code"])
    assert _post(server, "/v1/patient/activate", right).status_code == 429
    server.clock.advance(days=31)
    assert _post(server, "/v1/patient/activate", right).json()["error"] == "activation_expired"


def test_parallel_guesses_get_no_more_tries_than_sequential_ones(
    server: Server, jeanne: dict[str, Any], mailbox: Mailbox, tokens: dict[str, str]
) -> None:
    """Twelve wrong guesses at once: each failed try is committed with the code's row lock
    held, so no more than five of them are even compared, and the right code is then
    refused too. The same for the access sheet's activation code."""
    assert _post(server, "/v1/patient/code", {"ins": JEANNE, "birth_date": BORN}).status_code == 202
    code = mailbox.code_for(EMAIL)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    guesses = [{"ins": JEANNE, "birth_date": BORN, "code": wrong}] * 12
    answers = post_all_at_once(server, "/v1/patient/login", guesses)
    errors = sorted(a.json()["error"] for a in answers)
    assert errors.count("bad_code") == 5 and errors.count("too_many_tries") == 7, errors
    right = {"ins": JEANNE, "birth_date": BORN, "code": code}
    assert _post(server, "/v1/patient/login", right).json()["error"] == "too_many_tries"
    created = create(server, tokens["agent"], "284027511234577")
    bad = {"identifier": created["access_identifier"], "code": "00000000"}
    answers = post_all_at_once(server, "/v1/patient/activate", [bad] * 12)
    errors = sorted(a.json()["error"] for a in answers)
    assert errors.count("bad_activation") == 5 and errors.count("too_many_tries") == 7, errors


def test_one_time_code_by_email_then_the_record(
    server: Server, jeanne: dict[str, Any], mailbox: Mailbox, tokens: dict[str, str]
) -> None:
    add_doc(server, tokens["pharmacist"], JEANNE, "medications", "Traitement")
    add_doc(
        server,
        tokens["pharmacist"],
        JEANNE,
        "exam_results",
        "Résultat masqué",
        masked_to_professionals=True,
    )
    token = _login(server, mailbox)
    with server.client(token) as client:
        record = client.get("/v1/patient/record").json()
    assert record["ins"] == JEANNE
    assert [d["title"] for d in record["documents"]["medications"]] == ["Traitement"]
    masked = record["documents"]["exam_results"][0]
    assert masked["title"] == "Résultat masqué" and masked["masked_to_professionals"] is True
    assert record["professionals"] == [
        {"id_nat": PHARMACIST, "status": "AUTORISE", "name": "Anne DUPONT, pharmacien"}
    ]
    # The code was spent by the log-in.
    code = mailbox.code_for(EMAIL)
    reuse = _post(server, "/v1/patient/login", {"ins": JEANNE, "birth_date": BORN, "code": code})
    assert (reuse.status_code, reuse.json()["error"]) == (410, "code_used")
    with server.client(token) as client:
        assert client.post("/v1/patient/logout").status_code == 204
        assert client.get("/v1/patient/record").status_code == 401


def test_code_expires_after_five_minutes(
    server: Server, jeanne: dict[str, Any], mailbox: Mailbox
) -> None:
    _post(server, "/v1/patient/code", {"ins": JEANNE, "birth_date": BORN})
    code = mailbox.code_for(EMAIL)
    server.clock.advance(seconds=301)
    late = _post(server, "/v1/patient/login", {"ins": JEANNE, "birth_date": BORN, "code": code})
    assert (late.status_code, late.json()["error"]) == (410, "code_expired")


def test_brute_force_stops_after_five_tries(
    server: Server, jeanne: dict[str, Any], mailbox: Mailbox
) -> None:
    _post(server, "/v1/patient/code", {"ins": JEANNE, "birth_date": BORN})
    code = mailbox.code_for(EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = _post(
            server, "/v1/patient/login", {"ins": JEANNE, "birth_date": BORN, "code": wrong}
        )
        assert response.status_code == 401
    right = _post(server, "/v1/patient/login", {"ins": JEANNE, "birth_date": BORN, "code": code})
    assert (right.status_code, right.json()["error"]) == (429, "too_many_tries")


def test_resends_are_throttled(server: Server, jeanne: dict[str, Any], mailbox: Mailbox) -> None:
    ask = {"ins": JEANNE, "birth_date": BORN}
    assert _post(server, "/v1/patient/code", ask).status_code == 202
    too_soon = _post(server, "/v1/patient/code", ask)
    assert (too_soon.status_code, too_soon.json()["error"]) == (429, "resend_too_soon")
    for _ in range(4):
        server.clock.advance(seconds=61)
        assert _post(server, "/v1/patient/code", ask).status_code == 202
    server.clock.advance(seconds=61)
    hourly = _post(server, "/v1/patient/code", ask)
    assert (hourly.status_code, hourly.json()["error"]) == (429, "too_many_codes")
    assert len(mailbox.wait_for(5)) == 5


def test_unknown_person_gets_the_same_answer_and_no_mail(
    server: Server, jeanne: dict[str, Any], mailbox: Mailbox
) -> None:
    response = _post(server, "/v1/patient/code", {"ins": JEANNE, "birth_date": aged("1979-03-29")})
    assert response.status_code == 202 and response.json() == {"status": "sent_if_known"}
    unknown = _post(
        server,
        "/v1/patient/login",
        {"ins": JEANNE, "birth_date": aged("1979-03-29"), "code": "123456"},
    )
    assert unknown.status_code == 401
    assert mailbox.transmissions == []


def test_patient_blocks_a_professional_and_the_next_open_is_refused(
    server: Server, jeanne: dict[str, Any], mailbox: Mailbox, tokens: dict[str, str]
) -> None:
    assert open_record(server, tokens["pharmacist"], JEANNE)[0] == 200
    token = _login(server, mailbox)
    with server.client(token) as client:
        assert (
            client.put(
                f"/v1/patient/professionals/{PHARMACIST}", json={"action": "block"}
            ).status_code
            == 204
        )
    code, body = open_record(server, tokens["pharmacist"], JEANNE)
    assert (code, body["error"]) == (403, "blocked_by_patient")


def test_access_log_shows_break_glass_with_its_reason(
    server: Server, jeanne: dict[str, Any], mailbox: Mailbox, tokens: dict[str, str]
) -> None:
    assert (
        open_record(
            server,
            tokens["physician"],
            JEANNE,
            "bris_de_glace",
            reason_code="URGENCE_VITALE",
            reason_text="malaise au comptoir",
        )[0]
        == 200
    )
    token = _login(server, mailbox)
    with server.client(token) as client:
        log = client.get("/v1/patient/access-log").json()
    glass = [e for e in log if e["mode"] == "bris_de_glace"]
    assert len(glass) == 1
    assert glass[0]["reason"] == "URGENCE_VITALE: malaise au comptoir"
    assert glass[0]["role"] == "professionnel_sante" and "MORVAN" in glass[0]["who"]


def test_emergency_choices_are_enforced(
    server: Server, jeanne: dict[str, Any], mailbox: Mailbox, tokens: dict[str, str]
) -> None:
    add_doc(
        server,
        tokens["pharmacist"],
        JEANNE,
        "exam_results",
        "Sérologie",
        masked_to_professionals=True,
    )
    glass = {"reason_code": "URGENCE_VITALE", "reason_text": "patiente inconsciente"}
    code, summary = open_record(server, tokens["physician"], JEANNE, "bris_de_glace", **glass)
    assert code == 200 and [d["title"] for d in summary["latest_exam_results"]] == ["Sérologie"]
    token = _login(server, mailbox)
    with server.client(token) as client:
        assert (
            client.put(
                "/v1/patient/emergency", json={"etreat": True, "btg": True, "masked": False}
            ).status_code
            == 204
        )
    code, summary = open_record(server, tokens["physician"], JEANNE, "bris_de_glace", **glass)
    assert code == 200 and summary["latest_exam_results"] == [] and summary["hidden_documents"] == 1
    with server.client(token) as client:
        client.put("/v1/patient/emergency", json={"etreat": False, "btg": False, "masked": False})
    code, body = open_record(server, tokens["physician"], JEANNE, "bris_de_glace", **glass)
    assert (code, body["error"]) == (403, "patient_refused_btg")
    code, body = open_record(server, tokens["regulator"], JEANNE, "regulateur")
    assert (code, body["error"]) == (403, "patient_refused_etreat")


def test_patient_adds_contacts_notes_and_authorises(
    server: Server, jeanne: dict[str, Any], mailbox: Mailbox, tokens: dict[str, str]
) -> None:
    token = _login(server, mailbox)
    with server.client(token) as client:
        for category, title in (
            ("emergency_contacts", "Ma fille, 06 11 22 33 44"),
            ("pathologies_allergies", "Réaction à l'ibuprofène"),
        ):
            response = client.post(
                "/v1/patient/documents",
                json={
                    "category": category,
                    "title": title,
                    "content": title,
                    "document_date": "2026-11-01",
                },
            )
            assert response.status_code == 201, response.text
        refused = client.post(
            "/v1/patient/documents",
            json={
                "category": "exam_results",
                "title": "x",
                "content": "x",
                "document_date": "2026-11-01",
            },
        )
        assert refused.status_code == 403
        assert (
            client.put(
                f"/v1/patient/professionals/{PHYSICIAN}", json={"action": "authorise"}
            ).status_code
            == 204
        )
        preferences = {"new_document": False, "first_access": True, "emergency": True}
        assert client.put("/v1/patient/notifications", json=preferences).status_code == 204
        record = client.get("/v1/patient/record").json()
    assert record["notifications"]["new_document"] is False
    assert record["notifications"]["contact"] == {"channel": "email", "address": EMAIL}
    code, summary = open_record(server, tokens["physician"], JEANNE)
    assert code == 200
    assert [d["title"] for d in summary["emergency_contacts"]] == ["Ma fille, 06 11 22 33 44"]


def test_a_representative_does_not_see_what_is_hidden_from_representatives(
    server: Server, tokens: dict[str, str], sms: SmsGateway
) -> None:
    """Record, log, notifications: no trace of a document hidden from the representative,
    while professionals read it."""
    from tests.support.dmp import CLAIRE, LEO

    created = create(
        server,
        tokens["pharmacist"],
        LEO,
        authorised_professionals=[PHARMACIST],
        representative={
            "nom": "MARTIN",
            "prenom": "CLAIRE",
            "birth_date": aged("1984-02-11"),
            "nir": CLAIRE,
        },
        contact={"channel": "sms", "address": "06 00 00 00 02"},  # the representative's
    )
    hidden = add_doc(
        server,
        tokens["pharmacist"],
        LEO,
        "care_history",
        "Consultation confidentielle",
        invisible_to_representatives=True,
    )
    add_doc(server, tokens["pharmacist"], LEO, "care_history", "Vaccin DTP")
    token = _post(
        server,
        "/v1/patient/activate",
        {"identifier": created["access_identifier"], "code": created["activation_code"]},
    ).json()["token"]
    with server.client(token) as client:
        record = client.get("/v1/patient/record").json()
        log = client.get("/v1/patient/access-log").json()
        masked = client.put(f"/v1/patient/documents/{hidden['id']}/masked", json={"masked": True})
    assert [d["title"] for d in record["documents"]["care_history"]] == ["Vaccin DTP"]
    assert sum(len(docs) for docs in record["documents"].values()) == 1  # counted nowhere
    assert [e["event"] for e in log].count("added_document") == 1  # the vaccine only
    assert (masked.status_code, masked.json()["error"]) == (404, "no_document")
    # One SMS for the vaccine; none was ever queued for the hidden consultation.
    texts = [m["text"] for m in sms.wait_for(1) if m["to"] == "+33600000002"]
    assert sum("Nouveau document" in t or "nouveau document" in t for t in texts) == 1
    with server.state.sessions() as db:
        keys = db.scalars(select(OutboxMessage.dedup_key)).all()
    assert f"new_document:{hidden['id']}" not in keys
    assert any(k.startswith("new_document:") for k in keys)
    _, summary = open_record(server, tokens["pharmacist"], LEO)
    assert {d["title"] for d in summary["care_history_24_months"]} == {
        "Vaccin DTP",
        "Consultation confidentielle",
    }
