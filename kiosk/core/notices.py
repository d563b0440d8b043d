"""What the counter is told, as codes: the screens and the command line put them in French.

A notice is a code, and when it needs one a reason (a sub-code: a refusal, a card family, a
problem with a form field) and the PIN tries left. `notice_for` turns any kiosk error into
one, so that an error and a notice are described by the same table (kiosk/messages.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, unique

from kiosk.core.errors import (
    CardError,
    CentralRefusedError,
    CentralUnreachableError,
    KioskError,
    PinBlockedError,
    PinError,
    SyncError,
    UnknownCardError,
    UnsupportedCardError,
)

__all__ = ["Notice", "NoticeCode", "notice_for"]


@unique
class NoticeCode(StrEnum):
    """Everything the notice line can say."""

    # cards and operator
    LOGIN_FIRST = "login_first"
    OPERATOR_ALREADY_IN = "operator_already_in"
    OPERATOR_CARD_REMOVED = "operator_card_removed"
    PATIENT_CARD_REMOVED = "patient_card_removed"
    ONE_PATIENT_AT_A_TIME = "one_patient_at_a_time"
    CARD_REFUSED = "card_refused"  # reason: the card family
    CARD_ERROR = "card_error"  # reason: the error's code
    PIN_FORMAT = "pin_format"
    PIN_WRONG = "pin_wrong"  # tries_left, when the card says
    PIN_BLOCKED = "pin_blocked"
    OFFLINE_LOGIN = "offline_login"
    BACK_ONLINE = "back_online"  # the session came back with the network
    SIGNED_OUT = "signed_out"
    VITALE_WAITING = "vitale_waiting"  # a Vitale card in before login: read after it
    # the patient
    NIR_INVALID = "nir_invalid"
    TO_QUALIFY = "to_qualify"
    IDENTITY_NOT_QUALIFIED = "identity_not_qualified"  # reason: not_found | ambiguous
    CONSENT_REQUIRED = "consent_required"
    REPRESENTATIVE_INVALID = "representative_invalid"  # reason: dmpcommon ConsentProblem
    CONTACT_INVALID = "contact_invalid"  # reason: dmpcommon ContactProblem
    DOCTOR_INVALID = "doctor_invalid"  # reason: dmpcommon IdentifierProblem
    AGENT_NO_CONTENT = "agent_no_content"
    REASON_REQUIRED = "reason_required"
    OPEN_NEEDS_NETWORK = "open_needs_network"
    OPEN_REFUSED = "open_refused"  # reason: the service's refusal code
    REISSUE_NEEDS_NETWORK = "reissue_needs_network"
    CLOSE_NEEDS_NETWORK = "close_needs_network"
    DMP_CLOSED = "dmp_closed"  # done, at the patient's request
    DMP_REOPENED = "dmp_reopened"
    IDLE_TIMEOUT = "idle_timeout"
    SEARCH_NEEDS_NETWORK = "search_needs_network"
    # a form field (Notice.field names it)
    FIELD_REQUIRED = "field_required"
    DATE_INVALID = "date_invalid"
    DATE_IN_FUTURE = "date_in_future"
    TEXT_TOO_LONG = "text_too_long"
    BIRTH_PLACE_INVALID = "birth_place_invalid"
    NAME_INVALID = "name_invalid"
    DOCUMENT_NOT_FOR_ADULT = "document_not_for_adult"
    # the central service, and the rest
    CENTRAL_UNREACHABLE = "central_unreachable"
    CENTRAL_REFUSED = "central_refused"  # reason: the service's error code
    SYNC_ERROR = "sync_error"
    UNEXPECTED = "unexpected"


@dataclass(frozen=True, slots=True)
class Notice:
    """One line for the counter: a code, and what it needs to be said precisely."""

    code: NoticeCode
    reason: str | None = None
    tries_left: int | None = None
    field: str | None = None  # the form field it is about: said beside that field


def notice_for(error: KioskError) -> Notice:
    """The notice that tells a person about this error."""
    if isinstance(error, PinBlockedError):
        return Notice(NoticeCode.PIN_BLOCKED)
    if isinstance(error, PinError):
        return Notice(
            NoticeCode.PIN_WRONG, tries_left=error.tries_left if error.tries_left >= 0 else None
        )
    if isinstance(error, UnsupportedCardError):
        return Notice(NoticeCode.CARD_REFUSED, reason=error.kind)
    if isinstance(error, UnknownCardError):
        return Notice(NoticeCode.CARD_REFUSED, reason="unknown")
    if isinstance(error, CardError):
        return Notice(NoticeCode.CARD_ERROR, reason=error.code)
    if isinstance(error, CentralUnreachableError):
        return Notice(NoticeCode.CENTRAL_UNREACHABLE)
    if isinstance(error, CentralRefusedError):
        return Notice(NoticeCode.CENTRAL_REFUSED, reason=error.reason)
    if isinstance(error, SyncError):
        return Notice(NoticeCode.SYNC_ERROR)
    return Notice(NoticeCode.UNEXPECTED, reason=error.code)
