"""What production refuses to start with (DESIGN.md, "Whom the central service trusts"): the
repository's test CA (its private key is public), test and demo INS, plain-HTTP links to the
portal. Each problem names the setting to fix, in French, for the administrator who reads
`central serve`'s one line. Keys too weak or empty are refused where they are read
(central.config)."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from central.errors import BadConfiguration

__all__ = ["check_production", "production_problems"]

_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _test_ca_fingerprints() -> set[bytes]:
    """Every certificate the repository ships for tests (fixtures/pki), if it is there."""
    found: set[bytes] = set()
    for pem in (_FIXTURES / "pki").rglob("*.pem"):
        try:
            certificates = x509.load_pem_x509_certificates(pem.read_bytes())
        except ValueError:
            continue  # a key, not a certificate
        found |= {c.fingerprint(hashes.SHA256()) for c in certificates}
    return found


def production_problems(
    *, ca_path: Path, ca_certificates: list[x509.Certificate], portal_url: str
) -> list[str]:
    """What is wrong for production, one French sentence each (empty: nothing)."""
    problems = []
    tests = _test_ca_fingerprints()
    if ca_path.resolve().is_relative_to(_FIXTURES) or any(
        c.fingerprint(hashes.SHA256()) in tests for c in ca_certificates
    ):
        problems.append(
            "l'autorité des cartes professionnelles est celle des tests, dont la clé privée est"
            " publique : donnez le certificat de l'IGC-Santé (CENTRAL_PROFESSIONAL_CA)"
        )
    if not portal_url.startswith("https://"):
        problems.append(
            "le lien vers l'espace patient n'est pas en HTTPS (CENTRAL_PORTAL_URL)"
        )
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
