from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmpcommon import InvalidNirError, check_nir, is_valid_nir, nir_key


def test_known_key() -> None:
    # 97 - (2790351215189 mod 97) = 89
    assert nir_key("2790351215189") == 89
    assert check_nir("279035121518989") == "279035121518989"


def test_corsica_2a_counts_as_19_and_2b_as_18() -> None:
    body_2a = "285022A004123"
    assert nir_key(body_2a) == 97 - int("2850219004123") % 97
    body_2b = "285022B004123"
    assert nir_key(body_2b) == 97 - int("2850218004123") % 97
    assert is_valid_nir(f"{body_2a}{nir_key(body_2a):02d}")
    assert is_valid_nir(f"{body_2b}{nir_key(body_2b):02d}".lower())


@pytest.mark.parametrize(
    ("nir", "reason"),
    [
        ("27903512151898", "length"),
        ("2790351215189890", "length"),
        ("279035121518988", "key"),
        ("579035121518989", "characters"),
        ("2790351215X8989", "characters"),
        ("28502AA00412355", "characters"),
    ],
)
def test_bad_nirs_are_refused_with_a_reason(nir: str, reason: str) -> None:
    with pytest.raises(InvalidNirError) as caught:
        check_nir(nir)
    assert caught.value.reason == reason
    assert not is_valid_nir(nir)


@given(st.from_regex(r"[12][0-9]{4}([0-9]{2}|2A|2B)[0-9]{6}", fullmatch=True))
def test_computed_key_always_validates_and_any_other_key_fails(body: str) -> None:
    key = nir_key(body)
    assert 1 <= key <= 97
    assert is_valid_nir(f"{body}{key:02d}")
    assert not is_valid_nir(f"{body}{(key % 97) + 1:02d}")


@given(st.text(max_size=20))
def test_any_text_gives_a_verdict_never_a_crash(text: str) -> None:
    assert is_valid_nir(text) in (True, False)
