"""The fixture people keep their ages whatever year the suites run in (tests.support.aged)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from dmpcommon.people import BirthDate
from tests.support.aged import REFERENCE_YEAR, shift_birth_date, write_aged_fixtures


@pytest.mark.parametrize("year", [REFERENCE_YEAR, 2033, 2040, 2061])
def test_minors_stay_minors_and_the_cards_match_the_register(tmp_path: Path, year: int) -> None:
    today = dt.date(year, 11, 20)
    cards, identities = write_aged_fixtures(tmp_path, today)
    register = json.loads(identities.read_text(encoding="utf-8"))["persons"]
    born = {p["prenoms"][0]: p["birth_date"] for p in register}
    assert BirthDate.parse(born["LEO"]).minor_on(today)
    assert not BirthDate.parse(born["CLAIRE"]).minor_on(today)
    family = json.loads((cards / "vitale-parent-deux-enfants.json").read_text(encoding="utf-8"))
    for holder in family["holders"]:
        assert holder["birth_date"] == born[holder["prenom"]]  # the card and the register agree
    pro = json.loads((cards / "cps-medecin.json").read_text(encoding="utf-8"))
    assert Path(pro["key_pem"]).is_absolute() and Path(pro["key_pem"]).exists()


def test_a_29_february_lands_on_the_28th_in_a_common_year() -> None:
    assert shift_birth_date("2016-02-29", 1) == "2017-02-28"
    assert shift_birth_date("2016-02-29", 4) == "2020-02-29"
    assert shift_birth_date("1979-03-00", 14) == "1993-03-00"  # a lunar date keeps its zeros
