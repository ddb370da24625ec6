"""How the human side is set up: the operators' groups, who may act, and the time limits."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HandoffConfig:
    desk_chats: tuple[str, ...] = ()  # operators' groups; tickets are spread over them
    specialist_chat: str | None = None  # level 3 tickets; None: the operators' group
    operators: frozenset[str] = field(default_factory=frozenset)  # empty: any member of the group
    specialists: frozenset[str] = field(default_factory=frozenset)  # empty: any operator
    supervisors: frozenset[str] = field(default_factory=frozenset)
    show_operator_name: bool = True
    mask_identification: bool = True
    reopen_days: float = 7.0
    take_sla_minutes: float = 15.0
    needs_info_days: float = 3.0
    minutes_per_ticket: float = 6.0  # for the citizen's wait estimate
    group_posts_per_minute: float = 20.0  # Telegram allows a bot about 20 messages a minute in a group
    action_reserve: int = 4  # of those, kept for card edits: an operator's press shows at once
    edits_count: bool = True  # Telegram charges edits like messages (see handoff/group_budget.py)
    card_debounce_seconds: float = 2.0
    transcript_messages: int = 12
    hotline: str = ""  # told to citizens when no operators' group is connected
    web_inbox: bool = False  # operators also work in the browser (or only there)
    # the operators with the expertise: a knowledge-base category → its groups (others: desk_chats)
    routes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        """Someone can see tickets: an operators' group, the web inbox, or both."""
        return bool(self.desk_chats) or self.web_inbox

    def all_desks(self) -> tuple[str, ...]:
        groups = [*self.desk_chats, *(g for groups in self.routes.values() for g in groups)]
        if self.specialist_chat:
            groups.append(self.specialist_chat)
        return tuple(dict.fromkeys(groups))

    def desk_for(self, level: int, spread: int, category: str | None = None) -> str | None:
        """The group a ticket goes to: the specialists' for level 3, else the groups with the
        expertise in its category (or the default ones); `spread` picks one of several."""
        if level >= 3 and self.specialist_chat:
            return self.specialist_chat
        groups = self.routes.get(category or "") or self.desk_chats
        return groups[spread % len(groups)] if groups else None
