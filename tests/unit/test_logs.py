"""Kiosk logs: rotated, JSON lines on demand, personal-looking data masked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.logs import redact, redact_every_handler, setup_logging


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


# Every NIR shape: sex 1/2, provisional 3/4 (foreigners), temporary 7/8; Corsica 2A/2B;
# with or without spaces; with or without the key.
NIR_SHAPES = [
    "185057800604836",
    "1850578006048",
    "285052A00604836",
    "2 85 05 2B 006 048 36",
    "385059912345678",
    "3 85 05 99 123 456",
    "485057800604836",
    "785057800604836",
    "7 85 05 78 006 048",
    "885052a00604836",
    "8 85 05 78 006 048 36",
    "1\u00a085\u00a005\u00a078\u00a0006\u00a0048\u00a036",
]


@pytest.mark.parametrize("nir", NIR_SHAPES)
def test_every_nir_shape_is_masked(nir: str) -> None:
    for text in (f"NIR {nir}.", f"nir={nir}", f"nir_{nir}", f"'{nir}'"):
        line = redact(text)
        assert "[masqué]" in line, text
        assert "006" not in line and "123" not in line, text


def test_what_is_not_a_nir_stays() -> None:
    """Sequence numbers, years, a 14-digit figure and a 20-digit hash keep their digits."""
    text = "action n° 12345, 2026, 12345678901234, 12345678901234567890"
    assert redact(text) == text


def _failure_with_a_chain() -> None:
    try:
        raise KeyError("385059912345678")
    except KeyError as exc:
        raise ValueError("lookup failed for 7 85 05 78 006 048") from exc


def _records(**extra: object) -> logging.LogRecord:
    try:
        _failure_with_a_chain()
    except ValueError:
        import sys

        record = logging.getLogger("kiosk.test").makeRecord(
            "kiosk.test",
            logging.ERROR,
            __file__,
            1,
            "failed for %s",
            ("485057800604836",),
            sys.exc_info(),
            sinfo="Stack (most recent call last):\n  nir = '885052A00604836'",
        )
    for name, value in extra.items():
        setattr(record, name, value)
    return record


_SECRETS = ("12345678", "006 048", "8006048", "00604836", "2A00604836")


def _clean(text: str) -> bool:
    return not any(secret in text for secret in _SECRETS)


@pytest.mark.parametrize("json_lines", [False, True])
def test_a_chained_traceback_and_stack_are_masked_in_the_file(
    tmp_path: Path, clean_root: None, json_lines: bool
) -> None:
    path = setup_logging(tmp_path, json_lines=json_lines)
    log = logging.getLogger("kiosk.test")
    try:
        _failure_with_a_chain()
    except ValueError:
        log.exception("failed for %s", "485057800604836", stack_info=True)
    text = path.read_text(encoding="utf-8")
    assert "KeyError" in text and "ValueError" in text and "Stack" in text
    assert _clean(text), text


def test_the_json_formatter_masks_on_its_own() -> None:
    """Used on a handler without the filter, the JSON lines are still masked, the traceback
    and stack included."""
    from kiosk.logs import JsonFormatter

    document = json.loads(JsonFormatter().format(_records()))
    assert document["error"] == "ValueError"
    assert "KeyError" in document["traceback"] and "Stack" in document["stack"]
    assert _clean(json.dumps(document, ensure_ascii=False)), document


def test_a_traceback_formatted_before_the_filter_is_masked() -> None:
    """Another handler formatted the record first (exc_text is set), or the record came
    without exc_info (a socket handler's): the text it carries is masked."""
    from kiosk.logs import RedactingFilter

    first = _records()
    logging.Formatter().format(first)  # sets exc_text, unmasked
    assert not _clean(first.exc_text or "")
    RedactingFilter().filter(first)
    assert _clean(logging.Formatter().format(first))
    remote = _records()
    remote.exc_text = logging.Formatter().formatException(remote.exc_info)  # type: ignore[arg-type]
    remote.exc_info = None
    RedactingFilter().filter(remote)
    assert _clean(logging.Formatter().format(remote))


def test_a_handler_that_formats_the_exception_itself_sees_it_masked() -> None:
    """After the filter, a later handler cannot print the raw exception: exc_info holds no
    more than the text already masked."""
    import traceback

    from kiosk.logs import RedactingFilter

    record = _records()
    RedactingFilter().filter(record)
    shown = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
    assert _clean(shown + (record.exc_text or "") + (record.stack_info or ""))
    assert "ValueError" in (record.exc_text or "")
    assert _clean(logging.Formatter("%(message)s").format(record))


def test_the_plain_formatter_masks_on_its_own() -> None:
    from kiosk.logs import RedactingFormatter

    assert _clean(RedactingFormatter("%(message)s").format(_records()))


def test_the_logs_are_private(tmp_path: Path, clean_root: None) -> None:
    """The folder 0700, every file 0600 (rotated ones too), whatever the umask; a folder and
    a file left looser by an older version are tightened."""
    import os
    import stat

    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (home / "logs").chmod(0o755)
    (home / "logs" / "kiosk.log").write_text("old\n", encoding="utf-8")
    (home / "logs" / "kiosk.log").chmod(0o644)
    previous = os.umask(0o002)
    try:
        path = setup_logging(home, max_bytes=500, backups=2)
        for i in range(40):
            logging.getLogger("kiosk.test").warning("line %d", i)
    finally:
        os.umask(previous)

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(home) == 0o700 and mode(path.parent) == 0o700
    files = sorted(path.parent.iterdir())
    assert [p.name for p in files] == ["kiosk.log", "kiosk.log.1", "kiosk.log.2"]
    assert all(mode(p) == 0o600 for p in files), [oct(mode(p)) for p in files]


def test_every_handler_of_the_root_logger_is_masked(clean_root: None) -> None:
    """The command line's stderr handler (basicConfig) ends up in journald: masked too."""
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    redact_every_handler()
    redact_every_handler()  # twice changes nothing
    try:
        raise ValueError("2 79 03 51 215 189 89")
    except ValueError:
        logging.getLogger("kiosk.test").exception("carte 279035121518989, jeanne@example.org")
    text = stream.getvalue()
    assert "279035121518989" not in text and "jeanne@example.org" not in text
    assert "2 79 03 51 215 189 89" not in text
    assert text.startswith("ERROR ") and text.count("[masqué]") >= 3
    assert len([f for f in handler.filters if f.__class__.__name__ == "RedactingFilter"]) == 1
