"""Every situation the documents send to a person reaches one, in the documents' own words too."""

from __future__ import annotations

import pytest

from dialog.classifier import Classifier
from dialog.messages import Action

SITUATIONS = [
    # data the system will not let the citizen correct (seed 000)
    ("в профиле поле с серией паспорта серое, исправить сам не могу", "passport_data_mismatch", 2),
    ("паспортные данные в личном кабинете не совпадают с паспортом, а изменить их портал не даёт", None, 2),
    ("после замены паспорта в профиле остались старые данные, редактирование недоступно", None, 2),
    # a refusal with no explanation
    ("пришёл отказ без объяснения причин, в уведомлении никаких инструкций", "refusal_without_reason", 2),
    ("заявление отклонили, а почему — не написали", "refusal_without_reason", 2),
    # a code that is entered wrong or re-requested many times
    ("код из смс вводится неверно, хотя ввожу правильно уже в третий раз", "code_still_not_arriving", 2),
    ("запрашивал код повторно пять раз, смс так и не пришло", "code_still_not_arriving", 2),
    # extra documents the instruction does not list
    ("требуют дополнительную справку, которой нет в перечне документов услуги", "extra_documents_demand", 2),
    # changing or cancelling an application already sent
    ("отправил заявление и заметил ошибку в адресе, как его исправить", "change_sent_application", 2),
    ("хочу отменить уже поданное заявление", "change_sent_application", 2),
    # a status stuck «в обработке»
    ("заявление уже второй месяц в обработке, никаких изменений", "application_stuck", 2),
    # a senior specialist or a manager: level 3
    ("соедините меня со старшим специалистом", "senior_specialist", 3),
    ("хочу поговорить с руководителем, оператор не помог", "senior_specialist", 3),
    # urgent help from the duty specialist
    ("срочно нужен дежурный специалист", "urgent_duty_specialist", 2),
    # an explicit request for a person
    ("позовите живого человека", "explicit_request", 2),
    ("соедините с оператором", "explicit_request", 2),
]


@pytest.mark.parametrize(("text", "rule", "level"), SITUATIONS)
def test_the_situation_goes_to_a_person(
    classifier: Classifier, text: str, rule: str | None, level: int
) -> None:
    decision = classifier.classify(text)
    assert decision.action is Action.HANDOFF, (text, decision)
    if rule is not None:
        assert decision.rule == rule
    found = classifier.rules.by_id[decision.rule or ""]
    assert found.level == level


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("не приходит смс с кодом", "sms_code"),
        ("что такое эскалация к старшему специалисту и когда её можно требовать", "unresolved_problem"),
        ("почему могут отказать в субсидии", "application_rejected"),
        ("как узнать статус заявления", "application_status"),
    ],
)
def test_the_general_question_is_answered_not_handed_off(
    classifier: Classifier, text: str, topic: str
) -> None:
    decision = classifier.classify(text)
    assert decision.action is not Action.HANDOFF, decision
    assert topic in (decision.topic, *decision.candidates)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("паспорт в профиле вбит криво, а поправить никак — поля залочены", "passport_data_mismatch"),
        ("пришёл отказ без всякой инфы, что дальше делать непонятно", "refusal_without_reason"),
        ("отправила заяву с косяком в адресе, надо как-то откатить", "change_sent_application"),
        ("хочу забрать своё заявление обратно, пока его не рассмотрели", "change_sent_application"),
        ("смс с кодом так и не упала, хотя я обтыкалась на «прислать ещё»", "code_still_not_arriving"),
        ("просят справку о составе семьи, а в требованиях к услуге её нет", "extra_documents_demand"),
        ("зови старшего, с этими каши не сваришь", "senior_specialist"),
        ("переведите, пожалуйста, мой вопрос на сотрудника поддержки", "explicit_request"),
        ("где живой оператор?? 😡", "explicit_request"),
        ("прошу обеспечить мне диалог с квалифицированным специалистом", "explicit_request"),
    ],
)
def test_the_situation_in_other_words_goes_to_a_person(classifier: Classifier, text: str, rule: str) -> None:
    decision = classifier.classify(text)
    assert (decision.action, decision.rule) == (Action.HANDOFF, rule), decision


@pytest.mark.parametrize(
    "text",
    [
        "хочу, чтобы моим вопросом занялся человек, а не программа",
        "передайте мой вопрос тому, кто в этом понимает",
        "не хочу с машиной переписываться, позовите кого-нибудь",
        "можно поговорить с кем-нибудь нормально?",
        "оператор надо, я плохо понимаю по-русски",
        "консультанта можно?",
        "заявку закрыли отпиской уже второй раз, пусть кто-нибудь толковый посмотрит",
    ],
)
def test_an_indirect_request_for_a_person_reaches_one(classifier: Classifier, text: str) -> None:
    decision = classifier.classify(text)
    assert decision.action is Action.HANDOFF, decision


def test_a_bot_that_is_on_duty_at_night_is_not_a_request_for_the_duty_specialist(
    classifier: Classifier,
) -> None:
    decision = classifier.classify("спокойной ночи тебе, раз уж ты круглосуточно дежуришь")
    assert decision.action is not Action.HANDOFF, decision
