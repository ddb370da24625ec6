"""What the conversation needs to know about tickets: their numbers, files operators accept, ratings."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dialog import texts
from dialog.messages import RECORDINGS, Attachment, AttachmentKind, Button
from dialog.normalize import clean

_NUMBER = re.compile(r"(?<![\d-])(\d{4,10})\s?[-‐–—]\s?(\d)(?![\d-])")
_TICKET_WORDS = re.compile(r"обращени|тикет", re.IGNORECASE)
_REMAINS = re.compile(
    r"не решен|не решил|не помог|не исправ|не устранен|не сделал|остал(ась|ся|ось|ись)|сохраняет|"
    r"\bснова\b|\bопять\b|\bвсе еще\b|\bдо сих пор\b|по-прежнему|по прежнему|так и не|ничего не измен"
)
_SIZE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(КБ|МБ|ГБ)", re.IGNORECASE)
_UNITS = {"кб": 1024, "мб": 1024**2, "гб": 1024**3}
_FORMATS = {"JPEG": ("image/jpeg", "image/jpg"), "PNG": ("image/png",), "PDF": ("application/pdf",)}
_IMAGE_MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
IMAGE_TYPES = tuple(_IMAGE_MAGIC.values())
VOICE_SECONDS = 180  # the longest recording passed to an operator: a message, not a phone call
VOICE_LIMIT = "3 минут"  # said as «до 3 минут»


def image_type(data: bytes) -> str | None:
    """JPEG or PNG by the file's first bytes, not by what a browser claims; None for anything else."""
    return next((mime for magic, mime in _IMAGE_MAGIC.items() if data.startswith(magic)), None)


def ticket_number(sequence: int) -> str:
    """«10427-3»: the sequence and a Luhn check digit, so a mistyped number is not someone else's."""
    if sequence < 0:
        raise ValueError("sequence must not be negative")
    digits = str(sequence)
    return f"{digits}-{_luhn_digit(digits)}"


def parse_ticket_number(text: str) -> int | None:
    """The sequence of a number as a citizen types it («№ 10427-3», «104273»), if it checks out."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 2:
        return None
    body, check = digits[:-1], int(digits[-1])
    return int(body) if _luhn_digit(body) == check else None


def find_ticket_number(text: str) -> str | None:
    """A valid ticket number in a message about a ticket («статус обращения 10427-3», «№10427-3»)."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    number = f"{match.group(1)}-{match.group(2)}"
    if _TICKET_WORDS.search(text):  # «статус обращения …»: even a mistyped number gets an answer
        return number
    rest = (text[: match.start()] + text[match.end() :]).strip(" №#.?!")
    # a bare number is a query only if it checks out; inside other words it is something else
    return number if not rest and parse_ticket_number(number) is not None else None


def problem_remains(text: str) -> bool:
    """«проблема осталась», «опять не работает»: said after a resolution, the ticket should come back."""
    return _REMAINS.search(clean(text)) is not None


def _luhn_digit(digits: str) -> int:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def rating_buttons() -> tuple[Button, ...]:
    return (*(Button(f"rate:{n}", str(n)) for n in range(1, 6)), Button("rate:skip", texts.BUTTON_SKIP))


@dataclass(frozen=True, slots=True)
class AttachmentPolicy:
    """Which files a citizen may pass to an operator, from the facts («JPEG или PNG», «2 МБ»), and
    how long a recording may be."""

    mime_types: frozenset[str]
    max_bytes: int
    formats: str
    limit: str
    voice_seconds: int = VOICE_SECONDS
    voice_limit: str = VOICE_LIMIT

    @classmethod
    def from_facts(cls, facts: Mapping[str, str]) -> AttachmentPolicy:
        formats = facts.get("upload_formats", "JPEG или PNG")
        limit = facts.get("upload_limit", "2 МБ")
        mimes = {m for name, found in _FORMATS.items() if name in formats.upper() for m in found}
        size = _SIZE.search(limit)
        max_bytes = int(float(size.group(1).replace(",", ".")) * _UNITS[size.group(2).lower()]) if size else 0
        return cls(frozenset(mimes), max_bytes, formats, limit)

    def split(self, attachments: Sequence[Attachment]) -> tuple[tuple[Attachment, ...], list[str]]:
        """The files to pass on, and a reply for each one refused."""
        accepted, refusals = [], []
        for item in attachments:
            refusal = self._refusal(item)
            if refusal is None:
                accepted.append(item)
            else:
                refusals.append(refusal)
        return tuple(accepted), refusals

    def _refusal(self, item: Attachment) -> str | None:
        if item.ref is None or item.kind not in (AttachmentKind.PHOTO, AttachmentKind.DOCUMENT, *RECORDINGS):
            return texts.ATTACHMENT_KIND_REFUSED.format(
                voice=self.voice_limit, formats=self.formats, limit=self.limit
            )
        if item.kind in RECORDINGS:  # what an operator listens to: its length is what matters
            too_long = (item.duration or 0) > self.voice_seconds
            return texts.VOICE_REFUSED.format(voice=self.voice_limit) if too_long else None
        if (item.mime_type or "").lower() not in self.mime_types or (item.size or 0) > self.max_bytes:
            name = item.name or ("фото" if item.kind is AttachmentKind.PHOTO else "файл")
            return texts.ATTACHMENT_REFUSED.format(name=name, formats=self.formats, limit=self.limit)
        return None
