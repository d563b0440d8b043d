"""The rules both sides apply, written once in dmpcommon: identifiers, birth dates and
minority, who consents, contacts. Known answers, edges, and what must be refused."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmpcommon.contact import ContactError, ContactProblem, normalise_contact
from dmpcommon.identifiers import (
    ACCESS_IDENTIFIER_ALPHABET,
    IdentifierError,
    IdentifierProblem,
    adeli_of_id_nat,
    check_adeli,
    check_health_professional_id_nat,
    check_rpps,
    id_nat_of_adeli,
    id_nat_of_rpps,
    is_access_identifier,
    luhn_key,
    luhn_valid,
    new_access_identifier,
    new_activation_code,
    rpps_of_id_nat,
)
from dmpcommon.people import BirthDate, ConsentProblem, check_representative

TODAY = dt.date(2031, 5, 17)


# -- identifiers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("79927398713", True),  # the textbook Luhn example
        ("79927398710", False),
        ("4539578763621486", True),
        ("0", False),
        ("", False),
        ("7992739871a", False),
    ],
)
def test_luhn_known_answers(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_the_luhn_key_makes_any_body_valid_and_any_other_digit_invalid(body: str) -> None:
    key = luhn_key(body)
    assert luhn_valid(body + str(key))
    assert not any(luhn_valid(body + str(d)) for d in range(10) if d != key)


def test_rpps_and_card_identifiers() -> None:
    assert check_rpps("101 0045 7828") == "10100457828"
    assert id_nat_of_rpps("10100457828") == "810100457828"
    assert rpps_of_id_nat("810100457828") == "10100457828"
    assert id_nat_of_adeli("560123457") == "0560123457"
    assert adeli_of_id_nat("0560123457") == "560123457"
    assert check_health_professional_id_nat("899700218896") == "899700218896"
    for not_rpps in ("3220098765ENIM42", "810100457823", "0560123457"):
        assert rpps_of_id_nat(not_rpps) is None


@pytest.mark.parametrize(
    ("check", "text", "problem"),
    [
        (check_rpps, "10100457823", IdentifierProblem.KEY),
        (check_rpps, "1010045782", IdentifierProblem.FORMAT),
        (check_rpps, "1010045782O", IdentifierProblem.FORMAT),
        (check_rpps, "١٠١٠٠٤٥٧٨٢٨", IdentifierProblem.FORMAT),  # digits, but not ASCII
        (check_adeli, "560123456", IdentifierProblem.KEY),
        (check_adeli, "56012345", IdentifierProblem.FORMAT),
        (
            check_health_professional_id_nat,
            "3220098765ENIM42",
            IdentifierProblem.NOT_A_HEALTH_PROFESSIONAL,
        ),
        (check_health_professional_id_nat, "810100457823", IdentifierProblem.KEY),
        (check_health_professional_id_nat, "8101004578280", IdentifierProblem.FORMAT),
        (check_health_professional_id_nat, "", IdentifierProblem.NOT_A_HEALTH_PROFESSIONAL),
    ],
)
def test_what_is_not_a_professional_number(
    check: object, text: str, problem: IdentifierProblem
) -> None:
    with pytest.raises(IdentifierError) as refused:
        check(text)  # type: ignore[operator]
    assert refused.value.problem is problem


def test_access_identifiers_and_codes_are_drawn_from_their_alphabets() -> None:
    drawn = {new_access_identifier() for _ in range(200)}
    assert len(drawn) == 200 and all(is_access_identifier(i) for i in drawn)
    assert not set("".join(drawn)) - set(ACCESS_IDENTIFIER_ALPHABET)
    assert not {"0", "O", "1", "I", "L"} & set(ACCESS_IDENTIFIER_ALPHABET)
    assert not is_access_identifier("ABCDEFGHIL")  # I and L are read wrong from paper
    assert not is_access_identifier("ABCDEFGHJK\n")
    codes = {new_activation_code() for _ in range(200)}
    assert all(len(c) == 8 and c.isdigit() for c in codes) and len(codes) > 190


# -- birth dates, minority, who consents ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1979-03-28", BirthDate(1979, 3, 28)),
        ("1979-03-00", BirthDate(1979, 3, 0)),
        ("1979-00-00", BirthDate(1979, 0, 0)),
        ("1979-03-32", BirthDate(1979, 3, 0)),  # a lunar day
        ("1979-13-05", BirthDate(1979, 0, 0)),  # a lunar month: the day means nothing then
        ("2023-02-29", BirthDate(2023, 2, 0)),  # no 29 February that year
    ],
)
def test_birth_dates_with_unknown_parts(text: str, expected: BirthDate) -> None:
    assert BirthDate.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["1979-3-28", "19790328", "", "0000-01-01", "1979-03-28T00", "1979-03-28\n"]
)
def test_what_is_not_a_birth_date(text: str) -> None:
    with pytest.raises(ValueError, match="birth"):
        BirthDate.parse(text)


@pytest.mark.parametrize(
    ("born", "minor"),
    [
        ("2013-05-17", False),  # 18 today
        ("2013-05-18", True),  # 18 tomorrow
        ("2013-05-00", True),  # born in May 2013, day unknown: maybe not 18 before the 31st
        ("2013-04-00", False),  # April 2013: surely 18 by now
        ("2013-00-00", True),  # 2013, month unknown: surely 18 only next year
        ("2012-00-00", False),
        ("2012-02-29", False),
    ],
)
def test_minority_on_a_day_errs_towards_minor_when_the_date_is_incomplete(
    born: str, minor: bool
) -> None:
    assert BirthDate.parse(born).minor_on(TODAY) is minor


def test_a_29_february_birthday_comes_on_1_march_in_other_years() -> None:
    born = BirthDate.parse("2012-02-29")
    assert born.minor_on(dt.date(2030, 2, 28))
    assert not born.minor_on(dt.date(2030, 3, 1))


@pytest.mark.parametrize(
    ("patient", "representative", "problem"),
    [
        ("2020-01-01", None, ConsentProblem.REPRESENTATIVE_REQUIRED),
        ("2020-01-01", "2015-01-01", ConsentProblem.REPRESENTATIVE_NOT_ADULT),
        ("2020-01-01", "2013-05-00", ConsentProblem.REPRESENTATIVE_NOT_ADULT),
        ("2020-01-01", "1985-00-00", None),
        ("1985-01-01", None, None),
        ("1985-01-01", "1960-01-01", ConsentProblem.REPRESENTATIVE_FOR_ADULT),
        ("2013-05-00", None, ConsentProblem.REPRESENTATIVE_REQUIRED),
    ],
)
def test_who_consents(patient: str, representative: str | None, problem: object) -> None:
    rep = BirthDate.parse(representative) if representative else None
    assert check_representative(BirthDate.parse(patient), rep, TODAY) == problem


# -- contacts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "address", "canonical"),
    [
        ("email", " Jeanne.Bernard@Exemple.FR ", "Jeanne.Bernard@exemple.fr"),
        ("sms", "06 12 34 56 78", "+33612345678"),
        ("sms", "+33 7.12.34.56.78", "+33712345678"),
        ("sms", "0033612345678", "+33612345678"),
    ],
)
def test_contacts_in_canonical_form(channel: str, address: str, canonical: str) -> None:
    assert normalise_contact(channel, address) == canonical


@pytest.mark.parametrize(
    ("channel", "address", "problem"),
    [
        ("email", "jeanne@", ContactProblem.EMAIL_INVALID),
        ("email", "a" * 250 + "@x.fr", ContactProblem.EMAIL_INVALID),
        ("sms", "0512345678", ContactProblem.MOBILE_INVALID),  # a landline
        ("sms", "061234567", ContactProblem.MOBILE_INVALID),
        ("fax", "0612345678", ContactProblem.CHANNEL_UNKNOWN),
    ],
)
def test_contacts_refused_with_a_code(channel: str, address: str, problem: ContactProblem) -> None:
    with pytest.raises(ContactError) as refused:
        normalise_contact(channel, address)
    assert refused.value.problem is problem
