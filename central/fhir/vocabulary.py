"""The codes the doorway writes and reads: code systems, our categories and their ANS class
codes, confidentiality labels, IHE format codes, and the errors' issue types.

Sources: the ANS's terminologies (TRE_A03-ClasseDocument, the class codes of the DMP's value
set JDV_J57-ClassCode-DMP; TRE_A07-StatutVisibiliteDocument, OID 1.2.250.1.213.1.1.4.13,
whose codes MASQUE_PS and INVISIBLE_REPRESENTANTS_LEGAUX the value set
JDV_J07-XdsConfidentialityCode-CISIS carries), IHE MHD (SubmissionSet list type, format code
system), LOINC for document types.
"""

from __future__ import annotations

from central.dmp.loinc import LOINC_BY_CATEGORY
from central.dmp.schemas import Category

__all__ = [
    "ANS_CLASS",
    "CATEGORY_SYSTEM",
    "CLASS_SYSTEM",
    "CONFIDENTIALITY_OID",
    "CONFIDENTIALITY_SYSTEM",
    "ERROR_SYSTEM",
    "FHIR_VERSION",
    "FORMAT_SYSTEM",
    "INS_OIDS",
    "INVISIBLE_PATIENT",
    "INVISIBLE_REPRESENTATIVES",
    "ISSUE_TYPES",
    "LIST_TYPE_SYSTEM",
    "LOINC_SYSTEM",
    "MASKED",
    "RPPS_OID",
    "category_of_class",
    "category_of_loinc",
    "ins_system",
]

FHIR_VERSION = "4.0.1"
LOINC_SYSTEM = "http://loinc.org"
# Our own eight categories, kept beside the ANS class code (which merges some of them).
CATEGORY_SYSTEM = "urn:dmp-kiosk:fhir:document-category"
CLASS_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
CONFIDENTIALITY_SYSTEM = (
    "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/"
    "TRE-A07-StatutVisibiliteDocument"
)
CONFIDENTIALITY_OID = "urn:oid:1.2.250.1.213.1.1.4.13"  # the same code system, as XDS names it
MASKED = "MASQUE_PS"
INVISIBLE_REPRESENTATIVES = "INVISIBLE_REPRESENTANTS_LEGAUX"
INVISIBLE_PATIENT = "INVISIBLE_PATIENT"  # a label the DMP does not take through this door
FORMAT_SYSTEM = "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode"
LIST_TYPE_SYSTEM = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
RPPS_OID = "urn:oid:1.2.250.1.71.4.2.1"  # national identifiers of health professionals
# The error codes of the service (central.errors), as an OperationOutcome's details.
ERROR_SYSTEM = "urn:dmp-kiosk:fhir:error"
# The INS OIDs (DESIGN.md): INS-NIR, INS-NIA, test, demo.
INS_OIDS = frozenset(
    {"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"}
)

# Our category -> its class code in the DMP's value set (JDV_J57-ClassCode-DMP) and display.
ANS_CLASS: dict[Category, tuple[str, str]] = {
    Category.CARE_HISTORY: ("11", "Synthèse"),
    Category.PATHOLOGIES_ALLERGIES: ("11", "Synthèse"),
    Category.MEDICATIONS: ("43", "Dispensation"),
    Category.REPORTS: ("10", "Compte rendu"),
    Category.EXAM_RESULTS: ("10", "Compte rendu"),
    Category.ADVANCE_DIRECTIVES: ("90", "Autres documents déposés par le patient"),
    Category.EMERGENCY_CONTACTS: ("90", "Autres documents déposés par le patient"),
    Category.OTHER: ("90", "Autres documents déposés par le patient"),
}
# A class code sent without our own category: the category it files under by default.
_CLASS_DEFAULT = {
    "10": Category.REPORTS,
    "11": Category.CARE_HISTORY,
    "31": Category.EXAM_RESULTS,  # imagerie médicale
    "42": Category.MEDICATIONS,  # prescription
    "43": Category.MEDICATIONS,
    "45": Category.MEDICATIONS,  # traitement administré
    "90": Category.OTHER,
}

# HTTP status -> the OperationOutcome issue type (FHIR R4 IssueType).
ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    410: "deleted",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
}


def ins_system(oid: str) -> str:
    """The identifier system of an INS under this OID."""
    return f"urn:oid:{oid}"


def category_of_class(code: str) -> Category | None:
    """The category a bare ANS class code files under, if it names one we keep."""
    return _CLASS_DEFAULT.get(code)


def category_of_loinc(code: str) -> Category | None:
    """The category whose document types list this LOINC code."""
    for category, codes in LOINC_BY_CATEGORY.items():
        if code in codes:
            return category
    return None
