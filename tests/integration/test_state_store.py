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


async def test_a_sliding_window_keeps_its_limit_and_its_spacing(state_store: StateStore) -> None:
    key = f"window-{id(state_store)}"
    assert await state_store.take_slot(key, limit=2, window=60, spacing=0) == 0.0
    assert await state_store.take_slot(key, limit=2, window=60, spacing=0) == 0.0
    # full: the first use must leave the minute before a third is recorded
    assert 59.0 < await state_store.take_slot(key, limit=2, window=60, spacing=0) <= 60.0
    # a caller allowed a bigger share of the same window still gets one at once
    assert await state_store.take_slot(key, limit=3, window=60, spacing=0) == 0.0
    assert await state_store.take_slot(key, limit=3, window=60, spacing=0) > 59.0


async def test_a_sliding_window_frees_as_uses_age(state_store: StateStore) -> None:
    key = f"aging-{id(state_store)}"
    assert await state_store.take_slot(key, limit=1, window=0.2, spacing=0) == 0.0
    assert await state_store.take_slot(key, limit=1, window=0.2, spacing=0) > 0.0
    await asyncio.sleep(0.3)
    assert await state_store.take_slot(key, limit=1, window=0.2, spacing=0) == 0.0
    # spacing: the window has room, but the last use was too recent
    spaced = f"spaced-{id(state_store)}"
    assert await state_store.take_slot(spaced, limit=10, window=60, spacing=5) == 0.0
    assert 4.0 < await state_store.take_slot(spaced, limit=10, window=60, spacing=5) <= 5.0
