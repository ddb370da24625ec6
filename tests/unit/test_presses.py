"""A button press reads as the label the citizen saw, a ticket event as a sentence."""

from __future__ import annotations

import pytest

from dialog.classifier import Classifier
from dialog.presses import event_sentence, is_event, press_label
from handoff.cards import card_text
from tests.builders import a_ticket


@pytest.mark.parametrize(
    ("payload", "label"),
    [
        ("intake:skip", "Пропустить"),
        ("intake:cancel", "Отменить"),
        ("operator", "Позвать оператора"),
        ("menu", "Главное меню"),
        ("rate:5", "Оценка 5"),
        ("rate:skip", "Пропустить"),
        ("fb:yes:sms_code", "Помог ли ответ? — Да"),
        ("fb:no:sms_code", "Помог ли ответ? — Нет"),
        ("no-such-button", "no-such-button"),  # an old button nobody knows any more stays as it was
    ],
)
def test_a_press_reads_as_its_label(classifier: Classifier, payload: str, label: str) -> None:
    assert press_label(payload, classifier.knowledge) == label


def test_topic_and_category_buttons_read_as_their_titles(classifier: Classifier) -> None:
    knowledge = classifier.knowledge
    topic = knowledge.topics["sms_code"]
    category = knowledge.categories[0]
    assert press_label(f"topic:{topic.id}", knowledge) == topic.title
    assert press_label(f"cat:{category.id}", knowledge) == category.title
    assert press_label(f"cat:{category.id}:2", knowledge) == f"{category.title}, страница 2"


def test_a_ticket_event_is_a_sentence_not_a_press() -> None:
    assert is_event("event:resolved") and not is_event("intake:skip") and not is_event(None)
    assert event_sentence("event:resolved") == "Обращение отмечено решённым"


def test_the_card_says_which_button_the_citizen_pressed() -> None:
    ticket = a_ticket(number="A-1")
    text = card_text(
        ticket, "отказ без объяснения причин", [("in", "позовите оператора"), ("press", "Пропустить")], False
    )
    assert "Гражданин нажал «Пропустить»" in text
