"""The group's window on a fake clock: Telegram's 20 a minute hold, and an operator's press goes first."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dialog.tickets import Status, Ticket
from handoff.config import HandoffConfig
from handoff.group_budget import WINDOW_SECONDS, GroupBudget, GroupSlots
from handoff.post_plan import PRESSED
from handoff.poster import CardRenderer, GroupPoster
from storage.records import PostRecord, TicketChange
from storage.state import MemoryStore
from storage.tickets import TicketStore
from tests.fakes.desk import MemoryDesk, as_desk
from tests.integration.ticket_helpers import DESK, RULE, open_ticket

SITUATIONS = {RULE: "отказ без объяснения причин"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class Group:
    """A poster, its desk and its clock; every call into the group is stamped with the clock."""

    def __init__(self, store: TicketStore, **config: Any) -> None:
        values: dict[str, Any] = {"group_posts_per_minute": 20, "card_debounce_seconds": 0}
        self.config = HandoffConfig(desk_chats=(DESK,), **(values | config))
        self.clock = Clock()
        self.states = MemoryStore(clock=self.clock)
        self.desk = MemoryDesk(clock=self.clock)
        self.store = store
        budget = GroupBudget(
            self.config.group_posts_per_minute, self.config.action_reserve, self.config.edits_count
        )
        self.poster = GroupPoster(
            store,
            as_desk(self.desk),
            self.config,
            CardRenderer(store, self.config, SITUATIONS),
            GroupSlots(budget, self.states.take_slot),
            self.clock,
            self.clock.sleep,
        )
        self.stamps = self.desk.stamps  # the clock at each call the group received

    async def round(self) -> float:
        return await self.poster.flush_one(DESK)

    async def run_for(self, seconds: float) -> None:
        """Rounds as the loop makes them, the clock moving by what each round asks to wait."""
        end = self.clock.now + seconds
        while self.clock.now < end:
            delay = await self.round()
            self.clock.now += max(delay, 0.05)

    def most_in_a_window(self) -> int:
        return max(
            (sum(1 for t in self.stamps if start <= t < start + 60) for start in self.stamps), default=0
        )


async def fresh(store: TicketStore, ticket: Ticket) -> Ticket:
    found = await store.ticket(ticket.id)
    assert found is not None
    return found


async def take(store: TicketStore, ticket: Ticket, name: str = "Анна") -> None:
    """What pressing «Взять» writes: the ticket in progress and its card to refresh."""
    row = await fresh(store, ticket)
    taken = replace(row, status=Status.IN_PROGRESS, assignee="7", assignee_name=name)
    assert await store.apply(TicketChange(row, taken, None, [PostRecord("card", PRESSED)]))


async def busy_group(store: TicketStore, tickets: int) -> tuple[Group, list[Ticket]]:
    """Tickets with their topics posted, the window then full of the posts that made them."""
    group = Group(store)
    rows = [await open_ticket(store, f"tg:{i}:1") for i in range(tickets)]
    for _ in range(20):
        if not await store.pending_posts(DESK):
            break
        await group.run_for(WINDOW_SECONDS)
    assert not await store.pending_posts(DESK)
    return group, [await fresh(store, row) for row in rows]


async def test_a_press_is_shown_at_once_while_citizens_keep_the_group_busy(store: TicketStore) -> None:
    group, tickets = await busy_group(store, 20)
    for ticket in tickets:  # every citizen writes, more than the window takes
        await store.post(ticket, [PostRecord("text", f"👤 Гражданин: вопрос {ticket.number}")])
    await group.run_for(20)
    assert await store.pending_posts(DESK), "the relays should still be waiting for the window"

    await take(store, tickets[-1])
    pressed = group.clock.now
    await group.run_for(3)

    edits = [i for i, call in enumerate(group.desk.calls) if call[0] == "edit"]
    assert edits, "the card was not edited within 3 s of the press"
    assert group.stamps[edits[-1]] - pressed <= 3
    row = await fresh(store, tickets[-1])
    assert row.card_message_id is not None
    card = group.desk.messages[row.card_message_id]
    assert "в работе" in card["text"] and "Ведёт: Анна" in card["text"]
    assert "Взять" not in [b.label for b in card["buttons"]]


async def test_the_group_never_gets_more_than_its_limit_in_a_minute(store: TicketStore) -> None:
    group, tickets = await busy_group(store, 30)
    for minute in range(3):
        for ticket in tickets:
            await store.post(ticket, [PostRecord("text", f"👤 Гражданин: минута {minute}")])
        await take(store, tickets[minute])
        await group.run_for(60)
    await group.run_for(600)

    assert not await store.pending_posts(DESK)
    assert group.most_in_a_window() <= 20
    gaps = [later - earlier for earlier, later in zip(group.stamps, group.stamps[1:], strict=False)]
    assert min(gaps) >= 1.0  # a second apart, as the FAQ asks of one chat
    # every citizen's three messages arrived, as few posts as the waiting allowed
    for ticket in tickets:
        assert ticket.thread_id is not None
        shown = "\n\n".join(group.desk.posts_in(ticket.thread_id))
        assert all(f"минута {m}" in shown for m in range(3))


async def test_a_card_waiting_for_its_slot_goes_out_as_the_ticket_is_then(store: TicketStore) -> None:
    group, (ticket,) = await busy_group(store, 1)
    edits_before = len(group.desk.calls_of("edit"))
    while await group.states.take_slot(f"desk:{DESK}", 20, WINDOW_SECONDS, 0) == 0.0:
        pass  # the window filled with relays

    await take(store, ticket, "Анна")
    assert await group.round() > 0  # the window is full: the edit waits
    await take(store, ticket, "Борис")  # taken over meanwhile
    await group.run_for(WINDOW_SECONDS + 5)

    row = await fresh(store, ticket)
    assert row.card_message_id is not None
    assert len(group.desk.calls_of("edit")) == edits_before + 1  # one edit for both changes
    assert "Ведёт: Борис" in group.desk.messages[row.card_message_id]["text"]


async def test_the_topic_name_catches_up_after_the_card_and_the_relays(store: TicketStore) -> None:
    group, (ticket,) = await busy_group(store, 1)
    await take(store, ticket)
    await store.post(ticket, [PostRecord("text", "👤 Гражданин: спасибо")])

    await group.run_for(10)

    kinds = [call[0] for call in group.desk.calls[-3:]]
    assert kinds == ["edit", "post", "rename_topic"]
    assert ticket.thread_id is not None
    assert "в работе" in group.desk.topics[ticket.thread_id]["name"]


async def test_edits_can_be_kept_out_of_the_window_where_a_deployment_knows_they_are_free(
    store: TicketStore,
) -> None:
    group = Group(store, edits_count=False)
    ticket = await open_ticket(store, "tg:1:1")
    await group.run_for(5)
    for _ in range(20):  # the window full of relays
        assert await group.states.take_slot(f"desk:{DESK}", 20, WINDOW_SECONDS, 0) >= 0
    await take(store, await fresh(store, ticket))

    await group.run_for(3)

    assert group.desk.calls_of("edit")


async def test_a_conversation_under_way_goes_before_a_burst_of_new_tickets(store: TicketStore) -> None:
    group, (ticket,) = await busy_group(store, 1)
    await take(store, ticket)
    await group.run_for(10)
    newcomers = [await open_ticket(store, f"tg:new{i}:1") for i in range(10)]
    await group.run_for(8)  # the newcomers' topics have filled their share of the window meanwhile
    await store.post(ticket, [PostRecord("text", "👤 Гражданин: вот номер заявления")])
    written = group.clock.now

    await group.run_for(5)

    assert ticket.thread_id is not None
    assert group.desk.posts_in(ticket.thread_id)[-1] == "👤 Гражданин: вот номер заявления"
    texts = [call[3] if len(call) > 3 else "" for call in group.desk.calls]
    relayed = group.stamps[texts.index("👤 Гражданин: вот номер заявления")]
    assert relayed - written <= 2
    waiting = [t for t in newcomers if (await fresh(store, t)).thread_id is None]
    assert waiting, "the newcomers should still be waiting for their share of the window"


async def test_a_card_the_citizen_changed_waits_its_turn_behind_a_press(store: TicketStore) -> None:
    group, (pressed, answered) = await busy_group(store, 2)
    await take(store, pressed)
    row = await fresh(store, answered)
    rated = TicketChange(row, replace(row, rating=5), None, [PostRecord("card")])  # no press
    assert await store.apply(rated)

    await group.run_for(3)

    edited = [call[2] for call in group.desk.calls if call[0] == "edit"]
    assert edited[0] == str(pressed.card_message_id)  # the operator's press first
