"""GroupPoster over an operators' group in memory: topics, merged texts, debounced cards, the budget."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import replace
from typing import Any

import pytest

from dialog.tickets import Ticket
from handoff.config import HandoffConfig
from handoff.errors import DeskBusy, DeskRefused, DeskUnavailable
from handoff.group_budget import GroupBudget, GroupSlots
from handoff.poster import POST_ATTEMPTS, POST_LIMIT, TICKETS_AT_ONCE, CardRenderer, GroupPoster
from storage.records import PostRecord, TicketChange
from storage.state import MemoryStore
from storage.tickets import TicketStore
from tests.fakes.desk import MemoryDesk, as_desk
from tests.integration.ticket_helpers import DESK, RULE, open_ticket

SITUATIONS = {RULE: "отказ без объяснения причин"}


@pytest.fixture
def desk() -> MemoryDesk:
    return MemoryDesk()


def make_poster(store: TicketStore, desk: MemoryDesk, **config: Any) -> GroupPoster:
    values: dict[str, Any] = {"group_posts_per_minute": 0, "card_debounce_seconds": 0}
    settings = HandoffConfig(desk_chats=(DESK,), **(values | config))
    renderer = CardRenderer(store, settings, SITUATIONS)
    budget = GroupBudget(settings.group_posts_per_minute, settings.action_reserve, settings.edits_count)
    return GroupPoster(store, as_desk(desk), settings, renderer, GroupSlots(budget, MemoryStore().take_slot))


async def fresh(store: TicketStore, ticket: Ticket) -> Ticket:
    found = await store.ticket(ticket.id)
    assert found is not None
    return found


async def change(store: TicketStore, ticket: Ticket, posts: list[PostRecord], **values: Any) -> None:
    current = await fresh(store, ticket)
    assert await store.apply(TicketChange(current, replace(current, **values), None, posts)) is not None


async def say(store: TicketStore, ticket: Ticket, *lines: str) -> None:
    """Posts for the topic, each written on its own, as citizens' messages arrive."""
    for line in lines:
        await store.post(ticket, [PostRecord("text", line)])


async def drain(poster: GroupPoster, store: TicketStore, seconds: float = 20.0) -> None:
    """Run the group's queue until nothing waits, sleeping as long as the poster asks."""
    deadline = time.monotonic() + seconds
    while await store.pending_posts(DESK):
        assert time.monotonic() < deadline, "posts still waiting"
        delay = await poster.flush_one(DESK)
        if delay:
            await asyncio.sleep(delay)


def posted(desk: MemoryDesk) -> list[str]:
    """Texts of the posts the poster made, in the order it made them."""
    return [call[3] for call in desk.calls_of("post")]


async def test_the_first_card_opens_a_topic_with_the_card_and_its_buttons(
    store: TicketStore, desk: MemoryDesk
) -> None:
    ticket = await open_ticket(store, "tg:1:1")

    await drain(make_poster(store, desk), store)

    row = await fresh(store, ticket)
    assert [call[0] for call in desk.calls] == ["create_topic", "post"]
    assert row.thread_id is not None and row.card_message_id is not None
    assert desk.topics[row.thread_id] == {
        "chat": DESK,
        "name": f"{ticket.number} · новое · отказ без объяснения причин",
        "closed": False,
    }
    card = desk.messages[row.card_message_id]
    assert card["thread"] == row.thread_id
    assert card["text"].startswith(f"Обращение № {ticket.number} · новое")
    assert [b.id for b in card["buttons"]] == [f"take:{row.id}", f"transfer:{row.id}", f"templates:{row.id}"]
    assert await store.pending_posts(DESK) == []


async def test_a_burst_of_texts_goes_out_as_one_post(store: TicketStore, desk: MemoryDesk) -> None:
    poster = make_poster(store, desk)
    ticket = await open_ticket(store, "tg:1:1")
    await drain(poster, store)
    lines = [f"👤 Гражданин: сообщение {i}" for i in range(25)]
    await say(store, ticket, *lines)

    await drain(poster, store)

    thread = (await fresh(store, ticket)).thread_id
    assert thread is not None
    assert len(desk.calls_of("post")) == 2  # the card, then everything the citizen wrote
    assert desk.posts_in(thread)[1:] == ["\n\n".join(lines)]


async def test_texts_too_long_for_one_post_take_as_few_as_the_limit_allows(
    store: TicketStore, desk: MemoryDesk
) -> None:
    poster = make_poster(store, desk)
    ticket = await open_ticket(store, "tg:1:1")
    await drain(poster, store)
    lines = [chr(ord("А") + i) * 500 for i in range(25)]  # 7 of them fit in 4000 characters
    await say(store, ticket, *lines)

    await drain(poster, store)

    texts = posted(desk)[1:]
    assert len(texts) == 4
    assert all(len(text) <= POST_LIMIT for text in texts)
    assert "\n\n".join(texts) == "\n\n".join(lines)


async def test_card_refreshes_within_the_debounce_make_one_edit(store: TicketStore, desk: MemoryDesk) -> None:
    poster = make_poster(store, desk, card_debounce_seconds=0.3)
    ticket = await open_ticket(store, "tg:1:1")
    await drain(poster, store)
    shown_at = desk.stamps[-1]

    await change(store, ticket, [PostRecord("card")], description="первое уточнение")
    assert await poster.flush_one(DESK) > 0  # too soon after the card was posted
    await change(store, ticket, [PostRecord("card")], description="второе уточнение")
    await drain(poster, store)

    edits = [i for i, call in enumerate(desk.calls) if call[0] == "edit"]
    assert len(edits) == 1
    assert desk.stamps[edits[0]] - shown_at >= 0.3 - 0.01
    row = await fresh(store, ticket)
    assert row.card_message_id is not None
    card = desk.messages[row.card_message_id]["text"]
    assert "Описание: второе уточнение" in card
    assert "первое" not in card


async def test_an_unchanged_card_is_not_edited(store: TicketStore, desk: MemoryDesk) -> None:
    poster = make_poster(store, desk)
    ticket = await open_ticket(store, "tg:1:1")
    await drain(poster, store)

    await store.post(ticket, [PostRecord("card"), PostRecord("card")])
    await drain(poster, store)

    assert [call[0] for call in desk.calls] == ["create_topic", "post"]


@pytest.mark.parametrize("by_hand", ["deleted", "closed"])
async def test_a_topic_removed_by_hand_comes_back_with_the_card_first(
    store: TicketStore, desk: MemoryDesk, by_hand: str
) -> None:
    poster = make_poster(store, desk)
    ticket = await open_ticket(store, "tg:1:1")
    await drain(poster, store)
    old = await fresh(store, ticket)
    assert old.thread_id is not None and old.card_message_id is not None
    card = desk.messages[old.card_message_id]["text"]
    if by_hand == "deleted":
        desk.delete_topic(old.thread_id)
    else:
        desk.close_by_hand(old.thread_id)

    await say(store, ticket, "👤 Гражданин: вы тут?")
    await drain(poster, store)

    row = await fresh(store, ticket)
    assert row.thread_id is not None and row.thread_id != old.thread_id
    assert desk.topics[row.thread_id]["name"].startswith(str(ticket.number))
    assert desk.posts_in(row.thread_id) == [card, "👤 Гражданин: вы тут?"]
    assert row.card_message_id is not None
    assert desk.messages[row.card_message_id]["buttons"]


async def test_the_tickets_waiting_longest_go_first_and_none_is_left_behind(
    store: TicketStore, desk: MemoryDesk
) -> None:
    poster = make_poster(store, desk)
    tickets = [await open_ticket(store, f"tg:{i}:1") for i in range(TICKETS_AT_ONCE + 1)]
    await drain(poster, store)
    cards = len(posted(desk))
    for ticket in reversed(tickets):  # the newest ticket writes first, the oldest last
        await say(store, ticket, f"{ticket.number}: первое")

    await poster.flush_one(DESK)

    first_round = set(posted(desk)[cards:])
    assert first_round == {f"{t.number}: первое" for t in tickets[1:]}  # the last to write waits
    for ticket in reversed(tickets[1:]):  # the others write again: their posts are newer than its
        await say(store, ticket, f"{ticket.number}: второе")

    await poster.flush_one(DESK)

    second_round = set(posted(desk)[cards + len(first_round) :])
    assert f"{tickets[0].number}: первое" in second_round
    assert len(second_round) == TICKETS_AT_ONCE
    assert f"{tickets[1].number}: второе" not in second_round  # wrote last this time
    await drain(poster, store)
    assert len(posted(desk)) == cards + 2 * len(tickets) - 1


async def test_the_group_budget_spaces_the_posts(store: TicketStore, desk: MemoryDesk) -> None:
    poster = make_poster(store, desk, group_posts_per_minute=600)  # 10 a second
    granted: list[float] = []
    take = poster.slots._take

    async def recorded(key: str, limit: int, window: float, spacing: float) -> float:
        wait = await take(key, limit, window, spacing)
        if not wait:
            granted.append(time.monotonic())
        return wait

    poster.slots._take = recorded
    tickets = [await open_ticket(store, f"tg:{i}:1") for i in range(3)]
    for ticket in tickets:
        await say(store, ticket, f"👤 Гражданин: вопрос {ticket.id}")

    await drain(poster, store)

    assert len(desk.calls) == 9  # a topic, a card and a text for each
    assert poster.sent == len(desk.calls) == len(granted)  # every call paid for with a slot
    gaps = [later - earlier for earlier, later in itertools.pairwise(granted)]
    assert min(gaps) >= 0.1 - 0.005, gaps


async def test_a_finished_ticket_keeps_its_topic_closed(store: TicketStore, desk: MemoryDesk) -> None:
    poster = make_poster(store, desk)
    ticket = await open_ticket(store, "tg:1:1")
    await drain(poster, store)
    await change(
        store,
        ticket,
        [PostRecord("text", "ℹ️ Решено (Анна)."), PostRecord("card"), PostRecord("close")],
        status="resolved",
    )
    await drain(poster, store)
    row = await fresh(store, ticket)
    assert row.thread_id is not None and row.card_message_id is not None
    assert desk.topics[row.thread_id]["closed"]
    assert desk.posts_in(row.thread_id)[-1] == "ℹ️ Решено (Анна)."
    assert desk.messages[row.card_message_id]["buttons"] == ()  # nothing left to press

    await say(store, ticket, "ℹ️ ⭐ Оценка гражданина: 5 из 5.")  # after the topic was closed
    await drain(poster, store)

    assert len(desk.calls_of("create_topic")) == 1  # no new topic for a note about a finished ticket
    assert (await fresh(store, ticket)).thread_id == row.thread_id


async def test_the_group_loop_posts_when_woken_and_stops(store: TicketStore, desk: MemoryDesk) -> None:
    poster = make_poster(store, desk)
    stop = asyncio.Event()
    loop = asyncio.create_task(poster.run(stop))
    try:
        await asyncio.sleep(0.05)  # the loop found nothing and waits
        ticket = await open_ticket(store, "tg:1:1")
        poster.wake()
        # sooner than its next look at the database: posted, and the card's id written down
        async with asyncio.timeout(0.5):
            while not desk.calls_of("post") or (await fresh(store, ticket)).card_message_id is None:
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        async with asyncio.timeout(5):
            with contextlib.suppress(asyncio.CancelledError):
                await loop
    assert loop.done()


async def settle(seconds: float = 10.0) -> None:
    """Wait until no task but this one runs: flushes the poster may have left behind."""
    me = asyncio.current_task()
    async with asyncio.timeout(seconds):
        while any(not task.done() for task in asyncio.all_tasks() if task is not me):
            await asyncio.sleep(0.02)


async def test_a_refusal_for_one_ticket_does_not_post_the_others_twice(
    store: TicketStore, desk: MemoryDesk
) -> None:
    poster = make_poster(store, desk, group_posts_per_minute=300)  # one post each 0.2 s
    tickets = [await open_ticket(store, f"tg:{i}:1") for i in range(3)]
    desk.fail_next("create_topic", DeskBusy(0.01))  # Telegram's 429 for one of them
    stop = asyncio.Event()
    loop = asyncio.create_task(poster.run(stop))
    try:
        async with asyncio.timeout(20):
            while await store.pending_posts(DESK):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await loop
        await settle()

    threads = {(await fresh(store, t)).thread_id for t in tickets}
    assert len(threads) == 3
    assert set(desk.topics) == threads  # one topic per ticket, none left without its ticket


async def a_ticket_saying(store: TicketStore, desk: MemoryDesk, text: str) -> tuple[GroupPoster, Ticket]:
    """A ticket whose topic and card are posted, and a citizen's text waiting for it."""
    poster = make_poster(store, desk)
    ticket = await open_ticket(store, "tg:1:1")
    await drain(poster, store)
    await say(store, ticket, text)
    return poster, ticket


async def test_a_post_refused_for_good_goes_to_the_dead_letters_and_the_next_one_goes_out(
    store: TicketStore, desk: MemoryDesk
) -> None:
    poster, ticket = await a_ticket_saying(store, desk, "первое сообщение")
    desk.fail_next("post", DeskRefused("Bad Request: can't parse entities"))
    await drain(poster, store)
    await say(store, ticket, "второе сообщение")
    await drain(poster, store)

    assert posted(desk)[-1] == "второе сообщение"
    (letter,) = await store.dead_letters.letters()
    assert (letter.kind, letter.payload["text"]) == ("post", "первое сообщение")
    assert "can't parse entities" in letter.reason

    await store.dead_letters.retry(letter.id)  # `okno dlq retry`: the group takes it now
    await drain(poster, store)
    assert posted(desk)[-1] == "первое сообщение"
    assert await store.dead_letters.count() == 0


async def test_an_unexplained_failure_is_retried_then_given_up_but_an_outage_is_waited_out(
    store: TicketStore, desk: MemoryDesk
) -> None:
    poster, ticket = await a_ticket_saying(store, desk, "во время сбоя")
    for _ in range(POST_ATTEMPTS * 2):  # the API away for a long while: never given up
        desk.fail_next("post", DeskUnavailable("Bad Gateway"))
    for _ in range(POST_ATTEMPTS * 2):
        with contextlib.suppress(DeskUnavailable):
            await poster.flush_one(DESK)
    assert await store.dead_letters.count() == 0
    await drain(poster, store)
    assert posted(desk)[-1] == "во время сбоя"

    await say(store, ticket, "на ошибке")
    for _ in range(POST_ATTEMPTS):
        desk.fail_next("post", ValueError("a bug"))  # no outage explains it
    for attempt in range(1, POST_ATTEMPTS + 1):
        try:
            await poster.flush_one(DESK)
        except ValueError:
            assert attempt < POST_ATTEMPTS, "the last attempt gives the post up instead of failing"
    (letter,) = await store.dead_letters.letters()
    assert (letter.payload["text"], letter.attempts) == ("на ошибке", POST_ATTEMPTS)
    assert not await store.pending_posts(DESK)
