"""The kiosk's logs: rotated files under KIOSK_HOME/logs, plain or JSON lines, redacted.

The code never logs a PIN, a key, a NIR or health data. The redaction filter is a second
line of defence: anything shaped like a NIR, an e-mail address or a phone number is masked
before it reaches a file.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
from pathlib import Path

__all__ = ["JsonFormatter", "RedactingFilter", "setup_logging"]

_PATTERNS = (
    re.compile(r"\b[12]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[ABab])\s?\d{3}\s?\d{3}(?:\s?\d{2})?\b"),  # NIR
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),  # e-mail
    re.compile(r"(?:\+33\s?|\b0)[67](?:[\s.-]?\d{2}){4}\b"),  # French mobile
)


def redact(text: str) -> str:
    """Mask what looks like personal data."""
    for pattern in _PATTERNS:
        text = pattern.sub("[masqué]", text)
    return text


class RedactingFilter(logging.Filter):
    """Masks personal-looking data in every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info and record.exc_info[0] is not None:
            # A traceback quotes values (a validation error shows its input): masked too,
            # even when another handler formatted it first.
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, thread, message (and error type)."""

    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            document["error"] = record.exc_info[0].__name__  # the type, not the values
        return json.dumps(document, ensure_ascii=False)


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
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kiosk.log"
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(handler)
    return path
