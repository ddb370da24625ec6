"""Identification data a citizen gives before a handoff: checks, normalization and hints.

Each check returns the value in its canonical form, or None; `HINTS` says in Russian
what was wrong, so the bot can ask again precisely.
"""

from __future__ import annotations

import re

HINTS = {
    "full_name": (
        "Напишите, пожалуйста, фамилию, имя и отчество (если есть) русскими буквами, "
        "например: Иванов Иван Иванович."
    ),
    "snils": "СНИЛС — это 11 цифр, например 112-233-445 95. Проверьте номер: контрольное число не сходится.",
    "phone": "Укажите российский мобильный номер: 10 цифр после +7 или 8, например +7 912 345-67-89.",
    "application_number": "Номер заявления — от 5 до 30 цифр и букв, иногда с дефисами.",
}

_NAME_PART = re.compile(r"^[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)*$")
_APPLICATION = re.compile(r"^[0-9A-Za-zА-Яа-я][0-9A-Za-zА-Яа-я/-]{3,28}[0-9A-Za-zА-Яа-я]$")
SNILS_CHECKED_FROM = 1_001_998  # numbers up to 001-001-998 were issued before checksums


def full_name(text: str) -> str | None:
    """«иванов иван» → «Иванов Иван»; two to four Cyrillic words, double surnames allowed."""
    words = ["-".join(part.capitalize() for part in word.split("-")) for word in text.split()]
    if not 2 <= len(words) <= 4 or not all(_NAME_PART.match(w) for w in words):
        return None
    return " ".join(words)


def snils(text: str) -> str | None:
    """Eleven digits whose last two are the checksum; returned as «XXX-XXX-XXX YY»."""
    digits = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(r"\d{11}", digits):
        return None
    number, check = int(digits[:9]), int(digits[9:])
    if number > SNILS_CHECKED_FROM and snils_checksum(digits[:9]) != check:
        return None
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"


def snils_checksum(first_nine: str) -> int:
    """The control number: digits weighted 9…1, summed, then brought under 100 by 101."""
    total = sum(int(d) * weight for d, weight in zip(first_nine, range(9, 0, -1), strict=True))
    if total < 100:
        return total
    if total in (100, 101):
        return 0
    remainder = total % 101
    return 0 if remainder == 100 else remainder


def phone(text: str) -> str | None:
    """Any usual way of writing a Russian mobile number → «+79123456789»."""
    digits = re.sub(r"\D", "", text)
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] != "9":
        return None
    return "+7" + digits


def snils_key(text: str) -> str | None:
    """The eleven digits of a valid СНИЛС: one number, however it was written."""
    normalized = snils(text)
    return None if normalized is None else re.sub(r"\D", "", normalized)


def display_phone(value: str) -> str:
    """«+79123456789» → «+7 912 345-67-89», easy to read out and dial."""
    digits = re.sub(r"\D", "", value)
    if len(digits) != 11:
        return value
    return f"+7 {digits[1:4]} {digits[4:7]}-{digits[7:9]}-{digits[9:]}"


def application_number(text: str) -> str | None:
    value = text.strip().strip("№#").strip()
    return value if _APPLICATION.match(value) and any(c.isdigit() for c in value) else None


def mask(kind: str, value: str) -> str:
    """What an operator without full access sees: enough to talk, not enough to misuse."""
    if kind == "snils":
        return "***-***-" + value[8:]
    if kind == "phone":
        return "+7 *** ***-**-" + value[-2:]
    if kind == "full_name":
        parts = value.split()
        return " ".join([parts[0], *(p[0] + "." for p in parts[1:])])
    return value
