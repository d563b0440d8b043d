"""Who may change a document, over HTTP on both databases: a professional replaces only its
own, in the same category; the patient replaces and deletes only their own notes and masks
any document; masked documents stay with their author and the treating doctor; "other"
documents reach professionals; LOINC codes are checked."""

from __future__ import annotations

from typing import Any

import pytest

from central.audit.models import AuditEntry
from central.dmp.models import Dmp, Document
from tests.support.central import Professional, Server, login, sqlite_only
from tests.support.dmp import (
    JEANNE,
    PHARMACIST,
    PHYSICIAN,
    add_doc,
    create,
    open_record,
    patient_token,
    titles,
)

ALLERGY = "Allergie : pénicilline"


@pytest.fixture
def jeanne(server: Server, tokens: dict[str, str]) -> dict[str, Any]:
    """Jeanne's DMP, the pharmacist and the physician authorised, an allergy on file."""
    created = create(server, tokens["pharmacist"], authorised_professionals=[PHARMACIST, PHYSICIAN])
    created["allergy"] = add_doc(
        server, tokens["physician"], JEANNE, "pathologies_allergies", ALLERGY
    )
    return created


def _post(server: Server, token: str, path: str, body: dict[str, Any]) -> tuple[int, str]:
    with server.client(token) as client:
        response = client.post(path, json=body)
    return response.status_code, str(response.json().get("error", ""))


def _doc(category: str, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "category": category,
        "title": title,
        "content": title,
        "document_date": "2026-11-30",
        **extra,
    }


def test_only_the_author_replaces_and_in_the_same_category(
    server: Server, tokens: dict[str, str], jeanne: dict[str, Any]
) -> None:
    allergy = jeanne["allergy"]["id"]
    path = f"/v1/dmp/{JEANNE}/documents"
    # The report's scenario: a pharmacist replaced the physician's allergy with a free note.
    by_other = _post(server, tokens["pharmacist"], path, _doc("other", "rien", replaces=allergy))
    assert by_other == (403, "not_your_document")
    same_cat = _post(
        server, tokens["pharmacist"], path, _doc("pathologies_allergies", "x", replaces=allergy)
    )
    assert same_cat == (403, "not_your_document")
    as_note = _post(server, tokens["physician"], path, _doc("other", "note", replaces=allergy))
    assert as_note == (403, "category_changed")
    assert ALLERGY in titles(open_record(server, tokens["pharmacist"], JEANNE)[1])
    newer = _doc("pathologies_allergies", "Allergie : pénicilline, amoxicilline", replaces=allergy)
    assert _post(server, tokens["physician"], path, newer) == (201, "")
    seen = titles(open_record(server, tokens["pharmacist"], JEANNE)[1])
    assert "Allergie : pénicilline, amoxicilline" in seen and ALLERGY not in seen
    with server.state.sessions() as db:
        refused = db.query(AuditEntry).filter(AuditEntry.outcome == "refused").count()
    assert refused == 3  # each refusal traced


def test_the_patient_replaces_and_deletes_own_notes_only_and_masks_any(
    server: Server, tokens: dict[str, str], jeanne: dict[str, Any]
) -> None:
    patient = patient_token(server, jeanne)
    medication = add_doc(server, tokens["physician"], JEANNE, "medications", "Metformine")
    note = _doc("pathologies_allergies", "J'ai eu de l'urticaire", replaces=medication["id"])
    assert _post(server, patient, "/v1/patient/documents", note) == (403, "not_your_document")
    own = _doc("other", "Je ne supporte pas le gluten")
    with server.client(patient) as client:
        mine = client.post("/v1/patient/documents", json=own).json()
        newer = client.post(
            "/v1/patient/documents", json=_doc("other", "Gluten et lactose", replaces=mine["id"])
        )
        assert newer.status_code == 201, newer.text
        not_mine = client.delete(f"/v1/patient/documents/{medication['id']}")
        assert (not_mine.status_code, not_mine.json()["error"]) == (403, "not_your_document")
        old_version = client.delete(f"/v1/patient/documents/{mine['id']}")
        assert (old_version.status_code, old_version.json()["error"]) == (409, "already_replaced")
        gone = client.delete(f"/v1/patient/documents/{newer.json()['id']}")
        assert gone.status_code == 204
        record = client.get("/v1/patient/record").json()
        masked = client.put(
            f"/v1/patient/documents/{medication['id']}/masked", json={"masked": True}
        )
        assert masked.status_code == 204
    assert record["documents"]["other"] == []  # the note and its first version
    with server.state.sessions() as db:
        assert db.query(Document).filter(Document.title.like("%gluten%")).count() == 0


def test_a_masked_document_stays_with_its_author_and_the_treating_doctor(
    server: Server, tokens: dict[str, str], jeanne: dict[str, Any], physician: Professional
) -> None:
    patient = patient_token(server, jeanne)
    report = add_doc(server, tokens["physician"], JEANNE, "reports", "Compte rendu : psychiatrie")
    with server.client(patient) as client:
        response = client.put(f"/v1/patient/documents/{report['id']}/masked", json={"masked": True})
    assert response.status_code == 204
    status, pharmacist_sees = open_record(server, tokens["pharmacist"], JEANNE)
    assert status == 200 and "Compte rendu : psychiatrie" not in titles(pharmacist_sees)
    assert "hidden_documents" not in pharmacist_sees  # neither them nor their number
    author_sees = open_record(server, tokens["physician"], JEANNE)[1]
    assert "Compte rendu : psychiatrie" in titles(author_sees)
    # A masked document of someone else's, seen by the treating doctor only.
    other = add_doc(server, tokens["pharmacist"], JEANNE, "medications", "Sertraline")
    with server.client(patient) as client:
        client.put(f"/v1/patient/documents/{other['id']}/masked", json={"masked": True})
        assert (
            client.put(
                f"/v1/patient/professionals/{PHYSICIAN}", json={"action": "revoke"}
            ).status_code
            == 204
        )
    assert "Sertraline" not in titles(open_record(server, tokens["physician"], JEANNE)[1])
    with server.state.unit_of_work() as db:
        db.get_one(Dmp, JEANNE).treating_doctor = PHYSICIAN
    assert "Sertraline" in titles(open_record(server, login(server, physician), JEANNE)[1])
    with server.client(patient) as client:
        client.put(f"/v1/patient/documents/{report['id']}/masked", json={"masked": False})
    assert "Compte rendu : psychiatrie" in titles(
        open_record(server, tokens["pharmacist"], JEANNE)[1]
    )


def test_other_documents_reach_professionals_and_are_counted(
    server: Server, tokens: dict[str, str], jeanne: dict[str, Any]
) -> None:
    add_doc(server, tokens["physician"], JEANNE, "other", "Certificat de sport")
    status, summary = open_record(server, tokens["pharmacist"], JEANNE)
    assert status == 200
    assert [d["title"] for d in summary["other"]] == ["Certificat de sport"]


@pytest.mark.parametrize(
    ("category", "loinc", "error"),
    [
        ("medications", "10160-1", "loinc_invalid"),  # wrong check digit
        ("medications", "48765-2", "loinc_not_for_category"),  # an allergy list
        ("other", "10160-0", "loinc_not_for_category"),  # a medication as a free note
        ("emergency_contacts", "42348-3", "loinc_not_for_category"),
    ],
)
def test_loinc_codes_are_checked(
    server: Server,
    tokens: dict[str, str],
    jeanne: dict[str, Any],
    category: str,
    loinc: str,
    error: str,
) -> None:
    body = _doc(category, "document", loinc=loinc)
    assert _post(server, tokens["physician"], f"/v1/dmp/{JEANNE}/documents", body) == (400, error)


def test_agents_and_strangers_change_no_document(
    server: Server, tokens: dict[str, str], jeanne: dict[str, Any]
) -> None:
    allergy = jeanne["allergy"]["id"]
    path = f"/v1/dmp/{JEANNE}/documents"
    body = _doc("pathologies_allergies", "x", replaces=allergy)
    assert _post(server, tokens["agent"], path, body) == (403, "no_medical_content_for_agents")
    assert _post(server, tokens["regulator"], path, body) == (403, "not_authorised")
    other = create(server, tokens["pharmacist"], "284027511234577")  # Claire's own patient
    with server.client(patient_token(server, other)) as client:
        theirs = client.put(f"/v1/patient/documents/{allergy}/masked", json={"masked": True})
        deleted = client.delete(f"/v1/patient/documents/{allergy}")
    assert (theirs.status_code, theirs.json()["error"]) == (404, "no_document")
    assert (deleted.status_code, deleted.json()["error"]) == (404, "no_document")


def test_a_new_version_keeps_the_patients_mask(
    server: Server, tokens: dict[str, str], jeanne: dict[str, Any]
) -> None:
    report = add_doc(server, tokens["physician"], JEANNE, "reports", "Compte rendu : v1")
    with server.client(patient_token(server, jeanne)) as client:
        masked = client.put(f"/v1/patient/documents/{report['id']}/masked", json={"masked": True})
        assert masked.status_code == 204
        newer = _doc("reports", "Compte rendu : v2", replaces=report["id"])
        assert _post(server, tokens["physician"], f"/v1/dmp/{JEANNE}/documents", newer)[0] == 201
        old = client.put(f"/v1/patient/documents/{report['id']}/masked", json={"masked": False})
    assert (old.status_code, old.json()["error"]) == (409, "already_replaced")
    seen = titles(open_record(server, tokens["pharmacist"], JEANNE)[1])
    assert "Compte rendu : v2" not in seen and "Compte rendu : v1" not in seen
    assert "Compte rendu : v2" in titles(open_record(server, tokens["physician"], JEANNE)[1])


@sqlite_only
def test_masking_a_document_masks_every_version_of_it(
    server: Server, tokens: dict[str, str], jeanne: dict[str, Any]
) -> None:
    """An earlier version would tell what the masked one says: the patient's mask covers
    the whole chain, and so does a replacement masked at deposit."""
    physician, pharmacist = tokens["physician"], tokens["pharmacist"]
    first = add_doc(server, physician, JEANNE, "reports", "CR psychiatrie")
    second = add_doc(
        server, physician, JEANNE, "reports", "CR psychiatrie, v2", replaces=first["id"]
    )
    patient = patient_token(server, jeanne)
    with server.client(patient) as client:
        masked = client.put(f"/v1/patient/documents/{second['id']}/masked", json={"masked": True})
    assert masked.status_code == 204

    def read(token: str, doc: dict[str, Any]) -> int:
        with server.client(token) as client:
            path = f"/v1/dmp/{JEANNE}/documents/{doc['id']}/content"
            return client.get(path).status_code

    assert [read(pharmacist, d) for d in (first, second)] == [404, 404]
    assert [read(physician, d) for d in (first, second)] == [200, 200]  # the author still
    third = add_doc(
        server, physician, JEANNE, "exam_results", "Bilan", masked_to_professionals=False
    )
    fourth = add_doc(
        server,
        physician,
        JEANNE,
        "exam_results",
        "Bilan, v2",
        replaces=third["id"],
        masked_to_professionals=True,
    )
    assert [read(pharmacist, d) for d in (third, fourth)] == [404, 404]
    with server.client(patient) as client:  # shown again: every version again
        shown = client.put(f"/v1/patient/documents/{second['id']}/masked", json={"masked": False})
    assert shown.status_code == 204
    assert [read(pharmacist, d) for d in (first, second)] == [200, 200]
