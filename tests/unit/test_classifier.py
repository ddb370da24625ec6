import pytest

from dialog.classifier import Classifier
from dialog.messages import Action


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("как восстановить пароль", "password_recovery"),
        ("gfhjkm pf,sk", "password_recovery"),
        ("ne prihodit sms kod", "sms_code"),
        ("номер горячей линнии", "hotline_phone"),
        ("как оплатить госпошлину", "state_fee_payment"),
        ("учетку заблочили после неправильного пароля", "account_locked"),
        ("привет, как поменять номер телефона в профиле?", "change_contact_details"),
    ],
)
def test_answers_topics_in_the_ways_citizens_type(classifier: Classifier, text: str, topic: str) -> None:
    decision = classifier.classify(text)
    assert decision.action is Action.ANSWER
    assert decision.topic == topic
    assert 0.0 < decision.confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("оператор", "explicit_request"),
        ("позовите живого человека пожалуйста", "explicit_request"),
        ("cjtlbybnt c jgthfnjhjv", "explicit_request"),
        ("код так и не пришел, хотя запрашивал повторно три раза", "code_still_not_arriving"),
        ("заявление уже месяц висит в обработке", "application_stuck"),
        ("подала заявление вчера и хочу его отменить", "change_sent_application"),
        ("пришел отказ без объяснения причин", "refusal_without_reason"),
        ("требуют справку, которой нет в перечне документов", "extra_documents_demand"),
        ("в профиле старая серия паспорта, исправить не дает", "passport_data_mismatch"),
    ],
)
def test_handoff_rules_fire_before_ranking(classifier: Classifier, text: str, rule: str) -> None:
    decision = classifier.classify(text)
    assert (decision.action, decision.rule) == (Action.HANDOFF, rule)


@pytest.mark.parametrize(
    "text",
    [
        "как в голосовом меню выйти на оператора?",  # a question about a channel
        "оператор мне нагрубил, куда пожаловаться",  # a complaint, not a request
        "не приходит смс с кодом",  # the first time: the FAQ helps
        "что означает статус в обработке",
    ],
)
def test_near_misses_are_not_handed_off(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).action is not Action.HANDOFF


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("привет", "greeting"),
        ("здраствуйте", "greeting"),
        ("спасибо большое, всё получилось", "thanks"),
        ("до свидания", "goodbye"),
        ("ты бот?", "bot_identity"),
        ("🙏", "thanks"),
    ],
)
def test_smalltalk(classifier: Classifier, text: str, intent: str) -> None:
    decision = classifier.classify(text)
    assert (decision.action, decision.intent) == (Action.SMALLTALK, intent)


def test_pure_goodbye_word_does_not_swallow_longer_words(classifier: Classifier) -> None:
    assert classifier.classify("показывает ошибку при загрузке документов").action is not Action.SMALLTALK


@pytest.mark.parametrize(
    "text",
    ["какая погода завтра в казани", "рецепт борща", "фывапролджэ", "курс биткоина сегодня"],
)
def test_out_of_scope_is_refused(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).action is Action.FALLBACK


@pytest.mark.parametrize("text", ["документы", "ошибка", "поддержка"])
def test_one_word_that_fits_several_topics_is_clarified(classifier: Classifier, text: str) -> None:
    decision = classifier.classify(text)
    assert decision.action is Action.CLARIFY
    assert 2 <= len(decision.candidates) <= 3


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "а" * 20_000,
        "😀😀😀",
        "\x00\x01\x02",
        "123456",
        "пароль" * 3000,
        "Ωмега ζ 漢字 пароль",
    ],
)
def test_bad_input_never_raises(classifier: Classifier, text: str) -> None:
    decision = classifier.classify(text)
    assert decision.action in set(Action)
    assert decision.action is not Action.HANDOFF


def test_bare_number_and_empty_text_get_their_own_fallbacks(classifier: Classifier) -> None:
    assert classifier.classify("123456").intent == "number"
    assert classifier.classify("  ").intent == "empty"


def test_confidence_grows_with_a_clearer_question(classifier: Classifier) -> None:
    vague = classifier.classify("а что с паролем").confidence
    clear = classifier.classify("забыл пароль от госуслуг, как восстановить доступ").confidence
    assert clear > vague
