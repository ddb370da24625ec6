"""The inbox worker: stored updates → the engine → one transaction of effects and replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from adapters.base import Blocked, Channel, Ignore, Notice
from adapters.text import split_text
from bots.keyed import KeyedQueue, wait_for_either
from dialog.engine import ConversationEngine, Turn
from dialog.messages import InboundMessage
from dialog.state import ConversationState
from storage.models import InboxUpdate
from storage.repositories import MessageRecord, Repository, TurnRecord
from storage.state import StateStore

logger = logging.getLogger("okno.bots.inbox")

ATTEMPTS = 3
BATCH = 200
POLL_SECONDS = 1.0


class InboxWorker:
    def __init__(
        self,
        repository: Repository,
        channels: dict[str, Channel],
        engine: ConversationEngine,
        states: StateStore,
        on_replies: Callable[[], None],
        concurrency: int,
    ) -> None:
        self.repository = repository
        self.channels = channels
        self.engine = engine
        self.states = states
        self.on_replies = on_replies
        self.concurrency = concurrency
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Handle stored updates until `stop`; then finish what was already started."""
        async with asyncio.TaskGroup() as tasks:
            queue: KeyedQueue[InboxUpdate] = KeyedQueue(self.handle, self.concurrency, tasks)
            last_id = 0
            while not stop.is_set():
                rows = await self.repository.pending_updates(last_id, BATCH)
                for row in rows:
                    queue.put(row.chat_key, row)
                    last_id = row.id
                if not rows:
                    await wait_for_either(self._wake, stop, POLL_SECONDS)
                    self._wake.clear()
            # what was received before the stop is answered before the process ends
            for row in await self.repository.pending_updates(last_id, BATCH):
                queue.put(row.chat_key, row)
            await queue.join()

    async def handle(self, row: InboxUpdate) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await self._handle_once(row)
                return
            except Exception:  # a bad update must not stop the worker
                logger.exception("update %s failed (attempt %d of %d)", row.key, attempt, ATTEMPTS)
                await asyncio.sleep(0.2 * attempt**2)
        logger.error("update %s given up after %d attempts", row.key, ATTEMPTS)
        await self.repository.mark_update_done(row.id)

    async def _handle_once(self, row: InboxUpdate) -> None:
        channel = self.channels.get(row.channel)
        if channel is None:
            logger.error("no channel %r configured for update %s; leaving it", row.channel, row.key)
            return
        decoded = channel.decode(row.payload)
        if isinstance(decoded, Ignore):
            logger.debug("update %s ignored: %s", row.key, decoded.reason)
            await self.repository.mark_update_done(row.id)
        elif isinstance(decoded, Blocked):
            await self.repository.set_blocked(row.channel, decoded.chat_id, decoded.blocked)
            await self.repository.mark_update_done(row.id)
        elif isinstance(decoded, Notice):
            message = InboundMessage(row.channel, decoded.chat_id, decoded.user_id)
            await self._record(row, channel, message, None, [MessageRecord(text=decoded.text)])
        else:
            if decoded.payload is not None:
                await channel.acknowledge(row.payload)
            await self._converse(row, channel, decoded)

    async def _converse(self, row: InboxUpdate, channel: Channel, message: InboundMessage) -> None:
        key = f"conversation:{message.channel}:{message.chat_id}"
        stored = await self.states.load(key)
        if stored is None:
            stored = await self.repository.conversation_state(message.channel, message.chat_id)
        turn = self.engine.handle(message, ConversationState.from_dict(stored))
        outbound = replies_to_records(turn, channel.max_text_length, self.engine.knowledge.revision)
        if await self._record(row, channel, message, turn, outbound):
            await self.states.save(key, turn.state.to_dict())

    async def _record(
        self,
        row: InboxUpdate,
        channel: Channel,
        message: InboundMessage,
        turn: Turn | None,
        outbound: list[MessageRecord],
    ) -> bool:
        decision = turn.decision if turn else None
        inbound = MessageRecord(
            text=message.text,
            payload=message.payload,
            attachments=[{"kind": a.kind.value, "size": a.size, "name": a.name} for a in message.attachments],
            platform_message_id=message.platform_message_id,
            outcome=decision.action.value if decision else None,
            topic=decision.topic if decision else None,
            rule=decision.rule if decision else None,
            confidence=decision.confidence if decision else None,
        )
        record = TurnRecord(
            update_id=row.id,
            update_key=row.key,
            channel=row.channel,
            chat_id=message.chat_id,
            user_id=message.user_id,
            display_name=channel.display_name(row.payload),
            inbound=inbound,
            outbound=outbound,
            engine_state=(turn.state.to_dict() if turn else {}),
            keep_state=turn is None,
        )
        written = await self.repository.record_turn(record)
        if written:
            self.on_replies()
        return written is not None


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
