"""Kiosk logs: rotated, JSON lines on demand, personal-looking data masked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.logs import redact, setup_logging


@pytest.fixture
def clean_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_redaction_masks_nir_email_and_mobile() -> None:
    line = redact("NIR 279035121518989 / 2 79 03 51 215 189 89, jeanne@example.org, 06 12 34 56 78")
    assert "279035121518989" not in line and "189 89" not in line
    assert "example.org" not in line and "34 56" not in line
    assert line.count("[masqué]") == 4


def test_json_lines_rotated_and_redacted(tmp_path: Path, clean_root: None) -> None:
    path = setup_logging(tmp_path, json_lines=True, max_bytes=2_000, backups=2)
    log = logging.getLogger("kiosk.test")
    for i in range(60):
        log.info("action %d queued for %s", i, "279035121518989")
    try:
        raise ValueError("279035121518989")
    except ValueError:
        log.exception("failed")
    lines = path.read_text(encoding="utf-8").splitlines()
    documents = [json.loads(line) for line in lines]
    assert documents[-1]["error"] == "ValueError" and documents[-1]["message"] == "failed"
    assert all(set(d) >= {"time", "level", "logger", "thread", "message"} for d in documents)
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == [
        "kiosk.log",
        "kiosk.log.1",
        "kiosk.log.2",
    ]
    for file in (tmp_path / "logs").iterdir():
        assert "279035121518989" not in file.read_text(encoding="utf-8")


def test_a_traceback_in_plain_lines_is_masked_too(tmp_path: Path, clean_root: None) -> None:
    """A validation error quotes its input: a NIR in a traceback is masked like a message."""
    from dmpcommon.actions import CardTraits

    path = setup_logging(tmp_path)
    try:
        CardTraits(nom="MARTIN", prenom="LEO", birth_date="2015-06-30", nir="180017505609907")
    except ValueError:
        logging.getLogger("kiosk.test").exception("workflow command failed")
    text = path.read_text(encoding="utf-8")
    assert "ValidationError" in text and "nir_key" in text  # the traceback is there
    assert "180017505609907" not in text and "[masqué]" in text
