"""A source of realistic reimbursed care, for tests and the demo: deterministic per INS and
seed, drawn from a small table of real codes (fixtures/care/codes.json, whose README says
where each code was checked).

Each month of a person's life is drawn from its own seed, so the lines of a month are the
same whatever range is asked for: sending them again is sending the same identifiers.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from central.dmp.schemas import CareNature, CodeSystem
from central.insurance.codes import CodeProblem, check_code
from central.insurance.schemas import CareLineIn

__all__ = ["CODES_PATH", "CareCode", "CareGenerator", "CareTable"]

CODES_PATH = Path(__file__).resolve().parents[2] / "fixtures" / "care" / "codes.json"


@dataclass(frozen=True, slots=True)
class CareCode:
    """A real code of the table, with its label and the nature of care it bills."""

    system: CodeSystem
    code: str
    label: str
    nature: CareNature


@dataclass(frozen=True, slots=True)
class CareTable:
    """The codes and the (fictional) executants the generator draws from."""

    codes: tuple[CareCode, ...]
    executants: Mapping[CareNature, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path = CODES_PATH) -> CareTable:
        """Read the table; every code is checked by its system's rule (ValueError if not)."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        codes = []
        for item in raw["codes"]:
            code = CareCode(
                CodeSystem(item["system"]), item["code"], item["label"], CareNature(item["nature"])
            )
            try:
                check_code(code.system, code.code)
            except CodeProblem as exc:
                raise ValueError(f"{path.name}: {code.system} {code.code}: {exc}") from exc
            codes.append(code)
        executants = {CareNature(k): tuple(v) for k, v in raw["executants"].items()}
        missing = {c.nature for c in codes} - executants.keys()
        if missing:
            raise ValueError(f"{path.name}: no executant for {sorted(missing)}")
        return cls(tuple(codes), executants)

    def where(self, system: CodeSystem, nature: CareNature | None = None) -> list[CareCode]:
        """The codes of a system (and of a nature, if told)."""
        return [
            c for c in self.codes if c.system is system and (nature is None or c.nature is nature)
        ]


class CareGenerator:
    """Plausible care for a person: a few medicines every month, visits, lab tests now and
    then, the odd X-ray, dentist or physiotherapy."""

    def __init__(self, table: CareTable, *, seed: int = 0) -> None:
        self.table = table
        self.seed = seed
        self._medicines = table.where(CodeSystem.CIP13)
        self._labs = table.where(CodeSystem.NABM)
        self._visits = table.where(CodeSystem.NGAP, CareNature.CONSULTATION)
        self._nursing = table.where(CodeSystem.NGAP, CareNature.NURSING)
        self._physio = table.where(CodeSystem.NGAP, CareNature.PHYSIOTHERAPY)
        self._acts = table.where(CodeSystem.CCAM)

    def lines(self, ins: str, since: dt.date, until: dt.date) -> list[CareLineIn]:
        """The person's lines dated from `since` to `until`, oldest first."""
        out: list[CareLineIn] = []
        year, month = since.year, since.month
        while (year, month) <= (until.year, until.month):
            out += [
                line for line in self._month(ins, year, month) if since <= line.care_date <= until
            ]
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return sorted(out, key=lambda line: (line.care_date, line.line_id))

    def _month(self, ins: str, year: int, month: int) -> list[CareLineIn]:
        # Test data, reproducible by design (no secret rests on these draws).
        person = random.Random(f"{self.seed}:{ins}")  # noqa: S311 - their usual medicines
        usual = person.sample(self._medicines, k=person.randint(1, 3))
        rng = random.Random(f"{self.seed}:{ins}:{year:04d}-{month:02d}")  # noqa: S311
        last = calendar.monthrange(year, month)[1]
        lines: list[CareLineIn] = []

        def add(code: CareCode, day: int, quantity: int = 1) -> None:
            date = dt.date(year, month, min(day, last))
            digest = hashlib.sha256(
                f"{self.seed}:{ins}:{date}:{len(lines)}:{code.code}".encode()
            ).hexdigest()
            lines.append(
                CareLineIn(
                    line_id=f"am-{digest[:24]}",
                    care_date=date,
                    nature=code.nature,
                    code_system=code.system,
                    code=code.code,
                    label=code.label,
                    quantity=quantity,
                    executant=rng.choice(self.table.executants[code.nature]),
                )
            )

        if rng.random() < 0.6:  # a visit, often with something dispensed on the day
            day = rng.randint(1, last)
            add(rng.choice(self._visits), day)
            for medicine in usual:
                add(medicine, day, quantity=rng.choice((1, 1, 2, 3)))
        if rng.random() < 0.3:
            day = rng.randint(1, last)
            for lab in rng.sample(self._labs, k=rng.randint(2, 4)):
                add(lab, day)
            if self._nursing and rng.random() < 0.4:
                add(rng.choice(self._nursing), day)
        if self._acts and rng.random() < 0.15:
            add(rng.choice(self._acts), rng.randint(1, last))
        if self._physio and rng.random() < 0.05:
            start = rng.randint(1, max(1, last - 14))
            for session in range(3):
                add(self._physio[0], start + 7 * session)
        return lines
