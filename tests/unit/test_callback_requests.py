"""A citizen asking to be called back is recognized in many words, and not confused with questions
about calls: the hotline, its cost, callbacks in the mobile app, a call that never came, impostors."""

from __future__ import annotations

import pytest

from dialog.classifier import Classifier
from dialog.messages import Action

CALLBACK = "callback_request"


@pytest.mark.parametrize(
    "text",
    [
        "перезвоните мне",
        "можно обратный звонок?",
        "позвоните мне пожалуйста",
        "Будьте добры, перезвоните",
        "позвоните мне на мобильный после шести",
        "мне неудобно печатать, позвоните мне",
        "наберите меня, так быстрее объясню",
        "Прошу перезвонить мне по вопросу моего заявления",
        "нужен обратный звонок",
        "обратный звонок пожалуйста",
        "хочу, чтобы мне позвонил специалист",
        "пусть оператор мне перезвонит",
        "свяжитесь со мной по телефону",
        "давайте созвонимся",
        "звякните мне плиз",
        "а можете перезвонить вечером?",
        "можете мне позвонить?",
        "Прошу организовать обратный звонок специалиста",
        "я пожилой человек, мне проще по телефону поговорить со специалистом",
        "вот мой номер 89123456789, перезвоните",
        "оставлю номер, позвоните",
        "голосом объяснить проще, оператор может набрать?",
        "как заказать обратный звонок?",  # asked of the bot, which can order one
        # typos, translit, the wrong keyboard layout, English
        "перзвоните мне",
        "perezvonite mne pozhaluysta",
        "gthtpdjybnt vyt",
        "call me back please",
        # a story that ends with the request
        "Здравствуйте. Третий день не могу подать заявление на пособие, система выдаёт ошибку при "
        "отправке, я уже всё перепробовала. Перезвоните мне, пожалуйста, так будет проще.",
    ],
)
def test_a_request_to_be_called_back_is_recognized(classifier: Classifier, text: str) -> None:
    decision = classifier.classify(text)
    assert (decision.action, decision.rule) == (Action.HANDOFF, CALLBACK), decision


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("можно ли в мобильном приложении заказать обратный звонок", "mobile_app"),
        ("в приложухе есть обратный звонок?", "mobile_app"),
        ("как позвонить в поддержку из-за границы", "call_from_abroad"),
        ("позвонить вам бесплатно?", "call_cost"),
        ("номер горячей линии", "hotline_phone"),
        ("мне позвонил человек и попросил перезвонить на другой номер, это мошенники?", "fraud_protection"),
        ("Обратная связь не работает", "feedback_form"),
    ],
)
def test_a_question_about_calls_is_answered_not_taken_for_a_callback(
    classifier: Classifier, text: str, topic: str
) -> None:
    decision = classifier.classify(text)
    assert decision.rule != CALLBACK, decision
    assert topic in (decision.topic, *decision.candidates), decision


@pytest.mark.parametrize(
    "text",
    [
        "когда мне перезвонят?",
        "обещали перезвонить и не перезвонили",
        "заказала обратный звонок вчера, а никто не позвонил",
        "на горячей линии сказали перезвоните позже, что делать",
        "спасибо, что перезвонили",
        "можно мне вам позвонить?",
        "как позвонить на горячую линию",
    ],
)
def test_talk_about_calls_is_not_a_callback_request(classifier: Classifier, text: str) -> None:
    decision = classifier.classify(text)
    assert decision.rule != CALLBACK, decision


def test_a_callback_outranks_a_request_for_a_person_in_the_chat(classifier: Classifier) -> None:
    decision = classifier.classify("соедините с оператором, пусть он мне перезвонит")
    assert decision.rule == CALLBACK
    assert classifier.classify("соедините с оператором").rule == "explicit_request"
