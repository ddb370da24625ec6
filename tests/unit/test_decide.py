"""The answer / clarify / fallback thresholds, on rankings made up for the purpose."""

import re

import pytest

from dialog.classifier import Calibration, Classifier
from dialog.messages import Action
from dialog.retrieval import NEGATIVE, Ranking

# A model whose confidence is the sigmoid of the best score, to make thresholds visible.
PLAIN = Calibration((1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), 0.0, answer_at=0.7, clarify_at=0.55)


def ranking(*scores: tuple[str, float], terms: int = 4) -> Ranking:
    return Ranking(tuple(scores), coverage=1.0, parts={}, terms=terms)


@pytest.fixture
def plain(classifier: Classifier, monkeypatch: pytest.MonkeyPatch) -> Classifier:
    monkeypatch.setattr(classifier, "calibration", PLAIN)
    monkeypatch.setattr(
        "dialog.classifier.Calibration.confidence", lambda self, f: 1 / (1 + 2.718281828 ** -f[0])
    )
    return classifier


def test_clear_winner_is_answered(plain: Classifier) -> None:
    decision = plain.decide(ranking(("sms_code", 2.0), ("account_locked", 0.3)))
    assert (decision.action, decision.topic) == (Action.ANSWER, "sms_code")


def test_close_runner_up_turns_an_answer_into_a_question(plain: Classifier) -> None:
    decision = plain.decide(ranking(("sms_code", 2.0), ("account_locked", 1.9), ("call_cost", 0.1)))
    assert decision.action is Action.CLARIFY
    assert decision.candidates == ("sms_code", "account_locked")


def test_middle_confidence_clarifies_with_two_or_three(plain: Classifier) -> None:
    decision = plain.decide(
        ranking(("sms_code", 0.5), ("account_locked", 0.45), ("call_cost", 0.4), ("mobile_app", 0.39))
    )
    assert decision.action is Action.CLARIFY
    assert decision.candidates == ("sms_code", "account_locked", "call_cost")


def test_low_confidence_falls_back(plain: Classifier) -> None:
    assert plain.decide(ranking(("sms_code", -1.0))).action is Action.FALLBACK


def test_nothing_but_the_out_of_scope_class_falls_back(plain: Classifier) -> None:
    assert plain.decide(ranking((NEGATIVE, 3.0))).action is Action.FALLBACK
    assert plain.decide(ranking()).action is Action.FALLBACK


def test_no_answer_repeats_a_fact_literally(classifier: Classifier) -> None:
    """Numbers, hours and limits live in facts.yaml only; answers use placeholders."""
    literal = re.compile(r"8[ -]?800|\+7|\d{1,2}:\d{2}|\d+\s*(МБ|символ)|@\w")
    offenders = [t.id for t in classifier.knowledge.topics.values() if literal.search(t.template)]
    assert offenders == []
