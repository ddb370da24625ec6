"""Per-conversation state: a small value that serializes to JSON-compatible data."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class ConversationState:
    last_topic: str | None = None  # the topic whose «Помог ли ответ?» is open
    offered: tuple[str, ...] = ()  # topic ids offered as buttons in the last turn
    fallbacks: int = 0  # fallbacks in a row
    not_helped: int = 0  # «Нет» answers to «Помог ли ответ?» in a row
    handed_off: str | None = None  # the rule of the ticket people are working on: messages go to them
    turns: int = 0
    intake: dict[str, Any] | None = None  # the identification dialogue before a ticket: rule, step…
    identity: dict[str, str] = field(default_factory=dict)  # what the citizen told; "" when skipped
    last_question: str | None = None  # the citizen's last question, a ready description for a ticket
    rating_for: str | None = None  # the resolved ticket whose rating is asked
    rating_stage: str | None = None  # "score", then "comment"
    after_ticket: str | None = None  # the ticket people just finished: «не решено» brings it back
    recent_topic: str | None = None  # the topic last answered: its category routes a ticket to experts

    def to_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies field by field, a cost paid on every message
        data = {name: getattr(self, name) for name in _FIELDS}
        data["offered"] = list(self.offered)
        data["identity"] = dict(self.identity)
        data["intake"] = None if self.intake is None else dict(self.intake)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ConversationState:
        """Rebuild from stored data; unknown or malformed fields fall back to defaults."""
        if not isinstance(data, dict):
            return cls()
        try:
            return cls(
                last_topic=_opt_str(data.get("last_topic")),
                offered=tuple(str(t) for t in data.get("offered") or ()),
                fallbacks=int(data.get("fallbacks") or 0),
                not_helped=int(data.get("not_helped") or 0),
                handed_off=_opt_str(data.get("handed_off")),
                turns=int(data.get("turns") or 0),
                intake=data["intake"] if isinstance(data.get("intake"), dict) else None,
                identity={str(k): str(v) for k, v in (data.get("identity") or {}).items()},
                last_question=_opt_str(data.get("last_question")),
                rating_for=_opt_str(data.get("rating_for")),
                rating_stage=_opt_str(data.get("rating_stage")),
                after_ticket=_opt_str(data.get("after_ticket")),
                recent_topic=_opt_str(data.get("recent_topic")),
            )
        except (TypeError, ValueError, AttributeError):
            return cls()

    def evolve(self, **changes: Any) -> ConversationState:
        return replace(self, **changes)


_FIELDS = tuple(f.name for f in fields(ConversationState))


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
