"""Canned replies for operators, from a data file, with the ticket's number and the facts filled in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dialog.messages import Button
from dialog.tickets import Ticket
from handoff.errors import HandoffError

CANNED_FILE = Path(__file__).parent / "canned.yaml"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
TICKET_FIELDS = {"number", "operator"}


@dataclass(frozen=True, slots=True)
class CannedReply:
    id: str
    title: str
    text: str


class CannedReplies:
    def __init__(self, replies: list[CannedReply], facts: dict[str, str]) -> None:
        self.replies = {r.id: r for r in replies}
        self.facts = facts

    def get(self, reply_id: str) -> CannedReply | None:
        return self.replies.get(reply_id)

    def buttons(self, ticket_id: int) -> tuple[Button, ...]:
        return tuple(Button(f"tpl:{ticket_id}:{r.id}", r.title) for r in self.replies.values())

    def render(self, reply: CannedReply, ticket: Ticket) -> str:
        values = self.facts | {"number": ticket.number or "", "operator": ticket.assignee_name or "оператор"}
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), reply.text)


def load_canned(facts: dict[str, str], path: Path = CANNED_FILE) -> CannedReplies:
    """Read and check the file: every placeholder must be a fact or a ticket field."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        replies = [
            CannedReply(str(e["id"]), str(e["title"]), str(e["text"]).strip()) for e in data["replies"]
        ]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise HandoffError(f"{path}: cannot read canned replies: {exc}") from exc
    unknown = sorted(
        {f"{r.id}: {{{name}}}" for r in replies for name in _PLACEHOLDER.findall(r.text)}
        - {f"{r.id}: {{{name}}}" for r in replies for name in [*facts, *TICKET_FIELDS]}
    )
    if unknown:
        raise HandoffError(f"{path}: unknown placeholders: {', '.join(unknown)}")
    return CannedReplies(replies, facts)
