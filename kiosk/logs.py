"""The kiosk's logs: rotated files under KIOSK_HOME/logs, plain or JSON lines, redacted.

The code never logs a PIN, a key, a NIR or health data. Redaction is a second line of
defence: anything shaped like a NIR, an e-mail address or a phone number is masked before it
reaches a file, in the message, the traceback (chained exceptions included) and the stack.
The filter masks the record itself, for every handler after it; the formatters mask again
what they write, for a handler that has no filter. The folder is 0700, the files 0600.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import os
import re
from pathlib import Path
from typing import Any

__all__ = [
    "JsonFormatter",
    "RedactingFilter",
    "RedactingFormatter",
    "redact",
    "redact_every_handler",
    "setup_logging",
]

_SEP = r"[\s.-]?"  # a space (also non-breaking), a dot or a dash between the groups
_PATTERNS = (
    # NIR: sex or kind first (1/2; 3/4 provisional, for foreigners; 7/8 temporary numbers;
    # 5/6 masked as well, it costs nothing), year, month, department (2A/2B: Corsica),
    # commune, order, and the 2-digit key or not. Digits only around it: "nir_1850..." too.
    re.compile(
        rf"(?<!\d)[1-8]{_SEP}\d{{2}}{_SEP}\d{{2}}{_SEP}(?:\d{{2}}|2[ABab]){_SEP}"
        rf"\d{{3}}{_SEP}\d{{3}}(?:{_SEP}\d{{2}})?(?!\d)"
    ),
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),  # e-mail
    re.compile(r"(?:\+33\s?|\b0)[67](?:[\s.-]?\d{2}){4}\b"),  # French mobile
)

# Beside the settings' modes, not imported from them: settings and logs are siblings.
_FOLDER_MODE = 0o700
_FILE_MODE = 0o600
_ERROR_TYPE = "redacted_error_type"  # the exception's type, kept once exc_info is dropped


def redact(text: str) -> str:
    """Mask what looks like personal data."""
    for pattern in _PATTERNS:
        text = pattern.sub("[masqué]", text)
    return text


def _error_type(record: logging.LogRecord) -> str | None:
    if record.exc_info and record.exc_info[0] is not None:
        return record.exc_info[0].__name__
    name = getattr(record, _ERROR_TYPE, None)
    return name if isinstance(name, str) else None


class RedactingFilter(logging.Filter):
    """Masks personal-looking data in every record: message, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info and record.exc_info[0] is not None:
            # A traceback quotes values (a validation error shows its input): rendered once
            # (chained causes included), masked, and the exception itself dropped so that no
            # later handler or formatter can render it again unmasked.
            setattr(record, _ERROR_TYPE, record.exc_info[0].__name__)
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:  # set by another handler first, or received without exc_info
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """A plain formatter whose every line is masked, on a handler with or without the filter."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, thread, message; with an error, its
    type and masked traceback; with a stack, the masked stack."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
            "message": redact(record.getMessage()),
        }
        error = _error_type(record)
        if error is not None:
            document["error"] = error
        traceback = record.exc_text
        if record.exc_info and record.exc_info[0] is not None and not traceback:
            traceback = self.formatException(record.exc_info)
        if traceback:
            document["traceback"] = redact(traceback)
        if record.stack_info:
            document["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(document, ensure_ascii=False)


def _private_opener(path: str, flags: int) -> int:
    fd = os.open(path, flags, _FILE_MODE)
    with contextlib.suppress(OSError):  # not ours: `kiosk doctor` says so
        os.fchmod(fd, _FILE_MODE)  # a file left looser by an older version is tightened
    return fd


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Every file it opens (the first, and each after a rollover) is 0600."""

    def _open(self) -> Any:
        return open(  # noqa: SIM115 (the handler owns and closes the stream)
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=_private_opener,
        )


def setup_logging(
    home: Path,
    *,
    json_lines: bool = False,
    level: int = logging.INFO,
    max_bytes: int = 5_000_000,
    backups: int = 5,
) -> Path:
    """Log to KIOSK_HOME/logs/kiosk.log (rotated); returns the file's path."""
    folder = home / "logs"
    for made in (home, folder):
        made.mkdir(mode=_FOLDER_MODE, parents=True, exist_ok=True)
        if made.stat().st_mode & 0o077:
            with contextlib.suppress(OSError):  # not ours: `kiosk doctor` says so
                made.chmod(_FOLDER_MODE)  # left looser by an older version
    path = folder / "kiosk.log"
    handler = _PrivateRotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else RedactingFormatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(handler)
    redact_every_handler()
    return path


def redact_every_handler() -> None:
    """Mask personal data on every handler of the root logger, not only the file's: the
    command line's stderr handler ends up in journald under systemd."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
        if not isinstance(handler.formatter, (RedactingFormatter, JsonFormatter)):
            fmt = handler.formatter._fmt if handler.formatter is not None else None
            handler.setFormatter(RedactingFormatter(fmt))
