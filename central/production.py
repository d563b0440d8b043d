"""What production refuses to start with (DESIGN.md, "Whom the central service trusts"): the
repository's test CA (its private key is public), test and demo INS, plain-HTTP links to the
portal. Each problem names the setting to fix, in French, for the administrator who reads
`central serve`'s one line. Keys too weak or empty are refused where they are read
(central.config)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from central.errors import BadConfiguration

__all__ = ["TEST_CA_KEYS", "check_production", "key_fingerprint", "production_problems"]

_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The repository's test CA (fixtures/pki/ca.pem), by its key: installed from a wheel, the
# service has no fixtures folder to compare with, and the CA's key is public all the same.
TEST_CA_KEYS = frozenset({"05c9a190e421c4f1c48dc260653cf3d1ffb5bb9a15286a46d9efbcbfa28d8958"})


def key_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate's SubjectPublicKeyInfo (a CA re-issued keeps it)."""
    der = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _test_ca_keys() -> set[str]:
    """The known test CA keys, and any other certificate the checkout ships for tests."""
    found = set(TEST_CA_KEYS)
    for pem in (_FIXTURES / "pki").rglob("*.pem"):
        try:
            certificates = x509.load_pem_x509_certificates(pem.read_bytes())
        except ValueError:
            continue  # a key, not a certificate
        found |= {key_fingerprint(c) for c in certificates}
    return found


def production_problems(
    *, ca_path: Path, ca_certificates: list[x509.Certificate], portal_url: str
) -> list[str]:
    """What is wrong for production, one French sentence each (empty: nothing)."""
    problems = []
    tests = _test_ca_keys()
    if ca_path.resolve().is_relative_to(_FIXTURES) or any(
        key_fingerprint(c) in tests for c in ca_certificates
    ):
        problems.append(
            "l'autorité des cartes professionnelles est celle des tests, dont la clé privée est"
            " publique : donnez le certificat de l'IGC-Santé (CENTRAL_PROFESSIONAL_CA)"
        )
    if not portal_url.startswith("https://"):
        problems.append("le lien vers l'espace patient n'est pas en HTTPS (CENTRAL_PORTAL_URL)")
    return problems


def check_production(
    *, ca_path: Path, ca_certificates: list[x509.Certificate], portal_url: str
) -> None:
    """Refuse to start, naming every setting to fix."""
    problems = production_problems(
        ca_path=ca_path, ca_certificates=ca_certificates, portal_url=portal_url
    )
    if problems:
        raise BadConfiguration(
            "production refusée : " + " ; ".join(problems), code="production_refused"
        )
