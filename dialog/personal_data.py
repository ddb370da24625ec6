"""Personal data in free text: found wherever a citizen wrote it, and masked for those who must not see it.

One detector for every place that shows or keeps a citizen's words — the web inbox for plain
operators, the operators' Telegram group, the logs: СНИЛС, passport series and number, phone
numbers, e-mail addresses, bank card numbers, passwords and confirmation codes. A masked value
keeps enough to recognise it when the citizen reads it out («***-***-445 95», «+7 *** ***-**-67»).

Numbers are checked before they are taken: a СНИЛС by its control number, a card by Luhn, a phone
by its length and prefix, a bare passport number only after the words «паспорт» or «серия». So
ticket numbers («10427-3»), dates, sums of money and the contact center's own toll-free
line («8 800 555-35-35») stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from dialog.identification import SNILS_CHECKED_FROM, full_name, phone, snils
from dialog.identification import mask as mask_identity
from dialog.secrets import secret_spans

SECRET = "***"


@dataclass(frozen=True, slots=True)
class Found:
    kind: str  # snils, passport, phone, email, card, secret
    start: int
    end: int
    masked: str


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-zА-Яа-яЁё]{2,}(?![\w-])")
_CARD = re.compile(
    r"(?<![\d-])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{4,5})(?![\d-])"
)
_SNILS = re.compile(r"(?<![\d-])\d{3}[ \t-]?\d{3}[ \t-]?\d{3}[ \t-]{0,3}\d{2}(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+-])(?:(?:\+\s?7|8|7)[\s-]*\(?\s*\d{3}\s*\)?|\(?9\d{2}\)?)"
    r"[\s-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?![\d-])"
)
_PASSPORT_SPACED = re.compile(r"(?<![\d-])(?:\d{2}[ \t]\d{2}[ \t]?|\d{4}[ \t]+)(?:№\s*)?\d{6}(?![\d-])")
_PASSPORT_WORDS = re.compile(
    r"(?:паспорт|сери[яию])[а-яё]*\D{0,25}?"
    r"(?P<value>(?<![\d-])\d{2}[ \t]?\d{2}\D{0,12}?\d{6})(?![\d-])",
    re.IGNORECASE,
)
_PHONE_WORD = re.compile(r"тел|номер\s+моб|мобил|звон|whatsapp|ватсап|вотсап|связ", re.IGNORECASE)
_SNILS_WORD = re.compile(r"снилс|страхов", re.IGNORECASE)
_DIGIT_OR_AT = re.compile(r"\d|@|парол", re.IGNORECASE)


def find(text: str) -> list[Found]:
    """Every piece of personal data in the text, in order, none overlapping another."""
    if not _DIGIT_OR_AT.search(text):
        return []
    found: list[Found] = []
    for finder in _FINDERS:
        for item in finder(text):
            if not any(item.start < f.end and f.start < item.end for f in found):
                found.append(item)
    return sorted(found, key=lambda f: f.start)


def mask_text(text: str) -> str:
    """The text with every piece of personal data masked."""
    for item in reversed(find(text)):
        text = text[: item.start] + item.masked + text[item.end :]
    return text


def mask_answer(text: str, identification: Mapping[str, str]) -> str:
    """A citizen's message as a plain operator sees it: an identification answer (the ФИО too) masked like
    the card shows it, and any personal data within other words masked by the detector."""
    for kind, check in _ANSWERS.items():
        value = identification.get(kind)
        if value and check(text) == value:
            return mask_identity(kind, value)
    return mask_text(text)


_ANSWERS: dict[str, Callable[[str], str | None]] = {"full_name": full_name, "snils": snils, "phone": phone}


def _emails(text: str) -> Iterator[Found]:
    for m in _EMAIL.finditer(text):
        local, _, domain = m.group(0).partition("@")
        yield Found("email", *m.span(), f"{local[0]}***@{domain}")


def _cards(text: str) -> Iterator[Found]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            yield Found("card", *m.span(), "**** " + digits[-4:])


def _passports_by_word(text: str) -> Iterator[Found]:
    for m in _PASSPORT_WORDS.finditer(text):
        digits = re.sub(r"\D", "", m.group("value"))
        yield Found("passport", *m.span("value"), _passport_mask(digits))


def _snilses(text: str) -> Iterator[Found]:
    for m in _SNILS.finditer(text):
        if is_snils(m.group(0), text[max(0, m.start() - 40) : m.start()]):
            yield Found("snils", *m.span(), mask_identity("snils", snils(m.group(0)) or ""))


def _phones(text: str) -> Iterator[Found]:
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if m.group(0).isdigit() and len(digits) == 10 and not _PHONE_WORD.search(text[: m.start()][-40:]):
            continue  # ten bare digits may well be an application's number: a phone only if called one
        digits = digits[1:] if len(digits) == 11 else digits
        if len(digits) == 10 and not digits.startswith("800"):  # 8 800: toll-free lines of organizations
            yield Found("phone", *m.span(), mask_identity("phone", "+7" + digits))


def _passports_spaced(text: str) -> Iterator[Found]:
    for m in _PASSPORT_SPACED.finditer(text):
        yield Found("passport", *m.span(), _passport_mask(re.sub(r"\D", "", m.group(0))))


def _secrets(text: str) -> Iterator[Found]:
    for start, end in secret_spans(text):
        yield Found("secret", start, end, SECRET)


_FINDERS: tuple[Callable[[str], Iterator[Found]], ...] = (
    _emails,
    _cards,
    _passports_by_word,
    _snilses,
    _phones,
    _passports_spaced,
    _secrets,
)


def is_snils(written: str, before: str = "") -> bool:
    """Eleven digits with the right control number; one that could be a phone («8 9…»), or one from before
    control numbers, only right after the word СНИЛС."""
    digits = re.sub(r"\D", "", written)
    if len(digits) != 11 or snils(written) is None:
        return False
    doubtful = int(digits[:9]) <= SNILS_CHECKED_FROM or phone(digits) is not None
    return not doubtful or _SNILS_WORD.search(before) is not None


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _passport_mask(digits: str) -> str:
    return "** ** ***" + digits[-3:]
