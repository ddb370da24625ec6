"""The fake VK API, driven by the real vk_api library over HTTP on 127.0.0.1.

vk_api is synchronous, so every call that reaches the network runs in ``asyncio.to_thread`` while the
fake answers on the test's event loop.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import requests
import vk_api
from aiohttp import web
from jconfig.memory import MemoryConfig
from vk_api.bot_longpoll import VkBotEventType, VkBotLongPoll
from vk_api.exceptions import ApiError

from adapters.vk.client import RoutedAdapter, make_session
from tests.fakes.vk_api import FakeVk

TOKEN = "vk-group-token"
GROUP = 229000001
USER = 1001
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9"
KEYBOARD = {
    "inline": True,
    "buttons": [[{"action": {"type": "callback", "label": "Да", "payload": '{"cmd":"yes"}'}}]],
}


def make_vk(fake: FakeVk, token: str = TOKEN) -> vk_api.VkApi:
    """A group-token client (VkApiGroup: 20 requests/s) whose api.vk.ru calls go to the fake."""
    return vk_api.VkApiGroup(token=token, session=make_session(fake.url), config=MemoryConfig)


@pytest.fixture
async def fake() -> AsyncIterator[FakeVk]:
    async with FakeVk(token=TOKEN, group_id=GROUP) as server:
        yield server


@pytest.fixture
async def vk(fake: FakeVk) -> AsyncIterator[vk_api.VkApi]:
    client = make_vk(fake)
    try:
        yield client
    finally:
        client.http.close()


@pytest.fixture
async def longpoll(vk: vk_api.VkApi) -> AsyncIterator[VkBotLongPoll]:
    poller = await asyncio.to_thread(VkBotLongPoll, vk, GROUP, 1)
    try:
        yield poller
    finally:
        poller.session.close()


async def call(vk: vk_api.VkApi, method: str, **params: Any) -> Any:
    return await asyncio.to_thread(vk.method, method, params)


def raw_get(url: str, **params: Any) -> Any:
    with requests.Session() as session:
        return session.get(url, params=params, timeout=10).json()


async def test_serves_on_localhost_and_the_session_is_routed(fake: FakeVk) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    adapter = RoutedAdapter(fake.url)
    assert adapter.rewrite("https://api.vk.ru/method/users.get") == f"{fake.url}/method/users.get"
    assert adapter.rewrite("https://api.vk.com/method/x") == f"{fake.url}/method/x"
    assert adapter.rewrite("https://vk.ru/feed") == "https://vk.ru/feed"
    with make_session(fake.url) as session:
        body = await asyncio.to_thread(
            session.post, "https://api.vk.com/method/users.get", {"v": "5.199", "access_token": TOKEN}
        )
        assert body.json() == {"response": []}


async def test_memory_config_leaves_no_file_in_the_cwd(
    fake: FakeVk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    client = make_vk(fake)
    try:
        assert isinstance(client.storage, MemoryConfig)
        await asyncio.to_thread(client.get_api().users.get, user_ids=USER)
        client.storage.save()
    finally:
        client.http.close()
    assert not (tmp_path / "vk_config.v2.json").exists()
    assert list(tmp_path.iterdir()) == []


async def test_groups_get_by_id_answers_in_the_shape_of_the_asked_version(
    vk: vk_api.VkApi, fake: FakeVk
) -> None:
    old = await asyncio.to_thread(vk.get_api().groups.getById)  # vk_api's default v=5.92
    new = await call(vk, "groups.getById", v="5.199", group_id=GROUP)
    group = {"id": GROUP, "name": "Окно", "screen_name": "okno_test", "type": "group", "is_closed": 0}
    assert old == [group]
    assert new == {"groups": [group], "profiles": []}
    (first, _) = fake.calls_of("groups.getbyid")
    assert first.params["v"] == "5.92"
    assert first.params["access_token"] == TOKEN


async def test_a_wrong_token_is_error_5_with_request_params(fake: FakeVk) -> None:
    client = make_vk(fake, token="stolen")
    try:
        with pytest.raises(ApiError) as caught:
            await asyncio.to_thread(client.get_api().messages.send, peer_id=USER, random_id=1, message="x")
    finally:
        client.http.close()
    assert caught.value.code == 5
    assert caught.value.error["error_msg"] == "User authorization failed: invalid access_token (4)."
    params = {item["key"]: item["value"] for item in caught.value.error["request_params"]}
    assert params == {"oauth": "1", "method": "messages.send", "peer_id": str(USER), "random_id": "1"} | {
        "message": "x",
        "v": "5.92",
    }
    assert fake.sent() == []


async def test_unknown_method_is_error_3(vk: vk_api.VkApi) -> None:
    with pytest.raises(ApiError) as caught:
        await call(vk, "messages.fly")
    assert caught.value.code == 3


async def test_the_method_endpoint_takes_get_query_parameters(fake: FakeVk) -> None:
    body = await asyncio.to_thread(
        raw_get, f"{fake.url}/method/users.get", user_ids="1,2", v="5.199", access_token=TOKEN
    )
    assert [user["id"] for user in body["response"]] == [1, 2]
    fake.add_user(7, "Анна", "Смирнова")
    body = await asyncio.to_thread(
        raw_get, f"{fake.url}/method/users.get", user_ids="7", v="5.199", access_token=TOKEN
    )
    (anna,) = body["response"]
    assert (anna["first_name"], anna["last_name"]) == ("Анна", "Смирнова")


async def test_messages_send_stores_the_message_and_returns_its_id(vk: vk_api.VkApi, fake: FakeVk) -> None:
    api = vk.get_api()
    first = await asyncio.to_thread(
        api.messages.send,
        peer_id=USER,
        random_id=11,
        message="Здравствуйте! 123",
        keyboard=json.dumps(KEYBOARD, ensure_ascii=False),
    )
    second = await asyncio.to_thread(api.messages.send, user_id=USER, random_id=12, message="Ещё")
    assert isinstance(first, int)
    assert second == first + 1
    (message, again) = fake.sent(USER)
    assert message["id"] == first
    assert message["text"] == "Здравствуйте! 123"
    assert message["keyboard"] == KEYBOARD
    assert message["random_id"] == 11
    assert message["attachment"] == ""
    assert again["keyboard"] is None
    assert fake.sent(USER + 1) == []


async def test_a_repeated_random_id_returns_the_same_id_and_stores_one_message(
    vk: vk_api.VkApi, fake: FakeVk
) -> None:
    api = vk.get_api()
    first = await asyncio.to_thread(api.messages.send, peer_id=USER, random_id=777, message="раз")
    again = await asyncio.to_thread(api.messages.send, peer_id=USER, random_id=777, message="раз")
    other_peer = await asyncio.to_thread(api.messages.send, peer_id=USER + 1, random_id=777, message="раз")
    assert again == first
    assert other_peer != first
    assert len(fake.sent(USER)) == 1
    assert len(fake.calls_of("messages.send")) == 3


async def test_peer_ids_answer_a_list_with_per_peer_errors(vk: vk_api.VkApi, fake: FakeVk) -> None:
    fake.deny_messages(3)
    answer = await call(vk, "messages.send", peer_ids="1,2,3", random_id=5, message="всем", v="5.199")
    assert [item["peer_id"] for item in answer] == [1, 2, 3]
    assert all(isinstance(item["message_id"], int) for item in answer[:2])
    assert answer[2]["error"]["code"] == 901
    assert [m["peer_id"] for m in fake.sent()] == [1, 2]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"peer_id": USER, "message": "no random_id"}, 100),
        ({"random_id": 1, "message": "no peer"}, 100),
        ({"peer_id": USER, "random_id": 1}, 100),
        ({"peer_id": USER, "random_id": 1, "message": "x", "keyboard": "{"}, 911),
        ({"peer_id": USER, "random_id": 1, "message": "x", "keyboard": json.dumps({"buttons": [[1]]})}, 911),
        ({"peer_id": USER, "random_id": 1, "message": "x", "attachment": "photo_nope"}, 100),
        ({"peer_id": USER, "random_id": 1, "message": "я" * 4097}, 914),
    ],
)
async def test_invalid_sends_are_refused_like_vk(
    vk: vk_api.VkApi, fake: FakeVk, params: dict[str, Any], code: int
) -> None:
    with pytest.raises(ApiError) as caught:
        await call(vk, "messages.send", **params)
    assert caught.value.code == code
    assert fake.sent() == []


async def test_message_limit_and_denied_users(vk: vk_api.VkApi, fake: FakeVk) -> None:
    fake.set_message_limit(5)
    with pytest.raises(ApiError) as too_long:
        await call(vk, "messages.send", peer_id=USER, random_id=1, message="123456")
    assert (too_long.value.code, too_long.value.error["error_msg"]) == (914, "Message is too long")
    fake.message_deny(USER)
    with pytest.raises(ApiError) as denied:
        await call(vk, "messages.send", peer_id=USER, random_id=2, message="12345")
    assert denied.value.code == 901
    assert denied.value.error["error_msg"] == "Can't send messages for users without permission"
    fake.message_allow(USER)
    assert isinstance(await call(vk, "messages.send", peer_id=USER, random_id=2, message="12345"), int)
    assert [call.error for call in fake.calls_of("messages.send")] == [914, 901, 0]


async def test_error_6_surfaces_as_api_error_unless_vk_api_retries_it(vk: vk_api.VkApi, fake: FakeVk) -> None:
    fake.fail_next("messages.send", 6)
    message_id = await call(vk, "messages.send", peer_id=USER, random_id=1, message="x")  # retried
    assert [c.error for c in fake.calls_of("messages.send")] == [6, 0]
    assert fake.sent()[0]["id"] == message_id
    del vk.error_handlers[6]  # the built-in handler sleeps 0.5 s and retries forever
    fake.fail_next("messages.send", 6)
    with pytest.raises(ApiError) as caught:
        await call(vk, "messages.send", peer_id=USER, random_id=2, message="y")
    assert caught.value.code == 6
    assert caught.value.error["error_msg"] == "Too many requests per second"
    assert len(fake.sent()) == 1


@pytest.mark.parametrize(
    ("code", "msg"),
    [(9, "Flood control"), (10, "Internal server error"), (29, "Rate limit reached"), (5, None)],
)
async def test_fail_next_answers_vk_error_objects(
    vk: vk_api.VkApi, fake: FakeVk, code: int, msg: str | None
) -> None:
    fake.fail_next("messages.send", code, count=2)
    for random_id in (1, 2):
        with pytest.raises(ApiError) as caught:
            await call(vk, "messages.send", peer_id=USER, random_id=random_id, message="x")
        assert caught.value.code == code
        assert caught.value.error["error_msg"] == (
            msg or "User authorization failed: invalid access_token (4)."
        )
    assert isinstance(await call(vk, "messages.send", peer_id=USER, random_id=3, message="x"), int)
    custom = "Flood control: too much messages sent to user"
    fake.fail_next("messages.send", 9, msg=custom)
    with pytest.raises(ApiError, match="too much messages"):
        await call(vk, "messages.send", peer_id=USER, random_id=4, message="x")


async def test_hang_next_delays_the_answer(vk: vk_api.VkApi, fake: FakeVk) -> None:
    fake.hang_next("users.get", 0.4)
    started = time.monotonic()
    await call(vk, "users.get", user_ids=USER)
    assert time.monotonic() - started >= 0.4
    with pytest.raises(requests.exceptions.ReadTimeout):
        fake.hang_next("users.get", 2)
        await asyncio.to_thread(
            vk.http.post,
            "https://api.vk.ru/method/users.get",
            {"v": "5.199", "access_token": TOKEN},
            timeout=0.2,
        )


async def test_long_poll_delivers_message_new(longpoll: VkBotLongPoll, fake: FakeVk) -> None:
    assert longpoll.url == f"{fake.url}/longpoll/{GROUP}"
    assert longpoll.key == fake.key
    pushed = fake.message_new(USER, "Привет", payload={"command": "start"})
    (event,) = await asyncio.to_thread(longpoll.check)
    assert event.raw == pushed
    assert event.type is VkBotEventType.MESSAGE_NEW
    assert event.group_id == GROUP
    assert event.from_user
    assert event.message.text == "Привет"
    assert event.message.from_id == USER
    assert json.loads(event.message.payload) == {"command": "start"}
    assert event.client_info["inline_keyboard"] is True
    assert "callback" in event.client_info["button_actions"]
    assert pushed["v"] == "5.199"
    assert len(pushed["event_id"]) == 40
    assert await asyncio.to_thread(longpoll.check) == []  # nothing new within wait=1
    (poll, _) = fake.calls_of("longpoll")
    assert (poll.params["act"], poll.params["wait"]) == ("a_check", "1")


async def test_long_poll_waits_for_an_event(vk: vk_api.VkApi, fake: FakeVk) -> None:
    poller = await asyncio.to_thread(VkBotLongPoll, vk, GROUP, 25)
    try:
        started = time.monotonic()
        waiting = asyncio.create_task(asyncio.to_thread(poller.check))
        await fake.wait_for(lambda f: f.calls_of("longpoll"))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        fake.message_new(2_000_000_003, "в беседе", from_id=USER)
        (event,) = await waiting
        assert time.monotonic() - started < 3
        assert event.from_chat
        assert event.chat_id == 3
        assert event.message.id == 0  # bots get no message id in chats
        assert event.message.conversation_message_id == 1
    finally:
        poller.session.close()


async def test_message_event_and_its_answer(longpoll: VkBotLongPoll, vk: vk_api.VkApi, fake: FakeVk) -> None:
    message_id = await call(vk, "messages.send", peer_id=USER, random_id=1, message="?", v="5.199")
    pushed = fake.message_event(USER, {"cmd": "yes"})
    (event,) = await asyncio.to_thread(longpoll.check)
    assert event.type is VkBotEventType.MESSAGE_EVENT
    assert event.object.payload == {"cmd": "yes"}
    assert event.object.user_id == USER
    assert event.object.conversation_message_id == fake.sent()[0]["conversation_message_id"]
    assert fake.sent()[0]["id"] == message_id
    result = await call(
        vk,
        "messages.sendMessageEventAnswer",
        event_id=event.object.event_id,
        user_id=USER,
        peer_id=USER,
        event_data=json.dumps({"type": "show_snackbar", "text": "Принято"}),
    )
    assert result == 1
    assert fake.event_answers == [
        {
            "event_id": pushed["object"]["event_id"],
            "user_id": USER,
            "peer_id": USER,
            "event_data": {"type": "show_snackbar", "text": "Принято"},
        }
    ]


async def test_allow_and_deny_events(longpoll: VkBotLongPoll, fake: FakeVk) -> None:
    fake.message_allow(USER, key="promo")
    fake.message_deny(USER)
    allow, deny = await asyncio.to_thread(longpoll.check)
    assert (allow.type, allow.object.user_id, allow.object.key) == (
        VkBotEventType.MESSAGE_ALLOW,
        USER,
        "promo",
    )
    assert (deny.type, deny.object.user_id) == (VkBotEventType.MESSAGE_DENY, USER)


async def test_failed_1_2_3_are_handled_by_vk_api(longpoll: VkBotLongPoll, fake: FakeVk) -> None:
    servers = len(fake.calls_of("groups.getLongPollServer"))
    fake.message_new(USER, "раз")
    fake.fail_longpoll(1)
    assert await asyncio.to_thread(longpoll.check) == []
    assert longpoll.ts == str(fake.ts)  # failed 1 moves ts on: the missed event is lost
    assert len(fake.calls_of("groups.getLongPollServer")) == servers

    old_key, ts = longpoll.key, longpoll.ts
    fake.fail_longpoll(2)
    assert await asyncio.to_thread(longpoll.check) == []
    assert len(fake.calls_of("groups.getLongPollServer")) == servers + 1
    assert longpoll.key != old_key
    assert longpoll.ts == ts  # failed 2: a new key, the same ts

    fake.message_new(USER, "два")
    old_key = longpoll.key
    fake.fail_longpoll(3)
    assert await asyncio.to_thread(longpoll.check) == []
    assert len(fake.calls_of("groups.getLongPollServer")) == servers + 2
    assert (longpoll.key, longpoll.ts) == (fake.key, str(fake.ts))
    assert longpoll.key != old_key

    fake.message_new(USER, "три")
    (event,) = await asyncio.to_thread(longpoll.check)
    assert event.message.text == "три"
    assert [c.error for c in fake.calls_of("longpoll")] == [1, 2, 3, 0]


async def test_long_poll_wrong_key_and_outdated_history(fake: FakeVk) -> None:
    server = f"{fake.url}/longpoll/{GROUP}"
    assert await asyncio.to_thread(raw_get, server, act="a_check", key="bad", ts=fake.ts, wait=0) == {
        "failed": 2
    }
    async with FakeVk(token=TOKEN, group_id=GROUP, history=2) as short:
        old = short.ts
        for n in range(4):
            short.message_new(USER, str(n))
        url = f"{short.url}/longpoll/{GROUP}"
        outdated = await asyncio.to_thread(raw_get, url, act="a_check", key=short.key, ts=old, wait=0)
        assert outdated == {"failed": 1, "ts": str(short.ts)}
        recent = await asyncio.to_thread(raw_get, url, act="a_check", key=short.key, ts=short.ts - 2, wait=0)
        assert [u["object"]["message"]["text"] for u in recent["updates"]] == ["2", "3"]
        assert recent["ts"] == str(short.ts)


async def test_execute_runs_the_sends(vk: vk_api.VkApi, fake: FakeVk) -> None:
    code = (
        'return [API.messages.send({"peer_id": 1001, "random_id": 1, "message": "один"}), '
        'API.messages.send({"peer_id": 1002, "random_id": 2, "message": "два"})];'
    )
    ids = await call(vk, "execute", code=code)
    assert len(ids) == 2
    assert [(m["peer_id"], m["text"], m["id"]) for m in fake.sent()] == [
        (1001, "один", ids[0]),
        (1002, "два", ids[1]),
    ]
    assert [c.via for c in fake.calls_of("messages.send")] == ["execute", "execute"]

    fake.deny_messages(1002)
    raw = await asyncio.to_thread(
        vk.method, "execute", {"code": code.replace('"random_id": 2', '"random_id": 3')}, raw=True
    )
    assert raw["response"] == [ids[0], False]  # random_id 1 again: the same message
    assert raw["execute_errors"] == [
        {
            "method": "messages.send",
            "error_code": 901,
            "error_msg": "Can't send messages for users without permission",
        }
    ]
    with pytest.raises(ApiError) as caught:
        await call(vk, "execute", code="return API.users.get({});")
    assert caught.value.code == 12


async def test_photo_upload_flow(vk: vk_api.VkApi, fake: FakeVk) -> None:
    upload = vk_api.VkUpload(vk)
    try:
        (photo,) = await asyncio.to_thread(upload.photo_messages, io.BytesIO(JPEG), USER)
        doc = await asyncio.to_thread(
            upload.document_message, io.BytesIO(b"%PDF-1.4"), "справка.pdf", None, USER
        )
    finally:
        upload.http.close()
    assert photo["owner_id"] == -GROUP
    assert isinstance(photo["id"], int)
    attachment = f"photo{photo['owner_id']}_{photo['id']}_{photo['access_key']}"
    assert f"photo{photo['owner_id']}_{photo['id']}" in fake.photos
    assert doc["type"] == "doc"
    assert (doc["doc"]["title"], doc["doc"]["size"], doc["doc"]["ext"]) == ("справка.pdf", 8, "pdf")
    both = f"{attachment},doc{doc['doc']['owner_id']}_{doc['doc']['id']}"
    await call(vk, "messages.send", peer_id=USER, random_id=1, attachment=both)
    assert fake.sent()[0]["attachment"] == both
    (upload_call,) = fake.calls_of("upload.photo")
    assert list(upload_call.files) == ["file0"]
    assert upload_call.files["file0"][1] == JPEG
    with requests.Session() as session:
        largest = await asyncio.to_thread(session.get, photo["sizes"][-1]["url"], timeout=10)
        pdf = await asyncio.to_thread(session.get, doc["doc"]["url"], timeout=10)
    assert largest.content == JPEG
    assert pdf.content == b"%PDF-1.4"
    assert [c.method for c in fake.calls if c.method.startswith(("photos.", "docs.", "upload."))] == [
        "photos.getMessagesUploadServer",
        "upload.photo",
        "photos.saveMessagesPhoto",
        "docs.getMessagesUploadServer",
        "upload.doc",
        "docs.save",
    ]


async def test_attachments_of_incoming_messages_are_downloadable(
    longpoll: VkBotLongPoll, fake: FakeVk
) -> None:
    photo = fake.photo_attachment(JPEG, owner_id=USER)
    doc = fake.doc_attachment(b"hello", title="notes.txt", owner_id=USER)
    fake.message_new(USER, "", attachments=[photo, doc])
    (event,) = await asyncio.to_thread(longpoll.check)
    got_photo, got_doc = event.message.attachments
    assert [size["type"] for size in got_photo["photo"]["sizes"]] == ["s", "m", "x", "y", "z"]
    assert got_doc["doc"]["ext"] == "txt"
    with requests.Session() as session:
        small = await asyncio.to_thread(session.get, got_photo["photo"]["sizes"][0]["url"], timeout=10)
        text = await asyncio.to_thread(session.get, got_doc["doc"]["url"], timeout=10)
        missing = await asyncio.to_thread(session.get, f"{fake.url}/files/nothing.jpg", timeout=10)
    assert small.content == JPEG
    assert text.content == b"hello"
    assert missing.status_code == 404


async def test_callback_api_posts_reach_a_webhook(fake: FakeVk) -> None:
    received: list[dict[str, Any]] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        received.append(body)
        return web.Response(text="c0nf1rm" if body["type"] == "confirmation" else "ok")

    app = web.Application()
    app.router.add_post("/vk/callback", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host="127.0.0.1", port=0).start()
        host, port = runner.addresses[0][:2]
        url = f"http://{host}:{port}/vk/callback"
        assert await fake.confirmation(url) == (200, "c0nf1rm")
        event = fake.message_new(USER, "через callback")
        assert await fake.deliver_callback(url, event, secret="s3cret") == (200, "ok")
    finally:
        await runner.cleanup()
    assert received[0] == {"type": "confirmation", "group_id": GROUP}
    assert received[1] == event | {"secret": "s3cret"}
    assert received[1]["object"]["message"]["text"] == "через callback"
    assert [status for _, _, status in fake.deliveries] == [200, 200]
