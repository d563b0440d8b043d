"""Fixture people who keep their ages, whatever year the tests run in.

The birth dates in fixtures/cards/*.json and fixtures/identities.json were written for
REFERENCE_YEAR: a child born in 2015 is a minor then, an adult in 2033. The suites that put
cards in a reader and a register behind the service use copies shifted by the years since,
so that the twins are still minors and their mother still an adult when the suite runs in
2040. Only birth dates move; NIRs and the rest stay as written.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tests.support.paths import CARDS, ROOT

REFERENCE_YEAR = 2026
IDENTITIES = ROOT / "fixtures" / "identities.json"


def shift_birth_date(text: str, years: int) -> str:
    """The same day `years` later ("YYYY-MM-DD"; a 29 February lands on the 28th, a lunar
    day or month stays as written)."""
    year, month, day = text.split("-")
    new_year = int(year) + years
    if (month, day) == ("02", "29"):
        try:
            dt.date(new_year, 2, 29)
        except ValueError:
            day = "28"
    return f"{new_year:04d}-{month}-{day}"


def years_since_reference(today: dt.date) -> int:
    """How far the fixtures' birth dates move for a run on `today`."""
    return today.year - REFERENCE_YEAR


def _shift_holders(document: dict[str, Any], years: int) -> dict[str, Any]:
    for holder in document.get("holders", []):
        if isinstance(holder, dict) and isinstance(holder.get("birth_date"), str):
            holder["birth_date"] = shift_birth_date(holder["birth_date"], years)
    return document


def aged(birth_date: str, today: dt.date | None = None) -> str:
    """A fixture birth date as the aged copies hold it for a run on `today`."""
    return shift_birth_date(birth_date, years_since_reference(today or dt.date.today()))


def write_aged_fixtures(folder: Path, today: dt.date) -> tuple[Path, Path]:
    """Copies of the card images and of the identity register, aged for `today`:
    (cards folder, identities file)."""
    years = years_since_reference(today)
    cards = folder / "cards"
    cards.mkdir(parents=True, exist_ok=True)
    for image in CARDS.glob("*.json"):
        document = json.loads(image.read_text(encoding="utf-8"))
        if document.get("kind") == "vitale2":
            document = _shift_holders(document, years)
        for key in ("key_pem", "certificate"):  # the copy lives elsewhere: absolute paths
            if isinstance(document.get(key), str):
                document[key] = str(ROOT / document[key])
        (cards / image.name).write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    register = json.loads(IDENTITIES.read_text(encoding="utf-8"))
    for person in register["persons"]:
        person["birth_date"] = shift_birth_date(person["birth_date"], years)
    identities = folder / "identities.json"
    identities.write_text(json.dumps(register, ensure_ascii=False), "utf-8")
    return cards, identities
