"""Which experts a ticket is for: the category of the topic the citizen was talking about.

The deployment maps categories to operators' groups (OKNO_DESK_ROUTES); here the conversation
names the category: the FAQ topics next to the situation that fired, else the topic the bot
answered last, else the topic a longer request is about («перезвоните, не приходит код из СМС»).
"""

from __future__ import annotations

from dataclasses import dataclass

from dialog.classifier import Classifier
from dialog.escalation import ConversationRule, EscalationRule
from dialog.messages import Action
from dialog.retrieval import fuse
from dialog.state import ConversationState

GUESS_MIN_WORDS = 6  # «позовите оператора» names no topic; a request with its problem does


@dataclass(frozen=True, slots=True)
class Route:
    category: str
    title: str


class Router:
    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self.knowledge = classifier.knowledge

    def route(
        self, state: ConversationState, rule: EscalationRule | ConversationRule, text: str
    ) -> Route | None:
        topic = _rule_topic(rule) or state.recent_topic or self.topic_of(text)
        found = self.knowledge.topics.get(topic or "")
        category = self.knowledge.category(found.category) if found else None
        return Route(category.id, category.title) if category else None

    def topic_of(self, text: str) -> str | None:
        """The topic the message is about, when the ranking is sure enough to answer it."""
        classifier = self.classifier
        content = classifier.content(classifier.analyzer.analyze(text))
        if len(content.words) < GUESS_MIN_WORDS:
            return None
        ranking = fuse(classifier.index.rank(content.terms), classifier.meaning(content.words))
        decision = classifier.decide(ranking)
        return decision.topic if decision.action is Action.ANSWER else None


def _rule_topic(rule: EscalationRule | ConversationRule) -> str | None:
    if isinstance(rule, EscalationRule):
        return next(iter(rule.near_topics), None)
    return rule.topic
