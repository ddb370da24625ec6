"""The conversation engine: one citizen message and the state in, replies and new state out."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dialog import texts
from dialog.classifier import Classifier
from dialog.messages import Action, Button, Decision, InboundMessage, Reply
from dialog.normalize import clean
from dialog.state import ConversationState

logger = logging.getLogger("okno.dialog.engine")

MENU = "menu"
OPERATOR = "operator"
CATEGORY_PREFIX = "cat:"
TOPIC_PREFIX = "topic:"
FEEDBACK_PREFIX = "fb:"
EXPLICIT_RULE = "explicit_request"

_MENU_COMMANDS = {"/start", "/menu", "меню", "начать", "start", "главное меню"}
_OPERATOR_COMMANDS = {"/operator"}
_YES = {"да", "помог", "помогло", "да помог", "да помогло", "ага", "угу"}
_NO = {"нет", "не помог", "не помогло", "нет не помог", "нет не помогло", "неа"}


@dataclass(frozen=True, slots=True)
class Turn:
    replies: tuple[Reply, ...]
    state: ConversationState
    decision: Decision


class ConversationEngine:
    """Pure conversation logic over a classifier; keeps no state of its own."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self.knowledge = classifier.knowledge

    def handle(self, message: InboundMessage, state: ConversationState) -> Turn:
        state = state.evolve(turns=state.turns + 1)
        if message.payload is not None:
            return self._on_button(message.payload, state)
        command = " ".join(clean(message.text).split())
        turn = self._on_command(command, state)
        if turn is not None:
            return turn
        if state.last_topic and command.strip(" .!") in _YES | _NO:
            helped = command.strip(" .!") in _YES
            return self._feedback(state, state.last_topic, helped)
        if not message.text.strip() and message.attachments:
            return self._say(state, Decision(Action.FALLBACK, intent="attachment"), texts.ATTACHMENT)
        return self._on_decision(self.classifier.classify(message.text), state)

    def _on_command(self, command: str, state: ConversationState) -> Turn | None:
        if command in _MENU_COMMANDS or command.startswith("/start "):
            return self._menu(state, texts.GREETING if command.startswith("/start") else texts.MENU)
        if command in ("/help", "помощь"):
            return self._menu(state, texts.HELP, intent="help")
        if command in _OPERATOR_COMMANDS:
            return self._handoff(state, EXPLICIT_RULE, texts.OPERATOR_BUTTON_REPLY)
        return None

    # Buttons

    def _on_button(self, payload: str, state: ConversationState) -> Turn:
        if payload == MENU:
            return self._menu(state, texts.MENU)
        if payload == OPERATOR:
            return self._handoff(state, EXPLICIT_RULE, texts.OPERATOR_BUTTON_REPLY)
        kind, _, value = payload.partition(":")
        if kind + ":" == CATEGORY_PREFIX and self.knowledge.category(value):
            return self._category(state, value)
        if kind + ":" == TOPIC_PREFIX and value in self.knowledge.topics:
            return self._answer(state, value, Decision(Action.ANSWER, topic=value, confidence=1.0))
        if kind + ":" == FEEDBACK_PREFIX:
            verdict, _, topic = value.partition(":")
            if topic and topic == state.last_topic and verdict in ("yes", "no"):
                return self._feedback(state, topic, verdict == "yes")
        logger.info("stale or unknown button payload")
        return self._menu(state, texts.STALE_BUTTON, intent="stale_button")

    def _menu(self, state: ConversationState, text: str, intent: str = "menu") -> Turn:
        buttons = tuple(Button(CATEGORY_PREFIX + c.id, c.title) for c in self.knowledge.categories)
        return Turn(
            (Reply(text, buttons),),
            state.evolve(last_topic=None, offered=()),
            Decision(Action.SMALLTALK, intent=intent, confidence=1.0),
        )

    def _category(self, state: ConversationState, category_id: str) -> Turn:
        category = self.knowledge.category(category_id)
        topics = self.knowledge.category_topics(category_id)
        buttons = tuple(Button(TOPIC_PREFIX + t.id, t.title) for t in topics)
        title = category.title if category else category_id
        return Turn(
            (Reply(texts.CATEGORY.format(title=title), (*buttons, Button(MENU, texts.BUTTON_BACK))),),
            state.evolve(offered=tuple(t.id for t in topics), last_topic=None),
            Decision(Action.SMALLTALK, intent="category", confidence=1.0),
        )

    def _feedback(self, state: ConversationState, topic_id: str, helped: bool) -> Turn:
        decision = Decision(Action.SMALLTALK, topic=topic_id, intent="helped" if helped else "not_helped")
        if helped:
            return Turn(
                (Reply(texts.FEEDBACK_THANKS),),
                state.evolve(last_topic=None, not_helped=0, fallbacks=0),
                decision,
            )
        not_helped = state.not_helped + 1
        state = state.evolve(last_topic=None, not_helped=not_helped)
        if not_helped >= 2:
            return Turn((Reply(texts.NOT_HELPED_AGAIN, self._operator_buttons()),), state, decision)
        related = [t for t in self.knowledge.topics[topic_id].related if t in self.knowledge.topics]
        buttons = tuple(Button(TOPIC_PREFIX + t, self.knowledge.topics[t].title) for t in related)
        return Turn(
            (Reply(texts.NOT_HELPED, (*buttons, *self._operator_buttons())),),
            state.evolve(offered=tuple(related)),
            decision,
        )

    # Text

    def _on_decision(self, decision: Decision, state: ConversationState) -> Turn:
        action = decision.action
        if action is Action.HANDOFF and decision.rule:
            rule = self.classifier.rules.by_id[decision.rule]
            return self._handoff(state, rule.id, rule.reply, decision)
        if action is Action.SMALLTALK and decision.intent:
            intent = self.classifier.smalltalk.by_id[decision.intent]
            return self._say(state.evolve(fallbacks=0), decision, intent.reply)
        if action is Action.ANSWER and decision.topic:
            return self._answer(state, decision.topic, decision)
        if action is Action.CLARIFY:
            return self._clarify(state, decision)
        return self._fallback(state, decision)

    def _answer(self, state: ConversationState, topic_id: str, decision: Decision) -> Turn:
        topic = self.knowledge.topics[topic_id]
        feedback = (
            Button(f"{FEEDBACK_PREFIX}yes:{topic_id}", texts.BUTTON_YES),
            Button(f"{FEEDBACK_PREFIX}no:{topic_id}", texts.BUTTON_NO),
        )
        # one message with the question and its buttons under the answer: no extra notification,
        # and within a messenger's per-chat rate limit the answer is not held back
        replies = (Reply(f"{topic.answer}\n\n{texts.FEEDBACK_QUESTION}", feedback),)
        return Turn(replies, state.evolve(last_topic=topic_id, offered=(), fallbacks=0), decision)

    def _clarify(self, state: ConversationState, decision: Decision) -> Turn:
        topics = self.knowledge.topics
        buttons = tuple(Button(TOPIC_PREFIX + t, topics[t].title) for t in decision.candidates)
        reply = Reply(texts.CLARIFY, (*buttons, Button(OPERATOR, texts.BUTTON_OPERATOR)))
        return Turn((reply,), state.evolve(offered=decision.candidates, last_topic=None), decision)

    def _fallback(self, state: ConversationState, decision: Decision) -> Turn:
        special = {"empty": texts.EMPTY, "no_words": texts.EMPTY, "number": texts.NUMBER}
        if decision.intent in special:
            return self._say(state, decision, special[decision.intent or ""])
        fallbacks = state.fallbacks + 1
        state = state.evolve(fallbacks=fallbacks, last_topic=None, offered=())
        if fallbacks >= 2:
            return Turn((Reply(texts.FALLBACK_AGAIN, self._operator_buttons()),), state, decision)
        return Turn((Reply(texts.FALLBACK, (Button(MENU, texts.BUTTON_MENU),)),), state, decision)

    def _handoff(
        self, state: ConversationState, rule: str, text: str, decision: Decision | None = None
    ) -> Turn:
        decision = decision or Decision(Action.HANDOFF, rule=rule, confidence=1.0)
        if state.handed_off:
            text = texts.HANDOFF_PENDING
        state = state.evolve(handed_off=rule, last_topic=None, offered=(), fallbacks=0, not_helped=0)
        return Turn((Reply(text),), state, decision)

    def _say(self, state: ConversationState, decision: Decision, text: str) -> Turn:
        return Turn((Reply(text),), state.evolve(last_topic=None), decision)

    def _operator_buttons(self) -> tuple[Button, ...]:
        return (Button(OPERATOR, texts.BUTTON_OPERATOR), Button(MENU, texts.BUTTON_MENU))
