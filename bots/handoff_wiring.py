"""Building the human side from the settings: tickets, the operators' group, the ticket watch."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.settings import Settings, SettingsError
from dialog.engine import ConversationEngine
from handoff.actions import OperatorActions
from handoff.canned import CannedReplies, load_canned
from handoff.config import HandoffConfig
from handoff.group_budget import GroupBudget, GroupSlots
from handoff.hours import load_calendar, schedules
from handoff.ports import FetchFile
from handoff.poster import CardRenderer, GroupPoster
from handoff.service import HandoffService
from handoff.tracking import Tracker
from handoff.watch import TicketWatch
from storage.records import CITIZENS_QUEUE, DESK_QUEUE
from storage.state import StateStore
from storage.tickets import TicketStore
from storage.web import WebStore

if TYPE_CHECKING:  # aiogram loads only with a Telegram token (the desk needs one)
    from aiogram import Bot

    from adapters.telegram.desk import TelegramDesk

logger = logging.getLogger("okno.bots.handoff")


def handoff_config(
    settings: Settings, facts: dict[str, str] | None = None, categories: Collection[str] | None = None
) -> HandoffConfig:
    def ids(values: list[int]) -> frozenset[str]:
        return frozenset(str(v) for v in values)

    unknown = sorted(set(settings.desk_routes) - set(categories)) if categories is not None else []
    if unknown:
        raise SettingsError(
            f"Invalid settings:\n  OKNO_DESK_ROUTES: unknown categor{'ies' if len(unknown) > 1 else 'y'} "
            f"{', '.join(unknown)}; the knowledge base has {', '.join(categories or ())}"
        )

    return HandoffConfig(
        desk_chats=tuple(str(c) for c in settings.desk_chat_ids),
        specialist_chat=str(settings.desk_specialist_chat_id) if settings.desk_specialist_chat_id else None,
        operators=ids(settings.desk_operator_ids),
        specialists=ids(settings.desk_specialist_ids),
        supervisors=ids(settings.desk_supervisor_ids),
        show_operator_name=settings.desk_show_operator_name,
        mask_identification=settings.desk_mask_identification,
        reopen_days=settings.ticket_reopen_days,
        take_sla_minutes=settings.ticket_take_sla_minutes,
        needs_info_days=settings.ticket_needs_info_days,
        minutes_per_ticket=settings.ticket_minutes_per_ticket,
        group_posts_per_minute=settings.desk_posts_per_minute,
        card_debounce_seconds=settings.desk_card_debounce_seconds,
        action_reserve=settings.desk_action_reserve,
        edits_count=settings.desk_edits_count,
        hotline=(facts or {}).get("hotline_phone", ""),
        web_inbox=settings.web_inbox,
        routes={category: tuple(str(g) for g in groups) for category, groups in settings.desk_routes.items()},
    )


@dataclass
class Wakers:
    """Everyone to wake when tickets change: the poster, the outbox, the inbox (ticket events)."""

    callbacks: list[Callable[[], None]] = field(default_factory=list)

    def __call__(self) -> None:
        for wake in self.callbacks:
            wake()


def update_queues(desk_chats: Collection[str]) -> Callable[[dict[str, Any]], str]:
    """Which queue a received Telegram update is filed in, told from its raw JSON: the desk's for the
    operators' groups (a press on a card, a message or a membership change there), else the citizens'."""
    chats = frozenset(desk_chats)
    if not chats:  # no operators' group: no need to read the update (nor to load aiogram)
        return lambda _payload: CITIZENS_QUEUE
    from adapters.telegram.desk import desk_chat  # noqa: PLC0415 - groups are Telegram's: aiogram is loaded

    def queue_of(payload: dict[str, Any]) -> str:
        return DESK_QUEUE if desk_chat(payload) in chats else CITIZENS_QUEUE

    return queue_of


@dataclass
class HandoffParts:
    config: HandoffConfig
    store: TicketStore
    service: HandoffService
    wakers: Wakers
    desk: TelegramDesk | None = None
    operators: OperatorActions | None = None
    poster: GroupPoster | None = None
    watch: TicketWatch | None = None
    situations: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)  # id → title: the inbox's expertise filter
    canned: CannedReplies | None = None

    @property
    def telegram_desks(self) -> tuple[str, ...]:
        """The groups whose updates the desk worker handles: none without the Telegram desk."""
        return self.config.all_desks() if self.desk is not None else ()


def build_handoff(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    states: StateStore,
    engine: ConversationEngine,
    bot: Bot | None,
    web_store: WebStore,
    fetch_file: FetchFile,
    clock: Callable[[], datetime] | None = None,
) -> HandoffParts:
    facts = engine.knowledge.facts
    config = handoff_config(settings, facts, [c.id for c in engine.knowledge.categories])
    clock = clock or (lambda: datetime.now(UTC))
    hours = schedules(facts, load_calendar())
    store = TicketStore(sessions)
    wakers = Wakers()
    tracker = Tracker(store, config, wakers)
    parts = HandoffParts(config, store, HandoffService(store, config, hours, tracker, clock, wakers), wakers)
    if not config.enabled:
        if bot is not None:
            logger.warning(
                "OKNO_DESK_CHAT_IDS is not set and the web inbox is off: "
                "citizens who need a person are told to call the hotline"
            )
        return parts
    rules = engine.classifier.rules
    parts.situations = {rule_id: rule.situation for rule_id, rule in rules.by_id.items()}
    parts.categories = {category.id: category.title for category in engine.knowledge.categories}
    parts.canned = load_canned(facts)
    parts.watch = TicketWatch(store, config, hours, tracker, clock)
    if bot is not None and config.desk_chats:
        from adapters.telegram.desk import TelegramDesk  # noqa: PLC0415 - aiogram only with a Telegram token

        parts.desk = TelegramDesk(bot, fetch_file)
        renderer = CardRenderer(store, config, parts.situations)
        budget = GroupBudget(config.group_posts_per_minute, config.action_reserve, config.edits_count)
        parts.poster = GroupPoster(store, parts.desk, config, renderer, GroupSlots(budget, states.take_slot))
        wakers.callbacks.append(parts.poster.wake)
    parts.operators = OperatorActions(store, parts.desk, config, tracker, parts.canned, clock, web_store)
    return parts
