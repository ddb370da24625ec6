from bots.updates import UpdateWorker
from dialog.engine import ConversationEngine
from storage.records import CITIZENS_QUEUE, NewUpdate
from storage.repositories import Repository
from storage.state import MemoryStore


async def test_updates_of_a_channel_not_configured_now_wait_for_it(
    repository: Repository, engine: ConversationEngine
) -> None:
    await repository.enqueue_updates([NewUpdate("vk:1", "vk", "vk:7", {"type": "message_new"})])
    worker = UpdateWorker(repository, {}, engine, MemoryStore(), lambda: None)
    await worker.handle_batch(await repository.pending_updates(CITIZENS_QUEUE, 0, 10))
    assert [u.key for u in await repository.pending_updates(CITIZENS_QUEUE, 0, 10)] == ["vk:1"]
