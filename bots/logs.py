"""Logging setup: named loggers under `okno`, text or JSON lines on stderr, personal data masked."""

from __future__ import annotations

import json
import logging
import sys

from dialog.personal_data import mask_text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class PersonalDataFilter(logging.Filter):
    """A СНИЛС, a phone, a card number or a code a citizen wrote never reaches a log line, at any level:
    the message is formatted with its arguments and masked before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format string: logging reports it itself
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def setup_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger("okno")
    root.handlers[:] = [handler]
    root.setLevel(level)
    for other in logging.getLogger().handlers:  # libraries' records that reach the root's handlers too
        if not any(isinstance(f, PersonalDataFilter) for f in other.filters):
            other.addFilter(PersonalDataFilter())
