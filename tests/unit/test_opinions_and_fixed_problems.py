"""Opinions of the site, problems that fixed themselves and long thanks get a short polite reply;
the same words next to a live problem or a request keep the answer."""

from __future__ import annotations

import pytest

from dialog.classifier import Classifier
from dialog.messages import Action


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("интерфейс стал красивый, приятно пользоваться", "feedback"),
        ("в приложении всё переставили, привыкаю к новому дизайну", "feedback"),
        ("по сравнению с очередью в МФЦ это удобнее", "feedback"),
        ("меню запутанное, но я справился", "feedback"),
        ("с днём россии", "greeting"),  # a longer holiday phrase is cut out whole, not as «с днём»
        ("с юбилеем, дорогая поддержка!", "greeting"),
        ("hi", "greeting"),  # the English word, not the dictionary's «хи»
        ("необходимость в консультации отпала", "acknowledgement"),
        ("всё, уже пустило в личный кабинет", "acknowledgement"),
        ("информацию принял", "acknowledgement"),
        ("спасибо, напишу если что", "thanks"),
        ("извините, что пишу одно и то же два раза", "apology"),
        ("простите, что нагрубил", "apology"),
        ("ты вообще умный?", "bot_identity"),
    ],
)
def test_chatter_without_a_question_is_small_talk(classifier: Classifier, text: str, intent: str) -> None:
    decision = classifier.classify(text)
    assert (decision.action, decision.intent) == (Action.SMALLTALK, intent), decision


@pytest.mark.parametrize(
    "text",
    [
        # a story that ends in a fix and thanks
        "Месяц назад ругался на вас: коды не приходили, портал выдавал ошибку при оплате. А сегодня "
        "поменял симку, и всё заработало, пошлину оплатил за пять минут. Спасибо, что терпели меня, "
        "хорошего всем вечера.",
        # said to be no question, whatever the story has in it
        "Пишу не с вопросом, а просто поблагодарить: когда у меня не получалось войти, ваши "
        "сотрудники всё объяснили. Спасибо!",
        # the mistake was the citizen's own
        "Прошу прощения за повторные сообщения, это была ошибка с моей стороны.",
    ],
)
def test_long_thanks_for_a_fix_is_small_talk(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).action is Action.SMALLTALK


@pytest.mark.parametrize(
    "text",
    [
        "Ужасный сайт, третий день не могу войти",
        "новый дизайн, не могу найти где подать заявление на паспорт",
        "мне нравится портал, но как поменять номер телефона",
        "приложение удобнее, но там не приходит код",
        "Спасибо за ответ. Сначала всё заработало, но теперь опять не приходит код, хотя номер верный и "
        "телефон я перезагружал несколько раз, уже не знаю что делать",
    ],
)
def test_an_opinion_beside_a_problem_or_a_question_keeps_it(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).action is not Action.SMALLTALK


@pytest.mark.parametrize(
    "text",
    [
        "ку) давай в города сыграем",
        "привет, сочини поздравление коллеге с юбилеем",
        "спасибо, а ты знаешь как поменять масло в машине",
        "Добрый день! Посоветуйте хорошего стоматолога в Казани",
    ],
)
def test_a_request_beside_a_greeting_is_not_small_talk(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).action is not Action.SMALLTALK
