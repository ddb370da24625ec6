"""Small talk is told apart from the question, the request or the off-domain ask it comes with."""

from __future__ import annotations

import pytest

from dialog.classifier import Classifier
from dialog.messages import Action

STORY = (
    "Добрый день. Долго рассказывать: в марте я переезжал, менял номер телефона, какие-то "
    "уведомления за это время приходили, но я их не видел, а сын в отъезде и помочь некому. "
    "Теперь я не понимаю, что вообще с моими заявлениями. "
)


def test_a_request_for_a_person_at_the_end_of_a_long_story_reaches_one(classifier: Classifier) -> None:
    # «какие-то» and «за это время» elsewhere in the story must not hide the request
    decision = classifier.classify(STORY + "В общем, можно мне просто с живым оператором поговорить?")
    assert decision.action is Action.HANDOFF and decision.rule == "explicit_request"


def test_a_story_that_asks_when_operators_work_is_not_a_request(classifier: Classifier) -> None:
    text = (
        "Я работаю посменно и дома бываю только ночью или по выходным. Когда у вас можно застать "
        "живого оператора? В субботу отвечают? А если я напишу ночью, ответит только бот?"
    )
    decision = classifier.classify(text)
    assert decision.action is not Action.HANDOFF, decision


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("простите, я случайно сюда написала", "apology"),
        ("извиняюсь за беспокойство", "apology"),
        ("всё, вопрос снят, сама разобралась", "acknowledgement"),
        ("забейте, уже неактуально", "acknowledgement"),
        ("ну?", "impatience"),
        ("алё", "impatience"),
        ("⌛⌛", "impatience"),
        ("вы там долго ещё? сижу жду уже минут десять у экрана", "impatience"),
        ("есть там кто-нибудь?", "presence"),
        ("ты вообще что-нибудь понимаешь?", "bot_identity"),
        ("good morning!", "greeting"),
        ("are you a bot?", "bot_identity"),
    ],
)
def test_small_talk_that_asks_nothing(classifier: Classifier, text: str, intent: str) -> None:
    decision = classifier.classify(text)
    assert (decision.action, decision.intent) == (Action.SMALLTALK, intent), decision


def test_an_apology_before_a_question_is_the_question(classifier: Classifier) -> None:
    decision = classifier.classify("извините, не приходит смс с кодом для входа")
    assert decision.action is not Action.SMALLTALK and "sms_code" in (decision.topic, *decision.candidates)


@pytest.mark.parametrize(
    "text",
    [
        "Здравствуйте! Расскажите анекдот",
        "Подскажите, как получить вид на жительство в Сербии? Спасибо",
        "ты умеешь сочинять стихи?",
    ],
)
def test_an_off_domain_ask_with_a_greeting_or_thanks_is_refused(classifier: Classifier, text: str) -> None:
    decision = classifier.classify(text)
    assert decision.action is Action.FALLBACK, decision


def test_a_thanks_that_tells_a_story_is_a_thanks(classifier: Classifier) -> None:
    text = (
        "Хочу просто поблагодарить. Неделю назад я весь вечер мучилась с этим кабинетом, а сегодня "
        "открыла вашу подсказку и за пять минут всё оформила. Муж не верил, что я сама справлюсь. "
        "Вы молодцы, работаете отлично, это честно."
    )
    decision = classifier.classify(text)
    assert (decision.action, decision.intent) == (Action.SMALLTALK, "thanks"), decision


def test_a_thanks_that_reports_a_problem_is_not_small_talk(classifier: Classifier) -> None:
    decision = classifier.classify("Спасибо за ответ, но код подтверждения всё равно не приходит на телефон")
    assert decision.action is not Action.SMALLTALK, decision


def test_a_blessing_for_the_management_is_not_a_request_for_it(classifier: Classifier) -> None:
    text = "Спасибо вам большое за помощь, дай бог здоровья и вам, и начальству вашему"
    decision = classifier.classify(text)
    assert decision.action is Action.SMALLTALK, decision


@pytest.mark.parametrize(
    "text",
    [
        "Хочу поблагодарить специалиста Марину за вчерашнюю консультацию, передайте ей спасибо",
        "Христос воскресе!",
        "С Масленицей вас, блинов побольше!",
        "Ой, отбой, сын уже всё сделал сам",
        (
            "Здравствуйте, мои хорошие! Пишу вам первый раз, внучка научила. Сижу на кухне, пью чай с "
            "вареньем, за окном снег. Просто захотелось поздороваться с живыми людьми, хоть вы и робот."
        ),
    ],
)
def test_courtesy_of_every_kind_is_small_talk(classifier: Classifier, text: str) -> None:
    decision = classifier.classify(text)
    assert decision.action is Action.SMALLTALK, decision


def test_a_thanks_from_abroad_is_not_refused_as_another_country_s_service(classifier: Classifier) -> None:
    text = "Пишу из Германии: просто хотела сказать спасибо, всё получилось оформить!"
    decision = classifier.classify(text)
    assert decision.action is Action.SMALLTALK, decision


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("сорри за капс, залипло", "apology"),
        ("ой, это я не вам", "apology"),
        ("Sorry, wrong chat", "apology"),
        ("thank you so much", "thanks"),
        ("ty robot?", "bot_identity"),
        ("ахаха", "acknowledgement"),
        (")))", "acknowledgement"),
        ("[Стикер: собака виляет хвостом]", "acknowledgement"),
        ("Отбой, нашёл в приложении сам", "acknowledgement"),
        ("с днём победы!", "greeting"),
        ("Хорошей вам смены!", "goodbye"),
    ],
)
def test_reactions_apologies_and_english_are_small_talk(
    classifier: Classifier, text: str, intent: str
) -> None:
    decision = classifier.classify(text)
    assert (decision.action, decision.intent) == (Action.SMALLTALK, intent), decision


@pytest.mark.parametrize(
    "text",
    [
        "Добрый день! Где купить билеты на концерт?",
        "Здравствуйте, посоветуйте хороший фильм на вечер?",
    ],
)
def test_a_greeting_does_not_hide_an_off_domain_question(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).action is Action.FALLBACK


def test_friendly_chatter_with_a_question_to_the_bot_is_small_talk(classifier: Classifier) -> None:
    text = (
        "Вечер, дождь за окном, сижу с чаем. Интересно, ты робот? Наверное, да. "
        "В общем, просто хотела пожелать вам всем спокойной смены, ладно? Всего доброго!"
    )
    assert classifier.classify(text).action is Action.SMALLTALK


def test_an_apology_with_a_question_without_a_question_mark_is_the_question(classifier: Classifier) -> None:
    decision = classifier.classify("извините а какой браузер нужен для портала у меня старый хром")
    assert decision.action is not Action.SMALLTALK, decision


@pytest.mark.parametrize(
    "text",
    ["Доброй ночи, операторы! Берегите себя", "Благодарю специалиста, проблема решена", "привет операторам"],
)
def test_courtesy_to_the_operators_names_them_and_calls_nobody(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).action is Action.SMALLTALK


@pytest.mark.parametrize("text", ["Спасибо, позовите оператора", "спасибо, хочу поговорить со специалистом"])
def test_a_thanks_before_a_call_for_a_person_is_the_call(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).action is Action.HANDOFF
