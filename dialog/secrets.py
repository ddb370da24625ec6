"""Passwords and confirmation codes never travel: found in a message, masked before it is kept.

Support never needs a password or a code from an SMS; a citizen who offers one is warned,
and the secret itself is replaced before the message is stored, shown to an operator or
relayed anywhere.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "[скрыто]"

_NOT_SECRET_CODES = (
    r"ошибк|подразделени|стран|регион|оквэд|услуг|тнвэд|кбк|бик|инн|снилс|заявлен|обращени|"
    r"квитанц|платеж|плат[её]ж|полис|паспорт|индекс|района|города"
)
# «пароль: Qwerty1», «мой пароль — kot2020», «пароль от госуслуг такой 12345678»
_PASSWORD = re.compile(
    r"(?P<lead>\bпарол[а-яё]*(?:\s+(?:от|к|для)\s+[\w-]+)?(?:\s+(?:у\s+меня|мой|мне))?"
    r"(?:\s*(?:[:=]|—|–|-|\bэто\b|\bтакой\b|\bвот\b|\bбыл\b|\bстоит\b))+\s*)"
    r"(?P<secret>(?=[^\s,;]*[0-9a-zA-Z])[^\s,;]{3,})",
    re.IGNORECASE,
)
# «пароль Qwerty123» — no separator, but the word after it has digits or Latin letters
_PASSWORD_BARE = re.compile(
    r"(?P<lead>\b(?:мой\s+)?парол[а-яё]*\s+)(?P<secret>(?=[^\s,;]*[0-9a-z])[^\s,;]{4,})",
    re.IGNORECASE,
)
# «код 123456», «вот код из смс: 4821», «смс-код 12 34 56», «пришёл код 5521, что дальше»
_CODE = re.compile(
    r"(?P<lead>\b(?:код[а-яё]*|смс|sms|пин|pin|cvv|cvc)\b(?P<gap>[^\d\n]{0,30}?))"
    r"(?P<secret>(?<![\d-])\d(?:[\s-]?\d){3,7}(?![\d-]))",
    re.IGNORECASE,
)
# «123456 — код из смс»
_CODE_BEFORE = re.compile(
    r"(?P<secret>(?<![\d-])\d{4,8}(?![\d-]))(?P<tail>\s*(?:[-—–:]\s*)?(?:это\s+)?(?:код|смс|sms)\b)",
    re.IGNORECASE,
)
# Offering one without writing it: «скажу вам пароль», «могу продиктовать код»
_OFFER = re.compile(
    r"\b(?:скажу|сообщу|продиктую|назову|напишу|скину|пришлю|отправлю|дам|дать|сказать|сообщить|"
    r"продиктовать|назвать|написать|скинуть|прислать|отправить|передать|передам)\b"
    r"(?:\s+[а-яё]+){0,3}?\s+(?:мой\s+|свой\s+|вам\s+|тебе\s+)*(?:парол[а-яё]*|код[а-яё]*\s+из\s+смс|"
    r"смс[\s-]*код[а-яё]*|код[а-яё]*\s+подтвержд[а-яё]*|код[а-яё]*)\b",
    re.IGNORECASE,
)


# every secret pattern needs «парол» or a digit: a text with neither is left alone at once
_MAYBE_SECRET = re.compile(r"\d|парол", re.IGNORECASE)


def mask(text: str) -> str:
    """The text with every password and confirmation code replaced by MASK."""
    if _MAYBE_SECRET.search(text) is None:
        return text
    text = _PASSWORD.sub(lambda m: m.group("lead") + MASK, text)
    text = _PASSWORD_BARE.sub(lambda m: m.group("lead") + MASK, text)
    text = _CODE.sub(_code_mask, text)
    return _CODE_BEFORE.sub(lambda m: MASK + m.group("tail"), text)


def secret_spans(text: str) -> list[tuple[int, int]]:
    """Where the passwords and confirmation codes are in the text: (start, end) of each secret."""
    if _MAYBE_SECRET.search(text) is None:
        return []
    spans = [m.span("secret") for pattern in (_PASSWORD, _PASSWORD_BARE) for m in pattern.finditer(text)]
    spans += [m.span("secret") for m in _CODE.finditer(text) if _code_mask(m) != m.group(0)]
    return spans + [m.span("secret") for m in _CODE_BEFORE.finditer(text)]


def _code_mask(match: re.Match[str]) -> str:
    if re.search(_NOT_SECRET_CODES, match.group(0), re.IGNORECASE):
        return match.group(0)
    return match.group("lead") + MASK


def offers_secret(text: str) -> bool:
    """The message gives, or offers to give, a password or a code (masked or not)."""
    return MASK in text or mask(text) != text or _OFFER.search(text) is not None


def mask_payload(value: Any) -> Any:
    """Every string inside a platform update (dicts and lists walked through) masked."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: mask_payload(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_payload(item) for item in value]
    return value
