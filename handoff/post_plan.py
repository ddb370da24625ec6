"""Which of an operators' group's waiting posts go next: one job per ticket, in order of need.

A card whose ticket changed (someone took, transferred or resolved it) comes first: it is what
the operator who pressed the button is looking at. Then what belongs to tickets an operator took —
a conversation under way, or its end. Then the rest, those waiting longest first: new tickets'
topics, messages to tickets nobody has taken yet, topics to close. Topic renames come last: the
topic list catching up with a status is the one thing that may lag. Each tier may fill less of
the group's window than the one before it (`group_budget`), so a burst of new tickets never
holds up a conversation, and neither holds up a press.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum

from dialog.tickets import Status, Ticket
from storage.records import QueuedPost


class Tier(IntEnum):
    """How much of the group's window a job may use: the lower, the more (and the sooner it goes)."""

    PRESS = 0  # a card edit after an operator's action
    LIVE = 1  # a ticket an operator took: under way, waiting for the citizen, or just finished
    OTHER = 2
    COSMETIC = 3  # a topic's name: only while the group has room to spare


PRESSED = "press"  # the text of a card post an operator's press made: shown with the press's priority
TEXTS = ("text", "alert", "prompt")  # posted as words, merged when they wait together


class JobKind(Enum):
    MOVE = "move"  # the ticket went to another group: its posts follow it, nothing is sent here
    NEW_TOPIC = "new_topic"  # no topic yet (or it was removed by hand): topic and card
    CARD = "card"  # edit the card in place
    RUN = "run"  # texts, a file, a close or a reopen, in the order they were written
    RENAME = "rename"  # the topic's name after its status


@dataclass(frozen=True, slots=True)
class Job:
    kind: JobKind
    ticket_id: int
    posts: tuple[QueuedPost, ...] = ()
    tier: Tier = Tier.OTHER

    @property
    def sends(self) -> bool:
        return self.kind is not JobKind.MOVE


def plan(
    chat: str,
    posts: Sequence[QueuedPost],
    tickets: dict[int, Ticket],
    card_wait: Callable[[int], float],
    renames: Sequence[int] = (),
) -> tuple[list[Job], float]:
    """The jobs in the order they should go, and — when none may go yet — the seconds until one may."""
    by_ticket: dict[int, list[QueuedPost]] = {}
    for post in posts:
        by_ticket.setdefault(post.ticket_id, []).append(post)
    jobs: list[Job] = []
    soonest = float("inf")
    for ticket_id, waiting in by_ticket.items():  # oldest first: posts come ordered by id
        job, wait = _job(chat, tickets.get(ticket_id), ticket_id, waiting, card_wait)
        if job is None:
            soonest = min(soonest, wait)
        else:
            jobs.append(job)
    jobs.sort(key=lambda job: job.tier)  # stable: the oldest first within a tier
    busy = set(by_ticket)
    tail = [Job(JobKind.RENAME, t, tier=Tier.COSMETIC) for t in renames if t not in busy and t in tickets]
    return [*jobs, *tail], (0.0 if soonest == float("inf") else soonest)


def _job(
    chat: str,
    ticket: Ticket | None,
    ticket_id: int,
    posts: list[QueuedPost],
    card_wait: Callable[[int], float],
) -> tuple[Job | None, float]:
    if ticket is None or ticket.desk_chat_id != chat:
        return Job(JobKind.MOVE, ticket_id, tuple(posts)), 0.0
    cards = tuple(p for p in posts if p.kind == "card")
    tier = Tier.OTHER if ticket.status == Status.NEW else Tier.LIVE
    if ticket.thread_id is None:
        return Job(JobKind.NEW_TOPIC, ticket_id, cards, tier), 0.0
    wait = card_wait(ticket_id) if cards else 0.0
    if cards and wait <= 0:  # a change citizens or the clock made waits like the ticket's messages
        pressed = any(p.text == PRESSED for p in cards)
        return Job(JobKind.CARD, ticket_id, cards, Tier.PRESS if pressed else tier), 0.0
    run = first_run([p for p in posts if p.kind != "card"])
    if run:
        answers_press = any(p.kind == "prompt" for p in run)  # «напишите вопрос» after «Требуется уточнение»
        return Job(JobKind.RUN, ticket_id, tuple(run), Tier.PRESS if answers_press else tier), 0.0
    return None, wait


def first_run(posts: Sequence[QueuedPost]) -> list[QueuedPost]:
    """Consecutive texts go together; every other post stands alone; a close waits for the rest."""
    ordered = [p for p in posts if p.kind != "close"] or list(posts)
    run: list[QueuedPost] = []
    for post in ordered:
        if run and not (post.kind in TEXTS and run[0].kind in TEXTS):
            break
        run.append(post)
        if post.kind == "close":
            return list(ordered)  # only closes left: one close stands for all
    return run
