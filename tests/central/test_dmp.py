"""DMP over HTTP: status, creation with consent, professionals, documents, opening."""

from __future__ import annotations

import concurrent.futures

from sqlalchemy import func, select

from central.audit.models import AuditEntry
from central.dmp.models import Dmp, Document
from tests.support.aged import aged
from tests.support.central import Server, login, make_professional
from tests.support.dmp import (
    CLAIRE,
    JEANNE,
    LEO,
    PHARMACIST,
    PHYSICIAN,
    add_doc,
    create,
    open_record,
    operator_sets,
    patient_sets,
    patient_token,
    present,
    titles,
)


def _status(server: Server, token: str, ins: str) -> dict[str, str]:
    with server.client(token) as client:
        response = client.get(f"/v1/dmp/{ins}/status")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_status_before_and_after_creation(server: Server, tokens: dict[str, str]) -> None:
    assert _status(server, tokens["agent"], JEANNE) == {
        "dmp": "NON_EXISTE",
        "authorisation": "NON_AUTORISE",
        "role": "agent_administratif",
    }
    created = create(
        server,
        tokens["agent"],
        authorised_professionals=[PHARMACIST],
        contact={"channel": "sms", "address": "06 12 34 56 78"},
    )
    assert created["dmp"] == "VALIDE" and len(created["activation_code"]) == 8
    assert len(created["access_identifier"]) == 10
    assert _status(server, tokens["pharmacist"], JEANNE)["authorisation"] == "AUTORISE"
    assert _status(server, tokens["physician"], JEANNE)["authorisation"] == "NON_AUTORISE"
    # An agent never counts as authorised, even if listed: no medical content for agents.
    assert _status(server, tokens["agent"], JEANNE)["authorisation"] == "NON_AUTORISE"
    with server.client(tokens["agent"]) as client:
        again = client.post(
            "/v1/dmp", json={"ins": JEANNE, "consent": True, "information_version": "2026-01"}
        )
    assert (again.status_code, again.json()["error"]) == (409, "dmp_exists")
    with server.state.sessions() as db:
        dmp = db.get(Dmp, JEANNE)
        assert dmp is not None and dmp.notify_address == "+33612345678"


def test_minor_needs_an_adult_representative(server: Server, tokens: dict[str, str]) -> None:
    present(server, tokens["pharmacist"], LEO)
    with server.client(tokens["pharmacist"]) as client:
        alone = client.post(
            "/v1/dmp", json={"ins": LEO, "consent": True, "information_version": "2026-01"}
        )
        assert (alone.status_code, alone.json()["error"]) == (400, "representative_required")
        child_rep = client.post(
            "/v1/dmp",
            json={
                "ins": LEO,
                "consent": True,
                "information_version": "2026-01",
                "representative": {
                    "nom": "MARTIN",
                    "prenom": "JADE",
                    "birth_date": aged("2019-11-02"),
                    "nir": CLAIRE,
                },
            },
        )
        assert child_rep.json()["error"] == "representative_not_adult"
    create(
        server,
        tokens["pharmacist"],
        LEO,
        representative={
            "nom": "MARTIN",
            "prenom": "CLAIRE",
            "birth_date": aged("1984-02-11"),
            "nir": CLAIRE,
        },
    )
    with server.state.sessions() as db:
        dmp = db.get(Dmp, LEO)
        assert dmp is not None and dmp.consent_by == "representative"
        assert dmp.representative_prenom == "CLAIRE"


def test_consent_is_required_and_input_is_strict(server: Server, tokens: dict[str, str]) -> None:
    with server.client(tokens["agent"]) as client:
        for body in (
            {"ins": JEANNE, "consent": False, "information_version": "v1"},
            {"ins": JEANNE, "consent": "true", "information_version": "v1"},
            {"ins": JEANNE, "consent": True, "information_version": "v1", "extra": 1},
            {
                "ins": JEANNE,
                "consent": True,
                "information_version": "v1",
                "contact": {"channel": "sms", "address": "01 23 45 67 89"},
            },
            {
                "ins": JEANNE,
                "consent": True,
                "information_version": "v1",
                "contact": {"channel": "email", "address": "pas-une-adresse"},
            },
        ):
            response = client.post("/v1/dmp", json=body)
            assert response.status_code == 422, body
            assert response.json()["error"] == "invalid_request"


def test_sixty_four_concurrent_creations_give_one_dmp(
    server: Server, tokens: dict[str, str]
) -> None:
    body = {"ins": JEANNE, "consent": True, "information_version": "2026-01"}
    present(server, tokens["agent"], JEANNE)

    def attempt(_: int) -> int:
        with server.client(tokens["agent"]) as client:
            return client.post("/v1/dmp", json=body).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        codes = list(pool.map(attempt, range(64)))
    assert sorted(codes) == [201] + [409] * 63
    with server.state.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Dmp)) == 1
        creations = db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "create")
        )
        assert creations == 1


def test_summary_for_an_authorised_pharmacist(server: Server, tokens: dict[str, str]) -> None:
    create(server, tokens["agent"], authorised_professionals=[PHARMACIST, PHYSICIAN])
    doc = tokens["physician"]
    add_doc(server, doc, JEANNE, "medications", "Amoxicilline 1 g")
    add_doc(server, doc, JEANNE, "pathologies_allergies", "Allergie pénicilline")
    add_doc(server, doc, JEANNE, "care_history", "Consultation récente", days_ago=30)
    add_doc(server, doc, JEANNE, "care_history", "Consultation ancienne", days_ago=800)
    add_doc(server, doc, JEANNE, "advance_directives", "Directives")
    add_doc(server, doc, JEANNE, "emergency_contacts", "Fille : 06...")
    add_doc(server, doc, JEANNE, "exam_results", "Bilan masqué", masked_to_professionals=True)
    for i in range(12):
        add_doc(server, doc, JEANNE, "reports", f"CR {i:02d}", days_ago=i + 1)
    code, summary = open_record(server, tokens["pharmacist"], JEANNE)
    assert code == 200, summary
    assert [d["title"] for d in summary["medications"]] == ["Amoxicilline 1 g"]
    assert summary["medications"][0]["loinc"] == "10160-0"
    assert [d["title"] for d in summary["pathologies_allergies"]] == ["Allergie pénicilline"]
    assert [d["title"] for d in summary["care_history_24_months"]] == ["Consultation récente"]
    assert [d["title"] for d in summary["latest_reports"]] == [f"CR {i:02d}" for i in range(10)]
    assert summary["latest_exam_results"] == [] and "hidden_documents" not in summary
    assert "Directives" in titles(summary) and "Fille : 06..." in titles(summary)


def test_replacement_keeps_history(server: Server, tokens: dict[str, str]) -> None:
    create(server, tokens["agent"], treating_doctor=PHYSICIAN)
    first = add_doc(server, tokens["physician"], JEANNE, "medications", "Traitement v1")
    second = add_doc(
        server, tokens["physician"], JEANNE, "medications", "Traitement v2", replaces=first["id"]
    )
    with server.client(tokens["physician"]) as client:
        stale = client.post(
            f"/v1/dmp/{JEANNE}/documents",
            json={
                "category": "medications",
                "title": "v2 bis",
                "content": "x",
                "document_date": "2026-01-01",
                "replaces": first["id"],
            },
        )
    assert (stale.status_code, stale.json()["error"]) == (409, "already_replaced")
    _, summary = open_record(server, tokens["physician"], JEANNE)
    assert [d["title"] for d in summary["medications"]] == ["Traitement v2"]
    assert summary["medications"][0]["replaces"] == first["id"]
    with server.state.sessions() as db:
        old = db.get(Document, (first["id"], JEANNE))  # the key holds the INS (partitions)
        assert old is not None and old.replaced_by == second["id"]


def test_agents_never_see_content_and_forbidden_parties_are_refused_and_logged(
    server: Server, tokens: dict[str, str]
) -> None:
    created = create(server, tokens["agent"], authorised_professionals=[PHARMACIST])
    code, body = open_record(server, tokens["agent"], JEANNE)
    assert (code, body["error"]) == (403, "no_medical_content_for_agents")
    insurer = make_professional(id_nat="810100777779", structure_id="75200000000017")
    token = login(server, insurer)
    # Even authorised by the patient, an insurer's doctor is refused everything.
    authorised = patient_sets(server, patient_token(server, created), "810100777779", "authorise")
    assert authorised.status_code == 204
    for call in ("status", "open", "create"):
        with server.client(token) as client:
            if call == "status":
                response = client.get(f"/v1/dmp/{JEANNE}/status")
            elif call == "open":
                response = client.post(f"/v1/dmp/{JEANNE}/open", json={"mode": "normal"})
            else:
                response = client.post(
                    "/v1/dmp", json={"ins": JEANNE, "consent": True, "information_version": "x"}
                )
        assert (response.status_code, response.json()["error"]) == (403, "forbidden_party"), call
    with server.state.sessions() as db:
        refused = db.scalars(
            select(AuditEntry).where(
                AuditEntry.actor_id == "810100777779", AuditEntry.outcome == "refused"
            )
        ).all()
        assert {e.action for e in refused} == {"status", "open", "create"}
        assert {e.role for e in refused} == {"assureur"}


def test_emergency_modes(server: Server, tokens: dict[str, str]) -> None:
    create(server, tokens["agent"])
    code, body = open_record(server, tokens["physician"], JEANNE)
    assert (code, body["error"]) == (403, "not_authorised")
    code, body = open_record(server, tokens["physician"], JEANNE, "bris_de_glace")
    assert (code, body["error"]) == (403, "reason_required")
    code, body = open_record(
        server,
        tokens["physician"],
        JEANNE,
        "bris_de_glace",
        reason_code="URGENCE_VITALE",
        reason_text="patiente inconsciente",
    )
    assert code == 200 and body["mode"] == "bris_de_glace"
    code, body = open_record(server, tokens["physician"], JEANNE, "regulateur")
    assert (code, body["error"]) == (403, "not_a_regulator")
    code, body = open_record(server, tokens["regulator"], JEANNE, "regulateur")
    assert code == 200
    with server.state.sessions() as db:
        glass = db.scalars(
            select(AuditEntry).where(
                AuditEntry.mode == "bris_de_glace", AuditEntry.outcome == "allowed"
            )
        ).one()
        assert glass.detail == "URGENCE_VITALE: patiente inconsciente"


def test_blocked_professional_is_refused_in_every_mode(
    server: Server, tokens: dict[str, str]
) -> None:
    created = create(server, tokens["agent"], authorised_professionals=[PHYSICIAN])
    assert open_record(server, tokens["physician"], JEANNE)[0] == 200
    response = patient_sets(server, patient_token(server, created), PHYSICIAN, "block")
    assert response.status_code == 204
    assert _status(server, tokens["physician"], JEANNE)["authorisation"] == "BLOQUE"
    for mode, reason in (
        ("normal", {}),
        ("bris_de_glace", {"reason_code": "URGENCE_VITALE", "reason_text": "arrêt cardiaque"}),
    ):
        code, body = open_record(server, tokens["physician"], JEANNE, mode, **reason)
        assert (code, body["error"]) == (403, "blocked_by_patient")


def test_unknown_ins_and_no_dmp(server: Server, tokens: dict[str, str]) -> None:
    # An INS no card qualified in this session: nobody is at the counter for it.
    with server.client(tokens["agent"]) as client:
        unknown = client.post(
            "/v1/dmp", json={"ins": "180017505609902", "consent": True, "information_version": "x"}
        )
    assert (unknown.status_code, unknown.json()["error"]) == (403, "patient_absent")
    code, body = open_record(server, tokens["pharmacist"], JEANNE)
    assert (code, body["error"]) == (404, "no_dmp")


def test_only_a_health_professionals_identifier_can_be_authorised_or_blocked(
    server: Server, tokens: dict[str, str]
) -> None:
    create(server, tokens["agent"])
    for id_nat, code in (
        ("810100777777", "id_nat_key"),  # an RPPS whose key is wrong
        ("3220098765ENIM42", "id_nat_not_a_health_professional"),  # an agent's card
    ):
        for action in ("authorise", "block"):
            response = operator_sets(server, tokens["pharmacist"], JEANNE, id_nat, action)
            assert (response.status_code, response.json()["error"]) == (400, code)


def test_revoking_ends_the_authorisation(server: Server, tokens: dict[str, str]) -> None:
    created = create(
        server, tokens["agent"], authorised_professionals=[PHARMACIST], treating_doctor=PHYSICIAN
    )
    patient = patient_token(server, created)
    for id_nat, token in ((PHARMACIST, tokens["pharmacist"]), (PHYSICIAN, tokens["physician"])):
        assert _status(server, token, JEANNE)["authorisation"] == "AUTORISE"
        # The agent who created the record revokes nobody, not even with the patient there.
        refused = operator_sets(server, tokens["agent"], JEANNE, id_nat, "revoke")
        assert (refused.status_code, refused.json()["error"]) == (
            403,
            "only_the_patient_revokes_others",
        )
        assert patient_sets(server, patient, id_nat, "revoke").status_code == 204
        assert _status(server, token, JEANNE)["authorisation"] == "NON_AUTORISE"
        code, body = open_record(server, token, JEANNE)
        assert (code, body["error"]) == (403, "not_authorised")
