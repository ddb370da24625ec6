import asyncio

from storage.state import StateStore


async def test_values_round_trip(state_store: StateStore) -> None:
    assert await state_store.load("conversation:tg:1") is None
    await state_store.save("conversation:tg:1", {"last_topic": "sms_code", "offered": ["a", "б"]})
    assert await state_store.load("conversation:tg:1") == {"last_topic": "sms_code", "offered": ["a", "б"]}


async def test_values_expire(state_store: StateStore) -> None:
    await state_store.save("short", {"x": 1}, ttl=0.05)
    await asyncio.sleep(0.12)
    assert await state_store.load("short") is None


async def test_claim_is_first_come(state_store: StateStore) -> None:
    assert await state_store.claim("callback:1", ttl=5)
    assert not await state_store.claim("callback:1", ttl=5)


async def test_token_bucket_grants_then_asks_to_wait(state_store: StateStore) -> None:
    waits = [await state_store.take_token("chat:1", rate=1.0, capacity=2) for _ in range(3)]
    assert waits[:2] == [0.0, 0.0]
    assert 0.5 < waits[2] <= 1.0


async def test_many_values_in_one_go(state_store: StateStore) -> None:
    await state_store.save_many({"a": {"n": 1}, "b": {"n": 2}})
    assert await state_store.load_many(["b", "missing", "a"]) == [{"n": 2}, None, {"n": 1}]
    assert await state_store.load_many([]) == []
