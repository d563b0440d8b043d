"""Every code the kiosk's core and errors speak has its French words (kiosk/messages.py)."""

from __future__ import annotations

import pytest

from dmpcommon.actions import RefusedCard
from dmpcommon.contact import ContactProblem
from dmpcommon.identifiers import IdentifierProblem
from dmpcommon.people import ConsentProblem
from dmpcommon.vocabulary import QualificationStatus
from kiosk.core import Notice, NoticeCode, notice_for
from kiosk.core import errors as kiosk_errors
from kiosk.messages import SYNC_REFUSALS, describe_error, describe_notice, describe_refusal

# The reasons each notice can carry: every value the core may put there.
REASONS: dict[NoticeCode, list[str]] = {
    NoticeCode.CARD_REFUSED: [r.value for r in RefusedCard],
    NoticeCode.IDENTITY_NOT_QUALIFIED: [
        s.value for s in QualificationStatus if s is not QualificationStatus.QUALIFIED
    ],
    NoticeCode.REPRESENTATIVE_INVALID: [p.value for p in ConsentProblem] + ["birth_date_invalid"],
    NoticeCode.CONTACT_INVALID: [p.value for p in ContactProblem],
    NoticeCode.DOCTOR_INVALID: [IdentifierProblem.FORMAT.value, IdentifierProblem.KEY.value],
    NoticeCode.CARD_ERROR: [
        cls.code
        for cls in vars(kiosk_errors).values()
        if isinstance(cls, type) and issubclass(cls, kiosk_errors.CardError)
    ],
}


def _words(notice: Notice) -> str:
    text = describe_notice(notice)
    assert text and text == text.strip() and "\n" not in text, notice
    assert "_" not in text, (notice, text)  # a code, not words
    return text


@pytest.mark.parametrize("code", list(NoticeCode))
def test_every_notice_has_words_for_every_reason_it_may_carry(code: NoticeCode) -> None:
    for reason in REASONS.get(code, [None]):  # type: ignore[list-item]
        _words(Notice(code, reason))


def test_distinct_reasons_get_distinct_words() -> None:
    for code, reasons in REASONS.items():
        if code is NoticeCode.CARD_ERROR:
            continue  # the card_error family shares some advice on purpose
        texts = {describe_notice(Notice(code, r)) for r in reasons}
        assert len(texts) == len(reasons), code


def test_every_error_has_one_line() -> None:
    errors = [
        cls
        for cls in vars(kiosk_errors).values()
        if isinstance(cls, type) and issubclass(cls, kiosk_errors.KioskError)
    ]
    samples = {
        kiosk_errors.NoReaderError: kiosk_errors.NoReaderError("Lecteur 1"),
        kiosk_errors.NoCardError: kiosk_errors.NoCardError(),
        kiosk_errors.CardCommunicationError: kiosk_errors.CardCommunicationError(0x8010006A),
        kiosk_errors.UnknownCardError: kiosk_errors.UnknownCardError(b"\x3b\x00"),
        kiosk_errors.UnsupportedCardError: kiosk_errors.UnsupportedCardError(b"\x3f", "vitale1"),
        kiosk_errors.CardDataError: kiosk_errors.CardDataError("tag 93"),
        kiosk_errors.ApduError: kiosk_errors.ApduError(b"", 0x6A82),
        kiosk_errors.PinError: kiosk_errors.PinError(2),
        kiosk_errors.CentralRefusedError: kiosk_errors.CentralRefusedError(
            403, "kiosk_revoked", ""
        ),
        kiosk_errors.SettingsError: kiosk_errors.SettingsError(
            "KIOSK_IDLE_S", "abc", "float_parsing"
        ),
    }
    for cls in errors:
        error = samples.get(cls) or cls("x")
        text = describe_error(error)
        assert text and "\n" not in text and "Traceback" not in text, cls
        assert notice_for(error).code in NoticeCode


def test_refusals_of_the_service_are_in_french_with_or_without_detail() -> None:
    for code in SYNC_REFUSALS:
        assert (
            describe_refusal(code) == describe_refusal(f"{code}:field:why") == SYNC_REFUSALS[code]
        )
    assert "teleportation" in describe_refusal("teleportation")  # unknown: the code is shown
