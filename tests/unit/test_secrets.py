"""Passwords and codes: masked wherever they appear, warned about before anything else happens."""

from __future__ import annotations

import pytest

from dialog.engine import ConversationEngine
from dialog.messages import Action, InboundMessage, OpenTicket, RelayToTicket
from dialog.secrets import MASK, mask, mask_payload, offers_secret
from dialog.state import ConversationState

WARNING = "Не сообщайте пароль и коды из СМС никому"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("вот код 123456", "123456"),
        ("код из смс: 48-21-90, что дальше?", "48-21-90"),
        ("4821 — код из смс, куда его вводить", "4821"),
        ("мой пароль Qwerty123", "Qwerty123"),
        ("пароль от госуслуг такой: kotik_2020!", "kotik_2020!"),
        ("Пароль — Vasya1975. Проверьте, почему не пускает", "Vasya1975."),
    ],
)
def test_a_secret_is_masked(text: str, secret: str) -> None:
    assert secret not in mask(text) and MASK in mask(text)
    assert offers_secret(text)


@pytest.mark.parametrize(
    "text",
    [
        "не приходит код из смс",
        "забыл пароль от госуслуг",
        "код ошибки 500 при входе",
        "код подразделения 770-001 в паспорте",
        "номер заявления 123456789",
        "пароль должен быть не короче 8 символов?",
        "звоню на 8 800 555 35 35 и не могу дозвониться",
        "смс пришло через 5 минут",
    ],
)
def test_ordinary_questions_are_left_alone(text: str) -> None:
    assert mask(text) == text
    assert not offers_secret(text)


@pytest.mark.parametrize("text", ["скажу вам пароль, только помогите", "могу продиктовать код подтверждения"])
def test_an_offer_to_tell_a_secret_is_warned_about(text: str) -> None:
    assert offers_secret(text)


def test_a_platform_update_is_masked_in_every_string() -> None:
    update = {"message": {"text": "вот код 123456", "caption": ["пароль: Abc12345"], "chat": {"id": 5}}}
    masked = mask_payload(update)
    assert "123456" not in str(masked) and "Abc12345" not in str(masked)
    assert masked["message"]["chat"] == {"id": 5}


def message(text: str) -> InboundMessage:
    return InboundMessage("test", "1", "1", text)


def test_the_warning_comes_before_any_answer(engine: ConversationEngine) -> None:
    turn = engine.handle(message("не могу войти, вот мой пароль Qwerty123"), ConversationState())
    assert len(turn.replies) == 1 and WARNING in turn.replies[0].text
    assert turn.decision.action is Action.FALLBACK and turn.decision.intent == "secret"
    assert not turn.effects


def test_an_operator_gets_the_message_with_the_secret_masked(engine: ConversationEngine) -> None:
    state = ConversationState(handed_off="explicit_request")
    turn = engine.handle(message("код пришёл 551234, что с ним делать?"), state)
    assert WARNING in turn.replies[0].text
    relay = [e for e in turn.effects if isinstance(e, RelayToTicket)]
    assert len(relay) == 1 and "551234" not in relay[0].text and MASK in relay[0].text


def test_a_handoff_description_keeps_its_words_but_not_the_secret(engine: ConversationEngine) -> None:
    state = ConversationState()
    for text in ("позовите оператора", "Иванов Иван Иванович", "пропустить", "пропустить", "пропустить"):
        state = engine.handle(message(text), state).state
        if state.intake is None:
            break
    turn = engine.handle(message("не пускает в кабинет, пароль Zxcv9876, номер заявления нет"), state)
    assert WARNING in turn.replies[0].text
    tickets = [e for e in turn.effects if isinstance(e, OpenTicket)]
    assert len(tickets) == 1  # the identification ended as usual, with the secret masked
    assert "Zxcv9876" not in tickets[0].description and MASK in tickets[0].description
    assert "не пускает в кабинет" in tickets[0].description
