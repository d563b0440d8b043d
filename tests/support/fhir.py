"""FHIR in the tests: two validators nobody here wrote, and ITI-65 Bundles as a professional's
software builds them.

Every resource the doorway returns is checked twice: at once by fhir.resources' R4B models
(`FhirChecks.check`), and in one batch per test module by Medplum's validator with its R4
definitions under node (tests/fhir_validator, versions locked in its package-lock.json).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from tests.support.paths import ROOT

__all__ = [
    "INS_SYSTEM",
    "FhirChecks",
    "binary_entry",
    "document_entry",
    "medplum_issues",
    "provide_bundle",
]

VALIDATOR = ROOT / "tests" / "fhir_validator"
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.10"
LOINC = "http://loinc.org"
CATEGORY = "urn:dmp-kiosk:fhir:document-category"
CONFIDENTIALITY = (
    "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/"
    "TRE-A07-StatutVisibiliteDocument"
)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:  # CI installs them (scripts/bootstrap-system.sh): a missing one fails
        pytest.fail(f"{name} is not installed: run scripts/bootstrap-system.sh", pytrace=False)
    return found


def _installed() -> Path:
    """The validator's node_modules, installed from the lock (once: a stamp of the lock)."""
    lock = (VALIDATOR / "package-lock.json").read_bytes()
    stamp = VALIDATOR / "node_modules" / ".installed-from-lock"
    digest = hashlib.sha256(lock).hexdigest()
    # Parallel test workers install once: the others wait for the first, then see the stamp.
    with (VALIDATOR / ".install.lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        _install(stamp, digest)
    return VALIDATOR / "validate.mjs"


def _install(stamp: Path, digest: str) -> None:
    if not stamp.exists() or stamp.read_text() != digest:
        subprocess.run(
            [
                _tool("npm"),
                "ci",
                "--prefix",
                str(VALIDATOR),
                "--prefer-offline",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        stamp.write_text(digest)


def medplum_issues(resources: list[dict[str, Any]]) -> list[list[dict[str, str]]]:
    """Medplum's issues for each resource (errors and warnings), in one node process."""
    script = _installed()
    done = subprocess.run(
        [_tool("node"), str(script)],
        input=json.dumps(resources).encode(),
        cwd=VALIDATOR,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result: list[list[dict[str, str]]] = json.loads(done.stdout)
    assert len(result) == len(resources)
    return result


class FhirChecks:
    """Resources seen in a test module: each checked by fhir.resources when seen, all by
    Medplum together when the module asks (or at its end)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def check(self, resource: dict[str, Any], where: str = "") -> dict[str, Any]:
        """Validate with fhir.resources' R4B model of its type now; keep it for Medplum."""
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        self.seen.append((where or resource["resourceType"], resource))
        return resource

    def flush(self, *, known_bad: tuple[dict[str, Any], ...] = ()) -> list[list[dict[str, str]]]:
        """Medplum on every resource kept; fails naming the resource and its errors. The
        `known_bad` resources go in the same node process: their issues are returned (a test
        shows with them that the validator does reject)."""
        batch, self.seen = self.seen, []
        if not batch and not known_bad:
            return []
        issues = medplum_issues([r for _, r in batch] + list(known_bad))
        problems = []
        for (where, resource), found in zip(batch, issues, strict=False):
            errors = [i for i in found if i["severity"] in ("error", "fatal")]
            if errors:
                problems.append(f"{where} ({resource['resourceType']}): {errors}")
        assert not problems, "\n".join(problems)
        return issues[len(batch) :]


def binary_entry(data: bytes, content_type: str) -> dict[str, Any]:
    """A Binary entry of an ITI-65 Bundle, with a fresh urn:uuid fullUrl."""
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": {
            "resourceType": "Binary",
            "contentType": content_type,
            "data": base64.b64encode(data).decode(),
        },
        "request": {"method": "POST", "url": "Binary"},
    }


def document_entry(
    binary: dict[str, Any],
    *,
    ins: str,
    title: str,
    loinc: str = "11488-4",
    category: str | None = "reports",
    care_date: str = "2026-11-20",
    labels: tuple[str, ...] = (),
    replaces: str | None = None,
    with_hash: bool = True,
) -> dict[str, Any]:
    """A DocumentReference entry (comprehensive metadata) pointing at a Binary entry."""
    data = base64.b64decode(binary["resource"]["data"])
    attachment: dict[str, Any] = {
        "contentType": binary["resource"]["contentType"],
        "url": binary["fullUrl"],
        "size": len(data),
        "title": title,
        "creation": care_date,
    }
    if with_hash:
        digest = hashlib.sha1(data, usedforsecurity=False).digest()
        attachment["hash"] = base64.b64encode(digest).decode()
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient?identifier={INS_SYSTEM}|{ins}"},
        "content": [
            {
                "attachment": attachment,
                "format": {
                    "system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
                    "code": "urn:ihe:iti:xds-sd:pdf:2008",
                },
            }
        ],
        "context": {"period": {"start": care_date}},
    }
    if category is not None:
        resource["category"] = [{"coding": [{"system": CATEGORY, "code": category}]}]
    if labels:
        resource["securityLabel"] = [
            {"coding": [{"system": CONFIDENTIALITY, "code": code}]} for code in labels
        ]
    if replaces is not None:
        resource["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{replaces}"}}
        ]
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": resource,
        "request": {"method": "POST", "url": "DocumentReference"},
    }


def provide_bundle(ins: str, *pairs: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    """An ITI-65 transaction: the SubmissionSet List, then each DocumentReference and its
    Binary."""
    submission = {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": {
            "resourceType": "List",
            "status": "current",
            "mode": "working",
            "code": {
                "coding": [
                    {
                        "system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes",
                        "code": "submissionset",
                    }
                ]
            },
            "subject": {"reference": f"Patient?identifier={INS_SYSTEM}|{ins}"},
            "date": "2026-11-20T10:00:00+01:00",
            "entry": [{"item": {"reference": doc["fullUrl"]}} for doc, _ in pairs],
        },
        "request": {"method": "POST", "url": "List"},
    }
    entries = [submission]
    for doc, binary in pairs:
        entries += [doc, binary]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
