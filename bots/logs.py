"""Logging setup: named loggers under `okno`, text or JSON lines on stderr, personal data masked."""

from __future__ import annotations

import json
import logging
import sys
from types import TracebackType
from typing import TypeAlias

from dialog.personal_data import mask_text

ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_PLAIN = logging.Formatter()


class MaskingFormatter(logging.Formatter):
    """Every line it gives is masked: the message, an exception's traceback (its text may quote what a
    citizen wrote, or an SQL parameter) and a stack."""

    def formatException(self, ei: ExcInfo) -> str:
        return mask_text(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return mask_text(super().formatStack(stack_info))

    def format(self, record: logging.LogRecord) -> str:
        # a traceback another handler's formatter cached on the record (exc_text) is masked here too
        return mask_text(super().format(record))


class JsonFormatter(MaskingFormatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False)


class PersonalDataFilter(logging.Filter):
    """A СНИЛС, a phone, a card number or a code a citizen wrote never reaches a log line, at any level:
    the message is formatted with its arguments and masked before a handler writes it, and so are an
    exception's traceback and a stack, for the handlers whose formatters are not ours (libraries')."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:  # formatters use the cached text when it is set
            record.exc_text = mask_text(_PLAIN.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
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
    handler.setFormatter(JsonFormatter() if fmt == "json" else MaskingFormatter(TEXT_FORMAT))
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger("okno")
    root.handlers[:] = [handler]
    root.setLevel(level)
    for other in logging.getLogger().handlers:  # libraries' records that reach the root's handlers too
        if not any(isinstance(f, PersonalDataFilter) for f in other.filters):
            other.addFilter(PersonalDataFilter())
