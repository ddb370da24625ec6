"""Writing a batch of handled updates in one transaction, with a few statements for all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.bulk import table, update_by_id
from storage.models import (
    Contact,
    Conversation,
    HandoffJob,
    InboxUpdate,
    Message,
    OutboxMessage,
    ProcessedUpdate,
    utcnow,
)
from storage.partitions import chat_partition
from storage.records import MessageRecord, TurnRecord
from storage.safe import fit, safe_json, safe_text

NAME_SIZE = 256  # Contact.display_name
PAYLOAD_SIZE = 256  # Message.payload: a pressed button's data
ID_SIZE = 64  # Message.platform_message_id


async def write_turns(
    session: AsyncSession, turns: Sequence[TurnRecord], done_ids: Sequence[int]
) -> set[str]:
    """Record the turns whose keys are new; returns those keys. Marks every given inbox row done."""
    keys = [t.update_key for t in turns]
    seen = set(
        (await session.scalars(select(ProcessedUpdate.key).where(ProcessedUpdate.key.in_(keys)))).all()
    )
    fresh = [storable(t) for t in _first_of_each_key([t for t in turns if t.update_key not in seen])]
    if fresh:
        await session.execute(insert(table(ProcessedUpdate)), [{"key": t.update_key} for t in fresh])
        contacts = await _contacts(session, fresh)
        conversations = await _conversations(session, fresh, contacts)
        slots = await _messages_and_outbox(session, fresh, conversations)
        await _states(session, fresh, conversations)
        await _jobs(session, fresh, slots)
    ids = list(done_ids) + [t.update_id for t in turns if t.update_id is not None]
    if ids:
        await session.execute(update(InboxUpdate).where(InboxUpdate.id.in_(ids)).values(done=True))
    return {t.update_key for t in fresh}


def storable(turn: TurnRecord) -> TurnRecord:
    """The turn with what came from outside made safe for every database: the citizen's text, name,
    button data and the handoff jobs that quote them."""
    return replace(
        turn,
        display_name=fit(safe_text(turn.display_name), NAME_SIZE) if turn.display_name else None,
        inbound=_storable_message(turn.inbound),
        outbound=[_storable_message(m) for m in turn.outbound],
        jobs=[replace(job, payload=safe_json(job.payload)) for job in turn.jobs],
    )


def _storable_message(record: MessageRecord) -> MessageRecord:
    return replace(
        record,
        text=safe_text(record.text),
        payload=fit(safe_text(record.payload), PAYLOAD_SIZE) if record.payload else None,
        attachments=safe_json(record.attachments),
        platform_message_id=fit(record.platform_message_id, ID_SIZE),
    )


def _first_of_each_key(turns: Sequence[TurnRecord]) -> list[TurnRecord]:
    found: dict[str, TurnRecord] = {}
    for turn in turns:
        found.setdefault(turn.update_key, turn)
    return list(found.values())


async def _contacts(session: AsyncSession, turns: Sequence[TurnRecord]) -> dict[tuple[str, str], int]:
    wanted = {(t.channel, t.user_id): t.display_name for t in turns}
    pairs = list(wanted)
    rows = await session.execute(
        select(
            Contact.channel, Contact.external_id, Contact.id, Contact.display_name, Contact.blocked_bot
        ).where(tuple_(Contact.channel, Contact.external_id).in_(pairs))
    )
    ids: dict[tuple[str, str], int] = {}
    changes = []
    for channel, external_id, contact_id, name, blocked in rows:
        ids[(channel, external_id)] = contact_id
        new_name = wanted[(channel, external_id)] or name
        if blocked or new_name != name:  # writing to us means they unblocked the bot
            changes.append({"id": contact_id, "blocked_bot": False, "display_name": new_name})
    if changes:
        await session.execute(update(Contact), changes)
    missing = [
        {"channel": c, "external_id": e, "display_name": wanted[(c, e)]}
        for c, e in pairs
        if (c, e) not in ids
    ]
    return ids | await _insert_with_ids(session, Contact, (Contact.channel, Contact.external_id), missing)


async def _conversations(
    session: AsyncSession, turns: Sequence[TurnRecord], contacts: dict[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    owners = {(t.channel, t.chat_id): contacts[(t.channel, t.user_id)] for t in turns}
    pairs = list(owners)
    rows = await session.execute(
        select(Conversation.channel, Conversation.chat_id, Conversation.id).where(
            tuple_(Conversation.channel, Conversation.chat_id).in_(pairs)
        )
    )
    ids = {(channel, chat_id): conversation_id for channel, chat_id, conversation_id in rows}
    missing = [
        {"channel": c, "chat_id": chat, "contact_id": owners[(c, chat)], "engine_state": {}}
        for c, chat in pairs
        if (c, chat) not in ids
    ]
    key = (Conversation.channel, Conversation.chat_id)
    return ids | await _insert_with_ids(session, Conversation, key, missing)


async def _insert_with_ids(
    session: AsyncSession,
    model: type[Contact] | type[Conversation],
    key: tuple[InstrumentedAttribute[str], InstrumentedAttribute[str]],
    rows: list[dict[str, Any]],
) -> dict[tuple[str, str], int]:
    """Insert rows; their new ids by their two-column natural key."""
    if not rows:
        return {}
    statement = insert(model).returning(*key, model.id, sort_by_parameter_order=True)
    return {(first, second): new_id for first, second, new_id in await session.execute(statement, rows)}


async def _messages_and_outbox(
    session: AsyncSession, turns: Sequence[TurnRecord], conversations: dict[tuple[str, str], int]
) -> dict[tuple[str, int], int]:
    """Writes the messages and the outbox; returns the outbox slot held for each turn's job, by the
    turn's key and the job's index, so that what the job says keeps its place in the chat's order."""
    rows: list[dict[str, Any]] = []
    for turn in turns:
        conversation = conversations[(turn.channel, turn.chat_id)]
        rows.append(_message_row(conversation, "in", turn.inbound))
        for record in turn.outbound:
            rows.append(_message_row(conversation, "out", record))
    ids = list(
        (
            await session.scalars(
                insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True), rows
            )
        ).all()
    )
    out_ids = iter([i for i, row in zip(ids, rows, strict=True) if row["direction"] == "out"])
    outbox: list[dict[str, Any]] = []
    slots: list[tuple[str, int]] = []
    for turn in turns:
        for record in turn.outbound:
            outbox.append(_outbox_row(turn, next(out_ids), record.text, record.buttons))
        for index, _ in enumerate(turn.jobs):
            outbox.append(_outbox_row(turn, None, "", [], held=True))
            slots.append((turn.update_key, index))
    if not outbox:
        return {}
    statement = insert(OUTBOX).returning(OUTBOX.c.id, OUTBOX.c.held, sort_by_parameter_order=True)
    written: list[tuple[int, bool]] = [(r[0], r[1]) for r in await session.execute(statement, outbox)]
    return dict(zip(slots, [row_id for row_id, held in written if held], strict=True))


def _outbox_row(
    turn: TurnRecord, message_id: int | None, text: str, buttons: list[list[str]], held: bool = False
) -> dict[str, Any]:
    return {
        "channel": turn.channel,
        "chat_id": turn.chat_id,
        "part": chat_partition(turn.channel, turn.chat_id),
        "message_id": message_id,
        "text": text,
        "buttons": buttons,
        "held": held,
    }


async def _states(
    session: AsyncSession, turns: Sequence[TurnRecord], conversations: dict[tuple[str, str], int]
) -> None:
    now = utcnow()
    latest: dict[int, dict[str, Any]] = {}
    for turn in turns:  # a chat's later turn in the batch carries its newest state
        conversation = conversations[(turn.channel, turn.chat_id)]
        latest[conversation] = {"id": conversation, "last_activity_at": now}
        if not turn.keep_state:
            latest[conversation]["engine_state"] = turn.engine_state
    with_state = [row for row in latest.values() if "engine_state" in row]
    without = [row for row in latest.values() if "engine_state" not in row]
    for rows in (with_state, without):
        if rows:
            await session.execute(*update_by_id(Conversation, rows))


async def _jobs(
    session: AsyncSession, turns: Sequence[TurnRecord], slots: dict[tuple[str, int], int]
) -> None:
    rows = [
        {"key": f"{turn.update_key}:{index}", "channel": turn.channel, "chat_id": turn.chat_id}
        | {"part": chat_partition(turn.channel, turn.chat_id)}
        | {"user_id": turn.user_id, "kind": job.kind}
        | {"payload": job.payload | {"slot": slots[(turn.update_key, index)]}}
        for turn in turns
        for index, job in enumerate(turn.jobs)
    ]
    if rows:
        await session.execute(insert(table(HandoffJob)), rows)


MESSAGES = table(Message)
OUTBOX = table(OutboxMessage)


def _message_row(conversation_id: int, direction: str, record: MessageRecord) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "direction": direction,
        "text": record.text,
        "payload": record.payload,
        "attachments": record.attachments,
        "platform_message_id": record.platform_message_id,
        "outcome": record.outcome,
        "topic": record.topic,
        "rule": record.rule,
        "confidence": record.confidence,
        "kb_revision": record.kb_revision,
        "created_at": utcnow(),
    }
