from dialog.engine import ConversationEngine
from dialog.messages import InboundMessage
from dialog.ports import Conversations, MemoryStateStore


async def test_state_lives_in_the_store_between_messages(engine: ConversationEngine) -> None:
    store = MemoryStateStore()
    conversations = Conversations(engine, store)
    first = await conversations.handle(InboundMessage("tg", "42", "7", text="как восстановить пароль"))
    assert first.decision.topic == "password_recovery"
    # a new service over the same store, as after a restart, still knows the open question
    again = Conversations(engine, store)
    turn = await again.handle(InboundMessage("tg", "42", "7", text="нет"))
    assert "не помог" in turn.replies[0].text
    assert (await store.load("conversation:tg:42")) is not None


async def test_conversations_are_kept_apart(engine: ConversationEngine) -> None:
    conversations = Conversations(engine, MemoryStateStore())
    await conversations.handle(InboundMessage("tg", "1", "1", text="как восстановить пароль"))
    other = await conversations.handle(InboundMessage("vk", "1", "1", text="нет"))
    assert "не помог" not in other.replies[0].text


async def test_corrupt_stored_state_starts_afresh(engine: ConversationEngine) -> None:
    store = MemoryStateStore()
    await store.save("conversation:tg:5", {"fallbacks": "a lot", "offered": 3})
    turn = await Conversations(engine, store).handle(InboundMessage("tg", "5", "5", text="привет"))
    assert turn.state.turns == 1
