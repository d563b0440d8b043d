"""The FHIR doorway over real HTTP on PostgreSQL, driven by a real FHIR client (fhirpy): ITI-65
deposits, ITI-67 searches, ITI-68 retrievals, under the same rules, masking and log as the
JSON API. Every resource it returns is validated by fhir.resources and by Medplum (node)."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError
from sqlalchemy import func, select

from central.audit.models import AuditEntry
from central.config import Settings
from central.dmp.models import Document, DocumentFile
from central.limits import RouteLimits
from kiosk.sync.transport import RequestSigner
from tests.support.central import (
    TEST_KIOSK,
    TEST_KIOSK_ID,
    Professional,
    Server,
    database_for,
    login,
    make_professional,
    start_server,
    wipe,
)
from tests.support.dmp import (
    CLAIRE,
    JEANNE,
    LEO,
    PHARMACIST,
    PHYSICIAN,
    create,
    patient_sets,
    patient_token,
)
from tests.support.documents import XXE_CDA, jpeg, report_pdf
from tests.support.fhir import (
    INS_SYSTEM,
    FhirChecks,
    binary_entry,
    document_entry,
    provide_bundle,
)

MAX_BYTES = 256 * 1024  # the service's file limit in this module: an oversize file is cheap
INSURER = "810100777779"
OTHER_OID = "urn:oid:1.2.250.1.213.1.4.8"  # INS-NIR: our test records are under 4.10


@pytest.fixture(scope="module")
def checks() -> Iterator[FhirChecks]:
    found = FhirChecks()
    yield found
    found.flush()  # whatever a test kept after the last explicit flush


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, identities: Path, physician: Professional
) -> Iterator[Server]:
    url, engine = database_for("postgresql", tmp_path_factory.getbasetemp())
    wipe(engine)
    settings = Settings(
        db=url,
        identities=identities,
        home=tmp_path_factory.mktemp("fhir"),
        portal_url="http://portail.test/patient",
        document_max_bytes=MAX_BYTES,
    )
    running = start_server(settings)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def people(server: Server, physician: Professional, pharmacist: Professional) -> dict[str, str]:
    """Jeanne's record, the physician her treating doctor, the pharmacist authorised; the
    operators' tokens and the patient's."""
    tokens = {"physician": login(server, physician), "pharmacist": login(server, pharmacist)}
    insurer = make_professional(id_nat=INSURER, structure_id="75200000000017", nom="ASSUR")
    tokens["insurer"] = login(server, insurer)
    created = create(
        server,
        tokens["physician"],
        JEANNE,
        treating_doctor=PHYSICIAN,
        authorised_professionals=[PHARMACIST],
    )
    tokens["patient"] = patient_token(server, created)
    return tokens


def fhir(server: Server, token: str | None) -> SyncFHIRClient:
    """fhirpy, its requests signed by the kiosk's own signer, as the operator."""
    return SyncFHIRClient(
        f"{server.url}/fhir",
        authorization=f"Bearer {token}" if token else None,
        requests_config={"auth": RequestSigner(TEST_KIOSK_ID, TEST_KIOSK.key), "timeout": 30},
    )


def signed(server: Server, token: str | None, method: str, path: str, **kw: Any) -> Any:
    """A raw request as a professional's software sends it (to see statuses and bytes)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers |= kw.pop("headers", {})
    return requests.request(
        method,
        f"{server.url}{path}",
        headers=headers,
        auth=RequestSigner(TEST_KIOSK_ID, TEST_KIOSK.key),
        timeout=30,
        **kw,
    )


def _stored(server: Server) -> tuple[int, int]:
    with server.state.sessions() as db:
        docs = db.scalar(select(func.count()).select_from(Document)) or 0
        files = db.scalar(select(func.count()).select_from(DocumentFile)) or 0
        return docs, files


def _search(client: SyncFHIRClient, checks: FhirChecks, **params: str) -> list[dict[str, Any]]:
    bundle = json.loads(json.dumps(client.execute("DocumentReference", "get", params=params)))
    checks.check(bundle, f"searchset {params}")
    assert bundle["type"] == "searchset" and bundle["total"] == len(bundle.get("entry", []))
    return [entry["resource"] for entry in bundle.get("entry", [])]


def _outcome(checks: FhirChecks, response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = checks.check(response.json(), f"OperationOutcome {code}")
    (issue,) = outcome["issue"]
    assert issue["details"]["coding"][0]["code"] == code, issue
    return str(issue["details"]["text"])


def test_publish_find_retrieve_with_a_fhir_client(
    server: Server, people: dict[str, str], checks: FhirChecks
) -> None:
    """ITI-65 by the treating physician, ITI-67, then ITI-68 byte for byte."""
    pdf = report_pdf("Compte rendu de consultation", ["Suivi du diabète.", "HbA1c 6,8 %."])
    client = fhir(server, people["physician"])
    binary = binary_entry(pdf, "application/pdf")
    doc = document_entry(binary, ins=JEANNE, title="Consultation du 20 novembre")
    answer = client.execute("/", "post", data=provide_bundle(JEANNE, (doc, binary)))
    answer = checks.check(json.loads(json.dumps(answer)), "transaction-response")
    assert answer["type"] == "transaction-response"
    statuses = [entry["response"]["status"] for entry in answer["entry"]]
    assert statuses == ["201 Created"] * 3
    location = answer["entry"][1]["response"]["location"]
    assert location.startswith("DocumentReference/")
    doc_id = location.removeprefix("DocumentReference/")
    assert answer["entry"][2]["response"]["location"] == f"Binary/{doc_id}"

    found = client.resources("DocumentReference").search(
        **{"patient.identifier": f"{INS_SYSTEM}|{JEANNE}"}
    )
    (reference,) = [d for d in found.fetch() if d["id"] == doc_id]
    attachment = reference["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert attachment["size"] == len(pdf)
    assert attachment["url"] == f"{server.url}/fhir/Binary/{doc_id}"
    assert reference["status"] == "current"
    assert reference["type"]["coding"][0]["code"] == "11488-4"
    assert reference["context"]["period"]["start"] == "2026-11-20"
    assert reference["contained"][0]["identifier"][0]["value"] == PHYSICIAN
    checks.check(json.loads(json.dumps(reference)), "DocumentReference from fhirpy")

    raw = signed(server, people["physician"], "GET", f"/fhir/Binary/{doc_id}")
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "application/pdf"
    assert raw.content == pdf  # byte for byte
    resource = client.execute(f"Binary/{doc_id}", "get")  # fhirpy asks for FHIR JSON
    resource = checks.check(json.loads(json.dumps(resource)), "Binary")
    assert resource["contentType"] == "application/pdf"
    assert base64.b64decode(resource["data"]) == pdf

    # The patient sees who deposited and who read, as for any other way in.
    with server.client(people["patient"]) as portal:
        log = portal.get("/v1/patient/access-log").json()
    done = {(e["id_nat"], e["action"], e["outcome"]) for e in log}
    assert (PHYSICIAN, "add_document", "done") in done
    assert (PHYSICIAN, "document_read", "allowed") in done


def test_a_masked_document_is_absent_for_a_pharmacist(
    server: Server, people: dict[str, str], checks: FhirChecks
) -> None:
    pdf = report_pdf("Consultation de psychiatrie", ["Entretien."])
    binary = binary_entry(pdf, "application/pdf")
    doc = document_entry(binary, ins=JEANNE, title="Psychiatrie", labels=("MASQUE_PS",))
    answer = fhir(server, people["physician"]).execute(
        "/", "post", data=provide_bundle(JEANNE, (doc, binary))
    )
    masked_id = answer["entry"][1]["response"]["location"].removeprefix("DocumentReference/")

    doctor = _search(fhir(server, people["physician"]), checks, patient=f"Patient/{JEANNE}")
    (seen,) = [d for d in doctor if d["id"] == masked_id]
    assert seen["securityLabel"][0]["coding"][0]["code"] == "MASQUE_PS"
    pharmacist = fhir(server, people["pharmacist"])
    ids = {d["id"] for d in _search(pharmacist, checks, patient=f"Patient/{JEANNE}")}
    assert ids and masked_id not in ids  # the pharmacist sees the others, not this one
    refused = signed(server, people["pharmacist"], "GET", f"/fhir/Binary/{masked_id}")
    _outcome(checks, refused, 404, "no_document")
    # The search's fullUrl reads, for whoever may see it, and for no one else.
    read = signed(server, people["physician"], "GET", f"/fhir/DocumentReference/{masked_id}")
    assert read.status_code == 200, read.text
    assert checks.check(read.json(), "DocumentReference read")["id"] == masked_id
    hidden = signed(server, people["pharmacist"], "GET", f"/fhir/DocumentReference/{masked_id}")
    _outcome(checks, hidden, 404, "no_document")


def test_a_forbidden_party_is_refused_and_the_patient_sees_the_try(
    server: Server, people: dict[str, str], checks: FhirChecks
) -> None:
    insurer = fhir(server, people["insurer"])
    with pytest.raises(ForbiddenError) as refused:
        insurer.resources("DocumentReference").search(patient=JEANNE).fetch()
    outcome = checks.check(json.loads(str(refused.value)), "OperationOutcome 403")
    assert outcome["issue"][0]["code"] == "forbidden"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "forbidden_party"
    for path in (f"/fhir/Patient/{JEANNE}", f"/fhir/Patient?identifier={INS_SYSTEM}|{JEANNE}"):
        _outcome(checks, signed(server, people["insurer"], "GET", path), 403, "forbidden_party")
    pdf = report_pdf("Attestation", ["Rien."])
    binary = binary_entry(pdf, "application/pdf")
    bundle = provide_bundle(JEANNE, (document_entry(binary, ins=JEANNE, title="X"), binary))
    before = _stored(server)
    posted = signed(server, people["insurer"], "POST", "/fhir", json=bundle)
    _outcome(checks, posted, 403, "forbidden_party")
    assert _stored(server) == before

    with server.client(people["patient"]) as portal:
        log = portal.get("/v1/patient/access-log").json()
    tries = {(e["action"], e["outcome"]) for e in log if e["id_nat"] == INSURER}
    assert ("document_search", "refused") in tries
    assert ("add_document", "refused") in tries
    with server.state.sessions() as db:
        roles = set(db.scalars(select(AuditEntry.role).where(AuditEntry.actor_id == INSURER)))
    assert roles == {"assureur"}


@pytest.mark.parametrize(
    ("bad", "content_type", "status", "code"),
    [
        (b"%PDF-1.4\nthis is no PDF at all\n%%EOF", "application/pdf", 400, "not_a_pdf"),
        (XXE_CDA, "text/xml", 400, "xml_forbidden_construct"),
        (b"%PDF-1.4\n" + b"0" * MAX_BYTES, "application/pdf", 413, "file_too_large"),
        (b"\xff\xd8\xff\xe0 not a JPEG " * 10, "image/jpeg", 400, "not_an_image"),
    ],
    ids=["malformed-pdf", "xml-external-entity", "oversize", "fake-jpeg"],
)
def test_a_bad_file_refuses_the_whole_bundle(
    server: Server,
    people: dict[str, str],
    checks: FhirChecks,
    bad: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    """A good report and a bad file in one Bundle: refused with a clear reason, nothing of
    either stored."""
    good = binary_entry(report_pdf("Bon", ["Un compte rendu valable."]), "application/pdf")
    wrong = binary_entry(bad, content_type)
    bundle = provide_bundle(
        JEANNE,
        (document_entry(good, ins=JEANNE, title="Valable"), good),
        (document_entry(wrong, ins=JEANNE, title="Refusé", with_hash=False), wrong),
    )
    before = _stored(server)
    answer = signed(server, people["physician"], "POST", "/fhir", json=bundle)
    assert _outcome(checks, answer, status, code)
    assert _stored(server) == before


def test_a_jpeg_that_is_one_is_taken(
    server: Server, people: dict[str, str], checks: FhirChecks
) -> None:
    """The counterpart of the refusals above: the same Bundle with real files is stored."""
    image = binary_entry(jpeg(), "image/jpeg")
    bundle = provide_bundle(
        JEANNE,
        (document_entry(image, ins=JEANNE, title="Photo", loinc="18748-4", category=None), image),
    )
    before = _stored(server)
    answer = signed(server, people["physician"], "POST", "/fhir/", json=bundle)
    assert answer.status_code == 200, answer.text
    checks.check(answer.json(), "transaction-response jpeg")
    assert _stored(server) == (before[0] + 1, before[1] + 1)


def test_replace_search_filters_and_errors(
    server: Server, people: dict[str, str], checks: FhirChecks
) -> None:
    client = fhir(server, people["physician"])
    first = binary_entry(report_pdf("Bilan v1", ["Première version."]), "application/pdf")
    answer = client.execute(
        "/",
        "post",
        data=provide_bundle(
            JEANNE,
            (
                document_entry(
                    first,
                    ins=JEANNE,
                    title="Bilan",
                    loinc="11502-2",
                    category="exam_results",
                    care_date="2026-10-01",
                ),
                first,
            ),
        ),
    )
    old = answer["entry"][1]["response"]["location"].removeprefix("DocumentReference/")
    second = binary_entry(report_pdf("Bilan v2", ["Seconde version."]), "application/pdf")
    answer = client.execute(
        "/",
        "post",
        data=provide_bundle(
            JEANNE,
            (
                document_entry(
                    second,
                    ins=JEANNE,
                    title="Bilan corrigé",
                    loinc="11502-2",
                    category="exam_results",
                    care_date="2026-10-01",
                    replaces=old,
                ),
                second,
            ),
        ),
    )
    new = answer["entry"][1]["response"]["location"].removeprefix("DocumentReference/")
    patient = f"{INS_SYSTEM}|{JEANNE}"

    def ids(**params: str) -> set[str]:
        return {
            d["id"] for d in _search(client, checks, **{"patient.identifier": patient}, **params)
        }

    assert new in ids() and old not in ids(status="current")
    assert ids(status="superseded") == {old}
    (newest,) = [
        d for d in _search(client, checks, **{"patient.identifier": patient}) if d["id"] == new
    ]
    assert newest["relatesTo"] == [
        {"code": "replaces", "target": {"reference": f"DocumentReference/{old}"}}
    ]
    assert ids(type="http://loinc.org|11502-2") == {new, old}  # no status: every version
    assert ids(type="11502-2", status="current") == {new}
    assert new in ids(category="exam_results")  # our own category
    assert new in ids(
        category="https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument|10"
    )
    assert new not in ids(category="medications")
    today = dt.date.today()
    assert new in ids(date=f"ge{today.isoformat()}")
    assert new not in ids(date=f"lt{(today - dt.timedelta(days=1)).isoformat()}")
    assert new in ids(period="le2026-10-01") and new not in ids(period="gt2026-10-01")
    assert new in ids(**{"author.identifier": f"urn:oid:1.2.250.1.71.4.2.1|{PHYSICIAN}"})
    assert not ids(**{"author.identifier": PHARMACIST})

    # The patient's record as a Patient resource, read and searched by INS.
    read = signed(server, people["pharmacist"], "GET", f"/fhir/Patient/{JEANNE}")
    assert read.status_code == 200, read.text
    patient_resource = checks.check(read.json(), "Patient")
    assert patient_resource["identifier"][0] == {
        "use": "official",
        "system": INS_SYSTEM,
        "value": JEANNE,
    }
    search = signed(server, people["pharmacist"], "GET", f"/fhir/Patient?identifier={patient}")
    assert checks.check(search.json(), "Patient searchset")["total"] == 1
    other_oid = f"urn:oid:1.2.250.1.213.1.4.8|{JEANNE}"
    search = signed(server, people["pharmacist"], "GET", f"/fhir/Patient?identifier={other_oid}")
    assert checks.check(search.json(), "Patient searchset, none")["total"] == 0
    by_name = signed(server, people["pharmacist"], "GET", "/fhir/Patient?name=MARTIN")
    _outcome(checks, by_name, 400, "patient_required")
    metadata = requests.get(f"{server.url}/fhir/metadata", timeout=30)
    assert checks.check(metadata.json(), "CapabilityStatement")["fhirVersion"] == "4.0.1"

    # Errors, each an OperationOutcome with its status.
    _outcome(checks, signed(server, None, "GET", f"/fhir/Patient/{JEANNE}"), 401, "unauthenticated")
    unsigned = requests.get(
        f"{server.url}/fhir/DocumentReference?patient={JEANNE}",
        headers={"Authorization": f"Bearer {people['physician']}"},
        timeout=30,
    )
    assert unsigned.status_code == 401
    checks.check(unsigned.json(), "OperationOutcome unsigned")
    missing = "00000000-0000-4000-8000-000000000000"
    _outcome(
        checks,
        signed(server, people["physician"], "GET", f"/fhir/Binary/{missing}"),
        404,
        "no_document",
    )
    _outcome(
        checks,
        signed(
            server, people["physician"], "GET", f"/fhir/DocumentReference?patient={JEANNE}&foo=1"
        ),
        400,
        "search_parameter_not_supported",
    )
    _outcome(
        checks,
        signed(
            server,
            people["physician"],
            "POST",
            "/fhir",
            data=b"{not json",
            headers={"Content-Type": "application/fhir+json"},
        ),
        400,
        "invalid_bundle",
    )
    no_list = provide_bundle(JEANNE, (document_entry(first, ins=JEANNE, title="x"), first))
    no_list["entry"] = no_list["entry"][1:]
    _outcome(
        checks,
        signed(server, people["physician"], "POST", "/fhir", json=no_list),
        422,
        "submission_set_missing",
    )
    again = provide_bundle(
        JEANNE, (document_entry(first, ins=JEANNE, title="x", replaces=old), first)
    )
    _outcome(
        checks,
        signed(server, people["physician"], "POST", "/fhir", json=again),
        409,
        "already_replaced",
    )


def _trail(server: Server, actor_id: str, ins: str) -> list[tuple[str, str, str]]:
    """The log's entries for this actor on this record: (action, outcome, detail)."""
    with server.state.sessions() as db:
        rows = db.execute(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.detail)
            .where(AuditEntry.actor_id == actor_id, AuditEntry.patient_ins == ins)
            .order_by(AuditEntry.id)
        )
        return [(row.action, row.outcome, row.detail) for row in rows]


def _under_oid(bundle: dict[str, Any], system: str) -> dict[str, Any]:
    """The same Bundle, its patient named under another INS OID."""
    return dict(json.loads(json.dumps(bundle).replace(INS_SYSTEM, system)))


def test_a_forbidden_party_cannot_tell_whether_a_record_exists(
    server: Server, people: dict[str, str], checks: FhirChecks
) -> None:
    """The insurer gets the same traced 403 for Jeanne's record (under 4.10), for her INS
    under another OID and for an INS with no record; only an operator the rules let in
    learns, traced, that there is no record under that OID."""
    insurer = people["insurer"]
    for ins in (JEANNE, LEO):  # a record, and none
        for system in (INS_SYSTEM, OTHER_OID):
            before = len(_trail(server, INSURER, ins))
            query = f"patient.identifier={system}|{ins}"
            found = signed(server, insurer, "GET", f"/fhir/DocumentReference?{query}")
            _outcome(checks, found, 403, "forbidden_party")
            bundle = provide_bundle(ins, _pair(ins))
            posted = signed(server, insurer, "POST", "/fhir", json=_under_oid(bundle, system))
            _outcome(checks, posted, 403, "forbidden_party")
            assert _trail(server, INSURER, ins)[before:] == [
                ("document_search", "refused", "forbidden_party"),
                ("add_document", "refused", "forbidden_party"),
            ]
    # The physician may ask: no record under INS-NIR, said and traced.
    doctor = people["physician"]
    before = len(_trail(server, PHYSICIAN, JEANNE))
    query = f"patient.identifier={OTHER_OID}|{JEANNE}"
    found = signed(server, doctor, "GET", f"/fhir/DocumentReference?{query}")
    _outcome(checks, found, 404, "no_dmp")
    stored = _stored(server)
    bundle = _under_oid(provide_bundle(JEANNE, _pair(JEANNE)), OTHER_OID)
    _outcome(checks, signed(server, doctor, "POST", "/fhir", json=bundle), 422, "invalid_ins")
    assert _stored(server) == stored  # the deposit was rolled back whole
    assert _trail(server, PHYSICIAN, JEANNE)[before:] == [
        ("document_search", "refused", "no_dmp"),
        ("add_document", "refused", "invalid_ins"),
    ]


def _pair(ins: str) -> tuple[dict[str, Any], dict[str, Any]]:
    binary = binary_entry(report_pdf("Attestation", ["Rien."]), "application/pdf")
    return document_entry(binary, ins=ins, title="X"), binary


def test_the_patients_traits_go_only_to_who_may_open_the_record(
    server: Server,
    people: dict[str, str],
    checks: FhirChecks,
    agent: Professional,
    regulator: Professional,
) -> None:
    """Name and birth date to whoever may open the record in normal mode; the INS and
    `active` (what a status check tells) to an agent and a professional not authorised; a
    traced 403 to a professional the patient blocked and on a closed record."""

    def read(token: str, ins: str) -> list[requests.Response]:
        return [
            signed(server, token, "GET", f"/fhir/Patient/{ins}"),
            signed(server, token, "GET", f"/fhir/Patient?identifier={INS_SYSTEM}|{ins}"),
        ]

    def patients(token: str, ins: str) -> list[dict[str, Any]]:
        by_id, search = read(token, ins)
        assert by_id.status_code == search.status_code == 200, (by_id.text, search.text)
        (found,) = [e["resource"] for e in checks.check(search.json(), "Patient search")["entry"]]
        return [checks.check(by_id.json(), "Patient"), found]

    doctor = people["physician"]
    full = patients(doctor, JEANNE)
    assert all(p["name"][0]["family"] and p["birthDate"] for p in full)
    tokens = {"agent": login(server, agent), "regulator": login(server, regulator)}
    for who, token in tokens.items():
        for seen in patients(token, JEANNE):
            assert set(seen) == {"resourceType", "id", "identifier", "active"}, who
            assert seen["identifier"][0]["value"] == JEANNE and seen["active"] is True

    claire = create(server, doctor, CLAIRE, authorised_professionals=[PHARMACIST])
    patient = patient_token(server, claire)
    assert all("name" in p for p in patients(people["pharmacist"], CLAIRE))
    assert patient_sets(server, patient, PHARMACIST, "block").status_code == 204
    before = len(_trail(server, PHARMACIST, CLAIRE))
    for answer in read(people["pharmacist"], CLAIRE):
        _outcome(checks, answer, 403, "blocked_by_patient")
    assert (
        _trail(server, PHARMACIST, CLAIRE)[before:]
        == [("status", "refused", "blocked_by_patient")] * 2
    )
    with server.client(patient) as portal:
        assert portal.post("/v1/patient/close").status_code == 204
    for answer in read(doctor, CLAIRE):
        _outcome(checks, answer, 403, "dmp_closed")
    for seen in patients(tokens["agent"], CLAIRE):
        assert set(seen) == {"resourceType", "id", "identifier", "active"}
        assert seen["active"] is False
    assert ("status", "allowed", "") in _trail(server, agent.id_nat, CLAIRE)


def _sent_as(server: Server, token: str, path: str, changed: str, signer: Any = None) -> Any:
    """A GET signed for `path`, its URL changed to `changed` before it leaves (a man in the
    middle rewriting the query)."""
    prepared = requests.Request(
        "GET",
        f"{server.url}{path}",
        headers={"Authorization": f"Bearer {token}"},
        auth=signer or RequestSigner(TEST_KIOSK_ID, TEST_KIOSK.key),
    ).prepare()
    prepared.url = f"{server.url}{changed}"
    with requests.Session() as session:
        return session.send(prepared, timeout=30)


def test_a_query_changed_after_signing_is_refused(
    server: Server, people: dict[str, str], checks: FhirChecks
) -> None:
    """The signature covers the query: the patient a search names, a document's opening
    mode. Changed after signing, or not covered at all, the request is refused (401)."""
    doctor = people["physician"]
    search = f"/fhir/DocumentReference?patient=Patient/{JEANNE}"
    assert _sent_as(server, doctor, search, search).status_code == 200
    moved = _sent_as(server, doctor, search, search.replace(JEANNE, LEO))
    _outcome(checks, moved, 401, "bad_request_signature")
    old = RequestSigner(TEST_KIOSK_ID, TEST_KIOSK.key)
    old.covered_component_ids = ("@method", "@authority", "@path")  # before @query was
    _outcome(checks, _sent_as(server, doctor, search, search, old), 401, "bad_request_signature")

    binary = binary_entry(report_pdf("Ordonnance", ["Metformine."]), "application/pdf")
    answer = fhir(server, doctor).execute(
        "/",
        "post",
        data=provide_bundle(JEANNE, (document_entry(binary, ins=JEANNE, title="O"), binary)),
    )
    doc_id = answer["entry"][1]["response"]["location"].removeprefix("DocumentReference/")
    content = f"/v1/dmp/{JEANNE}/documents/{doc_id}/content?mode=normal"
    assert _sent_as(server, doctor, content, content).status_code == 200
    moved = _sent_as(server, doctor, content, content.replace("normal", "regulateur"))
    assert (moved.status_code, moved.json()["error"]) == (401, "bad_request_signature")


def test_a_body_over_the_limit_is_refused_as_an_operation_outcome(
    server: Server, checks: FhirChecks
) -> None:
    """A 413 from the headers alone (central.limits, before any byte is read) speaks FHIR
    under /fhir, as every other error there does."""
    limit = RouteLimits.for_files_of(MAX_BYTES).for_path("/fhir")
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest("POST", "/fhir")
        connection.putheader("Content-Type", "application/fhir+json")
        connection.putheader("Content-Length", str(limit + 1))
        connection.endheaders()  # not a byte of the body: the answer comes from the headers
        answer = connection.getresponse()
        status, kind, body = answer.status, answer.getheader("content-type", ""), answer.read()
    finally:
        connection.close()
    assert (status, kind) == (413, "application/fhir+json")
    (issue,) = checks.check(json.loads(body), "OperationOutcome 413")["issue"]
    assert issue["code"] == "too-costly"
    assert issue["details"]["coding"][0]["code"] == "body_too_large"


def test_every_resource_passes_medplum(checks: FhirChecks) -> None:
    """Medplum's validator on all the resources above, in one node process; and it does
    reject what is not FHIR (this test could not pass with a validator that accepts all)."""
    kept = len(checks.seen)
    assert kept > 20
    wrong = {"resourceType": "DocumentReference", "status": "current", "bogus": 1}
    (issues,) = checks.flush(known_bad=(wrong,))
    assert {i["where"] for i in issues} >= {"DocumentReference.content", "DocumentReference.bogus"}
