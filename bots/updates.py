"""The update worker: citizens' stored updates → the engine → one transaction of effects and replies per
batch. (The operators' groups' updates have a queue and a worker of their own: bots/desk_updates.py.)

Updates are taken in the order they were stored. Within a batch each chat's updates run
through the engine one after another with the chat's state carried along, so a chat is
always answered in order; the whole batch is then written in one transaction together
with the keys that make every update count exactly once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.base import Blocked, Channel, Decoded, Ignore, Notice
from bots.metrics import Metrics
from dialog.engine import ConversationEngine, Turn
from dialog.messages import InboundMessage, SystemEvent
from dialog.presses import is_event, press_label
from dialog.splitting import split_text
from dialog.state import ConversationState
from handoff.jobs import effects_to_jobs
from handoff.polling import QueueWorker
from storage.models import InboxUpdate
from storage.outage import Outage, is_outage, left_for_next_start, until_back
from storage.records import CITIZENS_QUEUE, MessageRecord, TurnRecord
from storage.repositories import Repository
from storage.state import StateStore

logger = logging.getLogger("okno.bots.updates")

ATTEMPTS = 3
BATCH = 200


@dataclass
class Batch:
    """What one batch of updates produces before it is written."""

    turns: list[TurnRecord]
    done_ids: list[int]
    states: dict[str, ConversationState]


class UpdateWorker:
    def __init__(
        self,
        repository: Repository,
        channels: dict[str, Channel],
        engine: ConversationEngine,
        states: StateStore,
        on_replies: Callable[[], None],
    ) -> None:
        self.repository = repository
        self.channels = channels
        self.engine = engine
        self.states = states
        self.on_replies = on_replies
        self.outage = Outage("inbox", logger)
        self.queue = QueueWorker(
            functools.partial(repository.pending_updates, CITIZENS_QUEUE),
            functools.partial(repository.updates_among, CITIZENS_QUEUE),
            BATCH,
            self.outage,
            functools.partial(repository.settled_updates, CITIZENS_QUEUE),
        )
        self.metrics = Metrics()  # the wiring shares one with /metrics
        # tells the people on the citizen's ticket at once that replies will not arrive; set by the wiring
        self.on_blocked: Callable[[str, str], Awaitable[None]] | None = None

    def wake(self) -> None:
        self.queue.wake()

    async def run(self, stop: asyncio.Event) -> None:
        """Handle stored updates until `stop`, then what was received before it. While the
        database or the state store is away the same updates wait: nothing is skipped."""
        await self.queue.run(stop, self._handle_through_outages)
        with left_for_next_start(logger, "the updates not handled yet"):
            while rows := await self.queue.rest():
                await self.handle_batch(rows)

    async def _handle_through_outages(self, rows: list[InboxUpdate]) -> None:
        """The batch again after each outage, less what got written before it (one by one)."""
        for row in rows:
            self.metrics.received.labels(row.channel).inc()
        while rows:
            try:
                await self.handle_batch(rows)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                await self.outage.wait(exc)
                ids = [row.id for row in rows]
                among = functools.partial(self.repository.updates_among, CITIZENS_QUEUE, ids)
                rows = await until_back(among, self.outage)
                continue
            self.outage.recovered()
            return

    async def handle_batch(self, rows: list[InboxUpdate]) -> None:
        """One transaction for the batch; an outage is raised before anything is written, so the
        same rows can be handled again."""
        try:
            batch = await self._process(rows)
            await self.repository.record_turns(batch.turns, batch.done_ids)
        except Exception as exc:  # one bad update must not hold up the others: go one by one
            if is_outage(exc):
                raise
            logger.exception("a batch of %d updates failed; handling them one by one", len(rows))
            for row in rows:
                await self._handle_alone(row)
            return
        await self._after_write(batch)

    async def _handle_alone(self, row: InboxUpdate) -> None:
        reason = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                batch = await self._process([row])
                await self.repository.record_turns(batch.turns, batch.done_ids)
                await self._after_write(batch)
                return
            except Exception as exc:  # retried, then given up so the chat moves on
                if is_outage(exc):
                    raise
                logger.exception("update %s failed (attempt %d of %d)", row.key, attempt, ATTEMPTS)
                reason = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.2 * attempt**2)
        logger.error("update %s given up after %d attempts; see `okno dlq list`", row.key, ATTEMPTS)
        give_up = functools.partial(self.repository.dead_letters.give_up_update, row, reason, ATTEMPTS)
        await until_back(give_up, self.outage)

    async def _after_write(self, batch: Batch) -> None:
        """The turns are written: from here on nothing may send the batch round again, so the state
        store is waited for rather than failed on (a stale state there would answer wrongly)."""
        states = {key: state.to_dict() for key, state in batch.states.items()}
        await until_back(lambda: self.states.save_many(states), self.outage)
        if batch.turns:
            self.on_replies()

    async def _process(self, rows: list[InboxUpdate]) -> Batch:
        decoded = [(row, self._decode(row)) for row in rows]
        await self._acknowledge(decoded)
        states = await self._load_states(
            [d for _, d in decoded if isinstance(d, InboundMessage | SystemEvent)]
        )
        batch = Batch([], [], {})
        for row, item in decoded:
            channel = self.channels.get(row.channel)
            if channel is None:  # stored while that channel was configured: kept for when it is again
                logger.warning("an update of %s waits: that channel is not configured now", row.channel)
                continue
            if isinstance(item, InboundMessage | SystemEvent):
                key = state_key(item)
                message, turn = self._run_engine(item, states[key])
                states[key] = batch.states[key] = turn.state
                batch.turns.append(self._turn_record(row, channel, message, turn))
            elif isinstance(item, Notice):
                message = InboundMessage(row.channel, item.chat_id, item.user_id)
                notice = [MessageRecord(text=item.text)]
                batch.turns.append(self._turn_record(row, channel, message, None, notice))
            else:
                if isinstance(item, Blocked):
                    await self.repository.set_blocked(row.channel, item.chat_id, item.blocked)
                    if item.blocked and self.on_blocked is not None:
                        await self.on_blocked(row.channel, item.chat_id)
                batch.done_ids.append(row.id)
        return batch

    def _run_engine(
        self, item: InboundMessage | SystemEvent, state: ConversationState
    ) -> tuple[InboundMessage, Turn]:
        started = time.perf_counter()
        if isinstance(item, SystemEvent):  # recorded as a message of the conversation, like a button
            message = InboundMessage(item.channel, item.chat_id, item.user_id, payload=f"event:{item.kind}")
            turn = self.engine.handle_event(item, state)
        else:
            message, turn = item, self.engine.handle(item, state)
        self.metrics.engine_seconds.observe(time.perf_counter() - started)
        self.metrics.handled.labels(item.channel, turn.decision.action.value).inc()
        return message, turn

    def _decode(self, row: InboxUpdate) -> Decoded | SystemEvent:
        channel = self.channels.get(row.channel)
        if channel is None:
            return Ignore("channel not configured")
        try:
            event = SystemEvent.decode(row.channel, row.payload)  # written by the handoff side only
        except ValueError:
            logger.exception("inbox row %s holds a damaged ticket event; skipped", row.id)
            return Ignore("damaged ticket event")
        return event or channel.decode(row.payload)

    async def _acknowledge(self, decoded: list[tuple[InboxUpdate, Decoded | SystemEvent]]) -> None:
        """Pressed buttons stop spinning before anything else happens."""
        pressed = [
            self.channels[row.channel].acknowledge(row.payload)
            for row, item in decoded
            if isinstance(item, InboundMessage) and item.payload is not None
        ]
        await asyncio.gather(*pressed)

    async def _load_states(
        self, messages: list[InboundMessage | SystemEvent]
    ) -> dict[str, ConversationState]:
        chats = list(dict.fromkeys((m.channel, m.chat_id) for m in messages))
        keys = [state_key_of(channel, chat) for channel, chat in chats]
        cached = dict(zip(chats, await self.states.load_many(keys), strict=True))
        missing = [chat for chat, value in cached.items() if value is None]
        # not in the state store (a restart without Redis): the database has the latest state
        cached |= await self.repository.conversation_states(missing)
        return {state_key_of(*chat): ConversationState.from_dict(value) for chat, value in cached.items()}

    def _turn_record(
        self,
        row: InboxUpdate,
        channel: Channel,
        message: InboundMessage,
        turn: Turn | None,
        notice: list[MessageRecord] | None = None,
    ) -> TurnRecord:
        decision = turn.decision if turn else None
        text = message.text
        if not text and message.payload and not is_event(message.payload):  # transcripts show the label
            text = press_label(message.payload, self.engine.knowledge)
        inbound = MessageRecord(
            text=text,
            payload=message.payload,
            attachments=[
                {"kind": a.kind.value, "size": a.size, "name": a.name, "mime": a.mime_type, "ref": a.ref}
                | ({"duration": a.duration} if a.duration is not None else {})
                for a in message.attachments
            ],
            platform_message_id=message.platform_message_id,
            outcome=decision.action.value if decision else None,
            topic=decision.topic if decision else None,
            rule=decision.rule if decision else None,
            confidence=decision.confidence if decision else None,
        )
        revision = self.engine.knowledge.revision
        outbound = replies_to_records(turn, channel.max_text_length, revision) if turn else notice or []
        return TurnRecord(
            update_id=row.id,
            update_key=row.key,
            channel=row.channel,
            chat_id=message.chat_id,
            user_id=message.user_id,
            display_name=channel.display_name(row.payload),
            inbound=inbound,
            outbound=outbound,
            engine_state=turn.state.to_dict() if turn else {},
            keep_state=turn is None,
            jobs=effects_to_jobs(turn.effects) if turn else (),
        )


def state_key(message: InboundMessage | SystemEvent) -> str:
    return state_key_of(message.channel, message.chat_id)


def state_key_of(channel: str, chat_id: str) -> str:
    return f"conversation:{channel}:{chat_id}"


def replies_to_records(turn: Turn, limit: int, revision: str) -> list[MessageRecord]:
    """Each reply cut to the channel's length; buttons go with the last part."""
    records = []
    decision = turn.decision
    for reply in turn.replies:
        parts = split_text(reply.text, limit)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            records.append(
                MessageRecord(
                    text=part,
                    buttons=[[b.id, b.label] for b in reply.buttons] if last else [],
                    outcome=decision.action.value,
                    topic=decision.topic,
                    rule=decision.rule,
                    confidence=decision.confidence,
                    kb_revision=revision,
                )
            )
    return records
