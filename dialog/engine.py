"""The conversation engine: one citizen message and the state in, replies and new state out."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, replace

from dialog import intake, texts
from dialog.classifier import Classifier
from dialog.escalation import ConversationRule, EscalationRule
from dialog.messages import (
    RECORDINGS,
    Action,
    AttachmentKind,
    Button,
    Decision,
    Effect,
    InboundMessage,
    RateTicket,
    RelayToTicket,
    Reply,
    StatusQuery,
    SystemEvent,
    TicketEventKind,
    TicketKind,
)
from dialog.normalize import clean
from dialog.routing import Router
from dialog.secrets import mask, offers_secret
from dialog.state import ConversationState
from dialog.ticket_talk import AttachmentPolicy, find_ticket_number, problem_remains, rating_buttons

logger = logging.getLogger("okno.dialog.engine")

MENU = "menu"
OPERATOR = "operator"
CATEGORY_PREFIX = "cat:"
TOPIC_PREFIX = "topic:"
FEEDBACK_PREFIX = "fb:"
STATUS = "status"
RATE_PREFIX = "rate:"
EXPLICIT_RULE = "explicit_request"
CALLBACK_RULE = "callback_request"
# a citizen whose ticket is open asking for people again is told the ticket is in work
REQUESTS_FOR_PEOPLE = frozenset({EXPLICIT_RULE, CALLBACK_RULE})
STORY_WORDS = 6  # a callback request this long carries its problem: it describes the ticket
# Topics per page of a section: with «Ещё ›», «‹ Назад» and the way back to the sections a page
# stays within ten buttons, the smallest keyboard among our channels (VK's inline one).
TOPICS_PER_PAGE = 7
DECISION_CACHE = 10_000  # distinct texts whose decision is kept (a few MB)

_MENU_COMMANDS = {"/start", "/menu", "меню", "начать", "start", "главное меню"}
_OPERATOR_COMMANDS = {"/operator"}
_STATUS_COMMANDS = {"/status", "мои обращения", "статус обращения", "статус моего обращения"}
_YES = {"да", "помог", "помогло", "да помог", "да помогло", "ага", "угу"}
_NO = {"нет", "не помог", "не помогло", "нет не помог", "нет не помогло", "неа"}


@dataclass(frozen=True, slots=True)
class Turn:
    replies: tuple[Reply, ...]
    state: ConversationState
    decision: Decision
    effects: tuple[Effect, ...] = ()


class ConversationEngine:
    """Pure conversation logic over a classifier; keeps no state of its own."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self.knowledge = classifier.knowledge
        self.attachments = AttachmentPolicy.from_facts(self.knowledge.facts)
        self.router = Router(classifier)
        # A decision depends on the text and the knowledge base only, and citizens repeat
        # themselves («оператор», «спасибо», the same question in many chats): remember recent ones.
        self.classify = functools.lru_cache(maxsize=DECISION_CACHE)(classifier.classify)

    def handle(self, message: InboundMessage, state: ConversationState) -> Turn:
        state = state.evolve(turns=state.turns + 1)
        if message.text and offers_secret(message.text):  # above every other rule
            return self._secret(replace(message, text=mask(message.text)), state)
        if state.intake is not None:
            return self._intake_answer(message, state)
        command = " ".join(clean(message.text).split())
        if state.rating_stage is not None:
            turn = self._rating(message, command, state)
            if turn is not None:
                return turn
            state = state.evolve(rating_for=None, rating_stage=None)  # they moved on without rating
        return self._route(message, command, state)

    def _route(self, message: InboundMessage, command: str, state: ConversationState) -> Turn:
        if message.payload is not None:
            return self._status_button(message.payload, state) or self._on_button(message.payload, state)
        turn = self._on_command(command, state) or self._status_query(message.text, state)
        if turn is not None:
            return turn
        if state.handed_off:
            return self._relay(message, state)
        if state.last_topic and command.strip(" .!") in _YES | _NO:
            helped = command.strip(" .!") in _YES
            return self._feedback(state, state.last_topic, helped)
        if not message.text.strip() and message.attachments:
            return self._sticker(message, state) or self._unread(message, state)
        return self._classified(message.text, state)

    def _unread(self, message: InboundMessage, state: ConversationState) -> Turn:
        """Files or a recording without words: the bot reads text only, an operator takes the rest."""
        if all(a.kind in RECORDINGS for a in message.attachments):
            return self._say(state, Decision(Action.FALLBACK, intent="voice"), texts.VOICE)
        return self._say(state, Decision(Action.FALLBACK, intent="attachment"), texts.ATTACHMENT)

    def _sticker(self, message: InboundMessage, state: ConversationState) -> Turn | None:
        """A sticker alone is a reaction: answered like its emoji («👍», «🙏»), or like «ок»."""
        if any(a.kind is not AttachmentKind.STICKER for a in message.attachments):
            return None
        emoji = " ".join(a.name or "" for a in message.attachments)
        decision = self.classify(emoji)  # no emoji: nothing to go by, so not small talk either
        if decision.action is not Action.SMALLTALK:
            decision = Decision(Action.SMALLTALK, intent="acknowledgement", confidence=1.0)
        return self._on_decision(decision, state, emoji)

    def _classified(self, text: str, state: ConversationState) -> Turn:
        decision = self.classify(text)
        if state.after_ticket and decision.action is not Action.HANDOFF:
            unclear = decision.action is Action.FALLBACK and decision.intent not in _NOT_A_QUESTION
            rule = self.classifier.rules.after(resolved_ticket=True)
            if rule is not None and (unclear or problem_remains(text)):  # the ticket comes back
                return self._handoff(state.evolve(after_ticket=None), rule, text)
            if decision.action in (Action.ANSWER, Action.CLARIFY):  # a new question: the ticket is behind
                state = state.evolve(after_ticket=None)
        return self._on_decision(decision, state, text)

    def handle_event(self, event: SystemEvent, state: ConversationState) -> Turn:
        """A ticket was resolved or closed by people: the bot takes the conversation back."""
        state = state.evolve(handed_off=None, intake=None, last_topic=None, offered=(), recent_topic=None)
        decision = Decision(Action.SMALLTALK, intent=f"ticket_{event.kind.value}", confidence=1.0)
        state = state.evolve(after_ticket=event.ticket)
        if event.kind is TicketEventKind.RESOLVED:
            reply = Reply(texts.RATING_PROMPT.format(number=event.ticket), rating_buttons())
            return Turn((reply,), state.evolve(rating_for=event.ticket, rating_stage="score"), decision)
        # closed without a resolution: the handoff side has told the citizen why
        return Turn((), state.evolve(rating_for=None, rating_stage=None), decision)

    def _on_command(self, command: str, state: ConversationState) -> Turn | None:
        if command in _MENU_COMMANDS or command.startswith("/start "):
            return self._menu(state, texts.GREETING if command.startswith("/start") else texts.MENU)
        if command in ("/help", "помощь"):
            return self._menu(state, texts.HELP, intent="help")
        if command in _OPERATOR_COMMANDS:
            return self._explicit_handoff(state)
        if command.strip(" ?.!") in _STATUS_COMMANDS:
            return self._effect(state, StatusQuery(None), "status")
        return None

    def _status_button(self, payload: str, state: ConversationState) -> Turn | None:
        if payload == STATUS or payload.startswith(STATUS + ":"):
            return self._effect(state, StatusQuery(payload.partition(":")[2] or None), "status")
        return None

    def _status_query(self, text: str, state: ConversationState) -> Turn | None:
        number = find_ticket_number(text)
        return None if number is None else self._effect(state, StatusQuery(number), "status")

    def _effect(self, state: ConversationState, effect: Effect, intent: str, *replies: Reply) -> Turn:
        decision = Decision(Action.SMALLTALK, intent=intent, confidence=1.0)
        return Turn(replies, state.evolve(last_topic=None), decision, (effect,))

    # People working on a ticket

    def _secret(self, message: InboundMessage, state: ConversationState) -> Turn:
        """Warn at once; a ticket's conversation goes on with the secret masked, nothing else does."""
        warning = Reply(texts.SECRET_WARNING, ends_turn=False)
        if state.intake is not None:
            turn = self._intake_answer(message, state)
        elif state.handed_off:
            turn = self._relay(message, state)
        else:
            decision = Decision(Action.FALLBACK, intent="secret", confidence=1.0)
            return Turn((Reply(texts.SECRET_WARNING, self._operator_buttons()),), state, decision)
        return Turn((warning, *turn.replies), turn.state, turn.decision, turn.effects)

    def _intake_answer(self, message: InboundMessage, state: ConversationState) -> Turn:
        step = intake.answer(state, message.text, message.payload)
        return self._intake_turn(step, Decision(Action.HANDOFF, rule=(state.intake or {}).get("rule")))

    def _intake_turn(self, step: intake.Step, decision: Decision, *before: Reply) -> Turn:
        effects: tuple[Effect, ...] = (step.ticket,) if step.ticket else ()
        return Turn((*before, *step.replies), step.state, decision, effects)

    def _relay(self, message: InboundMessage, state: ConversationState) -> Turn:
        accepted, refusals = self.attachments.split(message.attachments)
        decision = Decision(Action.HANDOFF, rule=state.handed_off, intent="relay", confidence=1.0)
        replies = tuple(Reply(text) for text in refusals)
        if not message.text.strip() and not accepted:
            return Turn(replies, state, decision)
        asked = self.classify(message.text) if message.text.strip() else None
        repeat = asked.rule if asked and asked.rule in REQUESTS_FOR_PEOPLE else None
        return Turn(replies, state, decision, (RelayToTicket(message.text, accepted, repeat),))

    def _rating(self, message: InboundMessage, command: str, state: ConversationState) -> Turn | None:
        number = state.rating_for or ""
        payload = message.payload or ""
        if payload == RATE_PREFIX + "skip":
            return self._say(state.evolve(rating_for=None, rating_stage=None), _RATED, texts.RATING_SKIPPED)
        if state.rating_stage == "score":
            score = payload.removeprefix(RATE_PREFIX) if payload.startswith(RATE_PREFIX) else command
            if score in {"1", "2", "3", "4", "5"}:
                reply = Reply(texts.RATING_COMMENT, (Button(RATE_PREFIX + "skip", texts.BUTTON_SKIP),))
                state = state.evolve(rating_stage="comment")
                return self._effect(state, RateTicket(number, score=int(score)), "rating", reply)
            return None
        if payload or not message.text.strip() or command in _MENU_COMMANDS:
            return None
        state = state.evolve(rating_for=None, rating_stage=None)
        comment = RateTicket(number, comment=message.text.strip()[:2000])
        return self._effect(state, comment, "rating", Reply(texts.RATING_THANKS))

    # Buttons

    def _on_button(self, payload: str, state: ConversationState) -> Turn:
        if payload == MENU:
            return self._menu(state, texts.MENU)
        if payload == OPERATOR:
            return self._explicit_handoff(state)
        kind, _, value = payload.partition(":")
        if kind + ":" == CATEGORY_PREFIX:
            category, _, page = value.partition(":")
            if self.knowledge.category(category) and (not page or page.isdigit()):
                return self._category(state, category, int(page or 1))
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

    def _category(self, state: ConversationState, category_id: str, page: int = 1) -> Turn:
        category = self.knowledge.category(category_id)
        topics = self.knowledge.category_topics(category_id)
        pages = max(1, -(-len(topics) // TOPICS_PER_PAGE))
        page = min(max(page, 1), pages)
        shown = topics[(page - 1) * TOPICS_PER_PAGE : page * TOPICS_PER_PAGE]
        buttons = [Button(TOPIC_PREFIX + t.id, t.title) for t in shown]
        if page < pages:
            buttons.append(Button(f"{CATEGORY_PREFIX}{category_id}:{page + 1}", texts.BUTTON_MORE))
        if page > 1:
            buttons.append(Button(f"{CATEGORY_PREFIX}{category_id}:{page - 1}", texts.BUTTON_PREVIOUS))
        buttons.append(Button(MENU, texts.BUTTON_BACK))
        title = category.title if category else category_id
        text = texts.CATEGORY.format(title=title)
        if pages > 1:
            text = texts.CATEGORY_PAGE.format(title=title, page=page, pages=pages)
        return Turn(
            (Reply(text, tuple(buttons)),),
            state.evolve(offered=tuple(t.id for t in shown), last_topic=None),
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
        rule = self.classifier.rules.after(not_helped=not_helped)
        if rule is not None:
            return self._handoff(state, rule, state.last_question or "")
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

    def _on_decision(self, decision: Decision, state: ConversationState, text: str) -> Turn:
        action = decision.action
        if action is Action.HANDOFF and decision.rule:
            rule = self.classifier.rules.by_id[decision.rule]
            return self._handoff(state, rule, self._reason(rule.id, text, state), decision, text=text)
        if action is Action.SMALLTALK and decision.intent:
            intent = self.classifier.smalltalk.by_id[decision.intent]
            return self._say(state.evolve(fallbacks=0), decision, intent.reply)
        state = state.evolve(last_question=text.strip()[:1000])
        if action is Action.ANSWER and decision.topic:
            return self._answer(state, decision.topic, decision)
        if action is Action.CLARIFY:
            return self._clarify(state, decision)
        return self._fallback(state, decision)

    def _answer(self, state: ConversationState, topic_id: str, decision: Decision) -> Turn:
        topic = self.knowledge.topics[topic_id]
        rule = self.classifier.rules.after(topic=topic_id)
        if rule is not None:  # answered, and the conversation goes on to people (a complaint)
            return self._handoff(state, rule, state.last_question or "", decision, Reply(topic.answer))
        feedback = (
            Button(f"{FEEDBACK_PREFIX}yes:{topic_id}", texts.BUTTON_YES),
            Button(f"{FEEDBACK_PREFIX}no:{topic_id}", texts.BUTTON_NO),
        )
        # one message with the question and its buttons under the answer: no extra notification,
        # and within a messenger's per-chat rate limit the answer is not held back
        replies = (Reply(f"{topic.answer}\n\n{texts.FEEDBACK_QUESTION}", feedback),)
        state = state.evolve(last_topic=topic_id, recent_topic=topic_id, offered=(), fallbacks=0)
        return Turn(replies, state, decision)

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
        rule = self.classifier.rules.after(fallbacks=fallbacks)
        if rule is not None:
            return self._handoff(state, rule, state.last_question or "", decision)
        if fallbacks >= 2:
            return Turn((Reply(texts.FALLBACK_AGAIN, self._operator_buttons()),), state, decision)
        return Turn((Reply(texts.FALLBACK, (Button(MENU, texts.BUTTON_MENU),)),), state, decision)

    def _explicit_handoff(self, state: ConversationState) -> Turn:
        rule = self.classifier.rules.by_id[EXPLICIT_RULE]
        return self._handoff(state, rule, state.last_question or "")

    def _handoff(
        self,
        state: ConversationState,
        rule: EscalationRule | ConversationRule,
        reason: str,
        decision: Decision | None = None,
        *before: Reply,
        text: str = "",
    ) -> Turn:
        """Hand the conversation to people: the identification questions first, then a ticket
        for the experts in the problem's category. Asked again while people have the ticket, the
        handoff side says which ticket it is and tells its people."""
        decision = decision or Decision(Action.HANDOFF, rule=rule.id, confidence=1.0)
        if state.handed_off:
            return Turn(before, state, decision, (RelayToTicket("", (), rule.id),))
        route = self.router.route(state, rule, text or reason)
        kind = TicketKind.CALLBACK if rule.id == CALLBACK_RULE else TicketKind.QUESTION
        request = intake.Request(
            rule.id,
            rule.level,
            rule.priority,
            rule.reply,
            reason,
            kind,
            route.category if route else None,
            route.title if route else None,
        )
        return self._intake_turn(intake.start(state, request), decision, *before)

    @staticmethod
    def _reason(rule: str, text: str, state: ConversationState) -> str:
        """What describes the problem: the message, unless it only asks for people («оператора!»)."""
        if rule == EXPLICIT_RULE or (rule == CALLBACK_RULE and len(text.split()) < STORY_WORDS):
            return state.last_question or ""
        return text

    def _say(self, state: ConversationState, decision: Decision, text: str) -> Turn:
        return Turn((Reply(text),), state.evolve(last_topic=None), decision)

    def _operator_buttons(self) -> tuple[Button, ...]:
        return (Button(OPERATOR, texts.BUTTON_OPERATOR), Button(MENU, texts.BUTTON_MENU))


_NOT_A_QUESTION = {"empty", "no_words", "number"}
_RATED = Decision(Action.SMALLTALK, intent="rating", confidence=1.0)
