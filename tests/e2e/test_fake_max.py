"""The fake MAX Bot API, driven over HTTP on 127.0.0.1 with a plain aiohttp client.

What it answers is checked against MAX's documented behaviour and, for shapes, against the example
objects in tests/data/max_schema/ (copied from MAX's schema and its official Go client's stubs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.fakes.max_api import FakeMax
from tests.fakes.max_wire import SAMPLE_JPEG

TOKEN = "max-test-token"
BOT = 229000001
USER = 1001
SCHEMA = Path(__file__).resolve().parents[1] / "data" / "max_schema"
AVATARS = ("user.avatar_url", "user.full_avatar_url")
Answer = tuple[int, Any]


@pytest.fixture
async def fake() -> AsyncIterator[FakeMax]:
    async with FakeMax(token=TOKEN, bot_user_id=BOT, bot_name="Окно") as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, fake: FakeMax, verb: str, path: str, body: Any = None, **query: Any
) -> Answer:
    """One API request with the bot's token (``token=`` overrides it; None sends none)."""
    token = query.pop("token", TOKEN)
    headers = {"Authorization": token} if token is not None else {}
    params = {key: str(value) for key, value in query.items()}
    async with http.request(verb, f"{fake.url}{path}", params=params, json=body, headers=headers) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def send(http: aiohttp.ClientSession, fake: FakeMax, body: Any, user_id: int = USER) -> Answer:
    return await call(http, fake, "POST", "/messages", body, user_id=user_id)


async def upload(http: aiohttp.ClientSession, url: str, content: bytes, filename: str) -> Answer:
    form = aiohttp.FormData()
    form.add_field("data", content, filename=filename, content_type="application/octet-stream")
    async with http.post(url, data=form) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


def keyboard(rows: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {"type": "inline_keyboard", "payload": {"buttons": rows}}


def button(text: str = "Да", kind: str = "callback", **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"payload": "yes"} if kind == "callback" else {}
    if kind == "link":
        fields = {"url": "https://gosuslugi.ru"}
    return {"type": kind, "text": text} | fields | extra


# Comparing shapes with the schema examples


def example(name: str) -> Any:
    return json.loads((SCHEMA / f"{name}.json").read_text(encoding="utf-8"))


def kind_of(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def shape_errors(actual: Any, expected: Any, optional: Collection[str] = (), path: str = "") -> list[str]:
    """How ``actual`` differs from an example in keys and JSON types (values aside): a key the example
    lacks, a key it has that is missing (unless named in ``optional``, dotted), a type that differs. A
    list's items are compared with the example's first item; an example dict keyed ``"*"`` maps any key."""
    where = path.lstrip(".") or "."
    if kind_of(actual) != kind_of(expected):
        return [f"{where}: {kind_of(actual)} where the example has {kind_of(expected)}"]
    if isinstance(expected, list):
        return (
            [e for item in actual for e in shape_errors(item, expected[0], optional, path)]
            if expected
            else []
        )
    if not isinstance(expected, dict):
        return []
    if list(expected) == ["*"]:
        return [e for value in actual.values() for e in shape_errors(value, expected["*"], optional, path)]
    errors = [f"{path}.{key}: not in the example".lstrip(".") for key in actual.keys() - expected.keys()]
    missing = [f"{path}.{key}".lstrip(".") for key in expected.keys() - actual.keys()]
    errors += [f"{key}: missing" for key in missing if key not in optional]
    for key in actual.keys() & expected.keys():
        errors += shape_errors(actual[key], expected[key], optional, f"{path}.{key}")
    return errors


def assert_shape(actual: Any, name: str, *optional: str) -> None:
    assert shape_errors(actual, example(name), optional) == [], name


def test_shape_errors_name_every_difference() -> None:
    expected = {"a": 1, "b": {"c": "x"}, "d": [{"e": True}], "f": None}
    actual = {"a": "1", "b": {"c": "y", "z": 0}, "d": [{"e": 1}], "g": 2}
    assert sorted(shape_errors(actual, expected, optional=("f",))) == [
        "a: str where the example has int",
        "b.z: not in the example",
        "d.e: int where the example has bool",
        "g: not in the example",
    ]
    assert shape_errors({"a": 1}, {"a": 2, "b": 3}) == ["b: missing"]
    assert shape_errors({"photos": {"17": {"token": "t"}}}, example("upload_image_answer")) == []


# Webhook receivers on 127.0.0.1


@dataclass
class Webhook:
    url: str = ""
    statuses: list[int] = field(default_factory=list)  # answers to give in turn, then 200
    secret: str | None = None  # answer 403 to any other X-Max-Bot-Api-Secret
    received: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def webhook(statuses: Collection[int] = (), secret: str | None = None) -> AsyncIterator[Webhook]:
    hook = Webhook(statuses=list(statuses), secret=secret)

    async def receive(request: web.Request) -> web.Response:
        header = request.headers.get("X-Max-Bot-Api-Secret")
        hook.received.append((header, await request.json()))
        if hook.secret is not None and header != hook.secret:
            return web.Response(status=403, text="wrong secret")
        return web.Response(status=hook.statuses.pop(0) if hook.statuses else 200, text="ok")

    app = web.Application()
    app.router.add_post("/max/webhook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host="127.0.0.1", port=0).start()
        host, port = runner.addresses[0][:2]
        hook.url = f"http://{host}:{port}/max/webhook"
        yield hook
    finally:
        await runner.cleanup()


# Authorization and /me


async def test_a_wrong_or_missing_token_is_refused(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    refused = {"code": "verify.token", "message": "Invalid access_token"}
    assert await call(http, fake, "GET", "/me", token="stolen") == (401, refused)
    assert await call(http, fake, "GET", "/me", token=None) == (401, refused)
    assert await call(http, fake, "GET", "/me", token=f"Bearer {TOKEN}") == (401, refused)
    assert await call(http, fake, "GET", "/me", token=None, access_token=TOKEN) == (401, refused)
    assert [(c.status, c.code) for c in fake.calls_of("GET /me")] == [(401, "verify.token")] * 4
    assert_shape(refused, "error_invalid_token")


async def test_me_is_the_bot(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    status, me = await call(http, fake, "GET", "/me")
    assert status == 200
    assert (me["user_id"], me["first_name"], me["is_bot"]) == (BOT, "Окно", True)
    assert me["username"] == "okno_test_bot"
    assert_shape(me, "bot_info")


async def test_unknown_paths_and_verbs(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    assert (await call(http, fake, "GET", "/nothing"))[0] == 404
    status, body = await call(http, fake, "PATCH", "/messages")
    assert (status, body["code"]) == (405, "method.not.allowed")
    status, body = await call(http, fake, "GET", "/chats")  # gone from MAX since June 2026
    assert (status, body["code"]) == (404, "chat.not.found")


# Long polling


async def test_long_poll_returns_queued_updates_until_the_marker_acknowledges_them(
    http: aiohttp.ClientSession, fake: FakeMax
) -> None:
    pushed = fake.user_message(USER, "Здравствуйте")
    status, first = await call(http, fake, "GET", "/updates", timeout=0)
    assert status == 200
    (got,) = first["updates"]
    assert got["update_type"] == "message_created"
    assert got["message"] == pushed
    assert got["message"]["recipient"] == {"chat_id": fake.chats[USER], "chat_type": "dialog", "user_id": BOT}
    assert got["message"]["sender"]["user_id"] == USER
    _, again = await call(http, fake, "GET", "/updates", timeout=0)  # no marker: not acknowledged yet
    assert again == first
    _, after = await call(http, fake, "GET", "/updates", timeout=0, marker=first["marker"])
    assert after == {"updates": [], "marker": first["marker"]}
    assert fake.pending() == []
    assert_shape(after, "update_list")
    assert_shape(got, "update_message_created")


async def test_long_poll_waits_and_wakes_on_a_new_update(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    started = time.monotonic()
    polls = [asyncio.create_task(call(http, fake, "GET", "/updates", timeout=30)) for _ in range(2)]
    await fake.wait_for(lambda f: f.most_polling_at_once == 2, timeout=30)
    fake.bot_started(USER, payload="from-site")
    (_, one), (_, two) = await asyncio.gather(*polls)
    assert time.monotonic() - started < 25  # woken by the update, not by the 30 s timeout
    assert one == two  # MAX gives each poller the same updates
    (got,) = one["updates"]
    assert (got["update_type"], got["payload"], got["chat_id"]) == (
        "bot_started",
        "from-site",
        fake.chats[USER],
    )
    assert_shape(got, "update_bot_started", *AVATARS)


async def test_types_filter_and_limit(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    fake.user_message(USER, "раз")
    fake.bot_started(USER + 1)
    fake.user_message(USER, "два")
    _, started = await call(http, fake, "GET", "/updates", timeout=0, types="bot_started")
    assert [u["update_type"] for u in started["updates"]] == ["bot_started"]
    _, page = await call(http, fake, "GET", "/updates", timeout=0, limit=1)
    assert [u["message"]["body"]["text"] for u in page["updates"]] == ["раз"]
    _, rest = await call(http, fake, "GET", "/updates", timeout=0, marker=page["marker"], limit=100)
    assert [u["update_type"] for u in rest["updates"]] == ["bot_started", "message_created"]
    _, both = await call(http, fake, "GET", "/updates", timeout=0, types="message_created,bot_stopped")
    assert [u["message"]["body"]["text"] for u in both["updates"]] == ["два"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"timeout": 91}, "Field 'timeout' value (91) must be at most 90"),
        ({"timeout": -1}, "Field 'timeout' value (-1) must be at least 0"),
        ({"limit": 0}, "Field 'limit' value (0) must be at least 1"),
        ({"limit": 1001}, "Field 'limit' value (1001) must be at most 1000"),
        ({"marker": "x"}, "Field 'marker' value (x) is not a number"),
    ],
)
async def test_poll_parameters_are_checked(
    http: aiohttp.ClientSession, fake: FakeMax, query: dict[str, Any], message: str
) -> None:
    assert await call(http, fake, "GET", "/updates", **query) == (
        400,
        {"code": "proto.payload", "message": message},
    )


# Webhooks


async def test_a_subscription_gets_the_updates_with_the_secret_and_retries_a_500(
    http: aiohttp.ClientSession, fake: FakeMax
) -> None:
    async with webhook(statuses=[500]) as hook:
        subscribe = {"url": hook.url, "update_types": ["message_created"], "secret": "s3cret-42"}
        assert await call(http, fake, "POST", "/subscriptions", subscribe) == (200, {"success": True})
        _, listed = await call(http, fake, "GET", "/subscriptions")
        assert [(s["url"], s["update_types"]) for s in listed["subscriptions"]] == [
            (hook.url, ["message_created"])
        ]
        assert_shape(listed, "subscriptions")
        fake.bot_started(USER)  # not subscribed to: never posted
        pushed = fake.user_message(USER, "через вебхук")
        await fake.wait_for(lambda f: len(f.deliveries) == 2, timeout=30)
        status, body = await call(http, fake, "GET", "/updates", timeout=0)
    assert [(d.status, d.attempt, d.secret) for d in fake.deliveries] == [
        (500, 1, "s3cret-42"),
        (200, 2, "s3cret-42"),
    ]
    assert [header for header, _ in hook.received] == ["s3cret-42", "s3cret-42"]
    assert hook.received[0][1] == hook.received[1][1]
    assert hook.received[0][1]["message"] == pushed
    assert (status, body["code"]) == (405, "method.not.allowed")  # long polling is off meanwhile
    assert fake.pending() == []


async def test_unsubscribing_brings_long_polling_back(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    async with webhook() as hook:
        assert (await call(http, fake, "POST", "/subscriptions", {"url": hook.url}))[0] == 200
        fake.user_message(USER, "в вебхук")
        await fake.wait_for(lambda f: len(f.deliveries) == 1, timeout=30)
        assert await call(http, fake, "DELETE", "/subscriptions", url=hook.url) == (200, {"success": True})
        fake.user_message(USER, "в опрос")
    _, polled = await call(http, fake, "GET", "/updates", timeout=0)
    assert [u["message"]["body"]["text"] for u in polled["updates"]] == ["в опрос"]
    assert [d.update["message"]["body"]["text"] for d in fake.deliveries] == ["в вебхук"]
    status, body = await call(http, fake, "POST", "/subscriptions", {"url": hook.url, "secret": "no"})
    assert (status, body["code"]) == (400, "proto.payload")  # 5..256 of A-Z a-z 0-9 _ -


async def test_deliver_by_hand_with_a_wrong_secret_and_again(fake: FakeMax) -> None:
    async with webhook(secret="right-secret") as hook:
        update = fake.user_message(USER, "вручную")
        wrong = await fake.deliver(update, url=hook.url, secret="wrong-secret")
        again = await fake.deliver(update, url=hook.url, secret="right-secret")
        without = await fake.deliver(update, url=hook.url)
    assert (wrong.status, wrong.answer) == (403, "wrong secret")
    assert (again.status, without.status) == (200, 403)
    assert [header for header, _ in hook.received] == ["wrong-secret", "right-secret", None]
    async with webhook() as gone:
        url = gone.url
    assert (await fake.deliver(update, url=url)).status == 0  # nobody listens there any more


# Sending


async def test_sending_text_markdown_and_a_keyboard(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    fake.user_message(USER, "Привет")
    status, plain = await send(http, fake, {"text": "Здравствуйте!"})
    assert status == 200
    assert_shape(plain, "send_message_result")
    rows = [[button("Да"), button("Нет", payload="no")], [button("Госуслуги", "link")]]
    body = {"text": "**Выберите**", "format": "markdown", "attachments": [keyboard(rows)], "notify": False}
    status, rich = await call(http, fake, "POST", "/messages", body, chat_id=fake.chats[USER])
    assert status == 200
    message = rich["message"]
    assert message["recipient"] == {"chat_id": fake.chats[USER], "chat_type": "dialog", "user_id": USER}
    assert message["sender"]["user_id"] == BOT
    assert message["body"]["mid"] != plain["message"]["body"]["mid"]
    assert message["body"]["attachments"] == [keyboard(rows)]
    first, second = fake.sent_to(USER)
    assert (first["text"], first["format"], first["keyboard"]) == ("Здравствуйте!", None, None)
    assert (second["text"], second["format"], second["keyboard"], second["notify"]) == (
        "**Выберите**",
        "markdown",
        rows,
        False,
    )
    assert second["mid"] == message["body"]["mid"]
    assert fake.messages[second["mid"]] == message


async def test_text_over_4000_characters_is_refused(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    fake.add_user(USER)
    assert (await send(http, fake, {"text": "я" * 4000}))[0] == 200
    assert await send(http, fake, {"text": "я" * 4001}) == (
        400,
        {"code": "proto.payload", "message": "Field 'text' size (4001) must be at most 4000"},
    )
    status, body = await send(http, fake, {"text": "x", "format": "rtf"})
    assert (status, body["code"]) == (400, "proto.payload")
    status, body = await send(http, fake, {})
    assert (status, body["code"]) == (400, "proto.payload")
    assert len(fake.sent) == 1


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ([[button()]] * 31, "errors.maxRows"),
        ([[button()] * 8], "at most 7"),
        ([[button("Сайт", "link")] * 4], "at most 3"),
        ([[button(), button(), button(), button("Сайт", "link")]], "at most 3"),
        ([[button("я" * 129)]], "1..128"),
        ([[button("")]], "1..128"),
        ([[button(payload="p" * 1025)]], "at most 1024"),
        ([[button("Сайт", "link", url="ftp://x")]], "http/https"),
        ([[button("Кнопка", "teleport")]], "Unknown button type"),
        ([button()], "array of arrays"),
    ],
)
async def test_keyboards_over_the_limits_are_refused(
    http: aiohttp.ClientSession, fake: FakeMax, rows: Any, words: str
) -> None:
    fake.add_user(USER)
    status, body = await send(http, fake, {"text": "?", "attachments": [keyboard(rows)]})
    assert (status, body["code"]) == (400, "proto.payload")
    assert words in body["message"]
    assert fake.sent == []


async def test_the_largest_keyboard_is_accepted(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    fake.add_user(USER)
    rows = [[button(str(n), payload=str(n)) for n in range(7)] for _ in range(30)]
    rows[0] = [button("Сайт", "link")] * 3
    assert (await send(http, fake, {"text": "?", "attachments": [keyboard(rows)]}))[0] == 200


async def test_sending_to_unknown_or_stopped_users(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    status, body = await send(http, fake, {"text": "?"}, user_id=404)
    assert (status, body["code"]) == (404, "chat.not.found")
    status, body = await call(http, fake, "POST", "/messages", {"text": "?"}, chat_id=1)
    assert (status, body["code"]) == (404, "chat.not.found")
    status, body = await call(http, fake, "POST", "/messages", {"text": "?"})
    assert (status, body["code"]) == (400, "proto.payload")
    stopped = fake.bot_stopped(USER)
    assert_shape(stopped, "update_bot_stopped", *AVATARS)
    status, body = await send(http, fake, {"text": "Вы тут?"})
    assert status == 403
    assert body == {"code": "chat.denied", "message": f"Key: error.dialog.suspended, args: [{USER},]."}
    fake.bot_started(USER)
    assert (await send(http, fake, {"text": "С возвращением"}))[0] == 200
    assert [m["text"] for m in fake.sent] == ["С возвращением"]


async def test_editing_and_deleting_the_bots_messages(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    user_mid = fake.user_message(USER, "вопрос")["body"]["mid"]
    _, sent = await send(http, fake, {"text": "черновик", "attachments": [keyboard([[button()]])]})
    mid = sent["message"]["body"]["mid"]
    edited = await call(http, fake, "PUT", "/messages", {"text": "ответ", "attachments": []}, message_id=mid)
    assert edited == (200, {"success": True})
    assert fake.messages[mid]["body"] == {"mid": mid, "seq": sent["message"]["body"]["seq"], "text": "ответ"}
    assert_shape(edited[1], "simple_query_result")
    assert [e["text"] for e in fake.edits] == ["ответ"]
    status, body = await call(http, fake, "PUT", "/messages", {"text": "x"}, message_id=user_mid)
    assert (status, body["message"]) == (400, f"Invalid message_id: {user_mid}")
    _, got = await call(http, fake, "GET", "/messages", message_ids=f"{mid},{user_mid}")
    assert [m["body"]["mid"] for m in got["messages"]] == [mid, user_mid]
    assert await call(http, fake, "DELETE", "/messages", message_id=mid) == (200, {"success": True})
    assert (await call(http, fake, "DELETE", "/messages", message_id=mid))[0] == 400
    assert fake.deleted == [mid]


# Callbacks


async def test_a_button_press_and_its_answer(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    fake.add_user(USER)
    _, sent = await send(http, fake, {"text": "Помогло?", "attachments": [keyboard([[button()]])]})
    callback_id = fake.press(USER, sent["message"], "yes")
    _, polled = await call(http, fake, "GET", "/updates", timeout=0)
    (pressed,) = polled["updates"]
    assert pressed["callback"]["callback_id"] == callback_id
    assert (pressed["callback"]["payload"], pressed["callback"]["user"]["user_id"]) == ("yes", USER)
    assert pressed["message"]["body"]["mid"] == sent["message"]["body"]["mid"]
    no_keyboard = dict(pressed, message=dict(pressed["message"], body={"mid": "m", "seq": 1, "text": "t"}))
    assert_shape(no_keyboard, "update_message_callback")
    path = "/answers"
    assert await call(http, fake, "POST", path, {"notification": "Принято"}, callback_id=callback_id) == (
        200,
        {"success": True},
    )
    assert await call(
        http, fake, "POST", path, {"message": {"text": "Спасибо!"}}, callback_id=callback_id
    ) == (
        200,
        {"success": True},
    )
    assert [(a["notification"], a["message"]) for a in fake.answers] == [
        ("Принято", None),
        (None, {"text": "Спасибо!"}),
    ]
    assert fake.messages[sent["message"]["body"]["mid"]]["body"]["text"] == "Спасибо!"


async def test_callback_answers_refused_like_max(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    fake.add_user(USER)
    _, sent = await send(http, fake, {"text": "?", "attachments": [keyboard([[button()]])]})
    callback_id = fake.press(USER, sent["message"], "yes")
    invalid = {"code": "proto.payload", "message": "callback_id: Callback identifier is invalid"}
    assert await call(http, fake, "POST", "/answers", {"notification": "!"}, callback_id="nope") == (
        400,
        invalid,
    )
    status, body = await call(http, fake, "POST", "/answers", {}, callback_id=callback_id)
    assert (status, body["message"]) == (400, "Invalid request. `message` or `notification` required")
    fake.expire_callbacks()
    assert await call(http, fake, "POST", "/answers", {"notification": "!"}, callback_id=callback_id) == (
        400,
        invalid,
    )
    assert fake.answers == []


# Uploads and files


async def test_image_and_file_uploads_are_not_ready_at_first(
    http: aiohttp.ClientSession, fake: FakeMax
) -> None:
    fake.add_user(USER)
    _, endpoint = await call(http, fake, "POST", "/uploads", type="image")
    assert_shape(endpoint, "upload_endpoint")
    status, photos = await upload(http, endpoint["url"], SAMPLE_JPEG, "справка.jpg")
    assert status == 200
    assert_shape(photos, "upload_image_answer")
    image = {"type": "image", "payload": photos}
    status, body = await send(http, fake, {"text": "Фото", "attachments": [image]})
    assert (status, body["code"]) == (400, "attachment.not.ready")
    assert_shape(body, "error_attachment_not_ready")
    assert (await send(http, fake, {"text": "Фото", "attachments": [image]}))[0] == 200

    _, endpoint = await call(http, fake, "POST", "/uploads", type="file")
    _, token = await upload(http, endpoint["url"], b"%PDF-1.4 fake", "заявление.pdf")
    assert_shape(token, "upload_file_answer")
    document = {"type": "file", "payload": token}
    assert (await send(http, fake, {"attachments": [document]}))[1]["code"] == "attachment.not.ready"
    assert (await send(http, fake, {"attachments": [document, keyboard([[button()]])]}))[0] == 200
    assert [(u.kind, u.filename, u.content) for u in fake.uploads] == [
        ("image", "справка.jpg", SAMPLE_JPEG),
        ("file", "заявление.pdf", b"%PDF-1.4 fake"),
    ]
    assert (await upload(http, endpoint["url"], b"again", "x.pdf"))[0] == 404  # one file per URL
    assert [m["attachments"] for m in fake.sent] == [[image], [document, keyboard([[button()]])]]


async def test_uploads_refused_like_max(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    fake.add_user(USER)
    status, body = await call(http, fake, "POST", "/uploads", type="photo")  # replaced by "image"
    assert (status, body["code"]) == (400, "proto.payload")
    assert (await call(http, fake, "POST", "/uploads"))[1]["message"] == "Missing required parameter: type"
    _, endpoint = await call(http, fake, "POST", "/uploads", type="file")
    _, token = await upload(http, endpoint["url"], b"data", "a.txt")
    status, body = await send(http, fake, {"attachments": [{"type": "image", "payload": token}]})
    assert (status, body["message"]) == (400, f"Invalid photo token provided: {token['token']}")
    two_files = [{"type": "file", "payload": token}] * 2
    assert (await send(http, fake, {"attachments": two_files}))[1]["message"] == (
        "Must be only one file attachment in message"
    )


async def test_video_uploads_get_their_token_with_the_url(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    fake.upload_ready_after = 2
    fake.add_user(USER)
    _, endpoint = await call(http, fake, "POST", "/uploads", type="video")
    assert_shape(endpoint, "upload_endpoint_with_token")
    status, retval = await upload(http, endpoint["url"], b"\x00\x00\x00\x18ftypmp42", "clip.mp4")
    assert (status, "<retval>1</retval>" in retval) == (200, True)
    video = {"type": "video", "payload": {"token": endpoint["token"]}}
    codes = [(await send(http, fake, {"attachments": [video]}))[0] for _ in range(3)]
    assert codes == [400, 400, 200]


async def test_incoming_attachments_are_downloadable_and_reusable(
    http: aiohttp.ClientSession, fake: FakeMax
) -> None:
    attachments = [
        fake.photo_attachment(SAMPLE_JPEG),
        fake.file_attachment(b"%PDF-1.4", "паспорт.pdf"),
        fake.voice_attachment(b"OggS voice"),
        fake.sticker_attachment("c0ffee"),
    ]
    fake.user_message(USER, "", attachments=attachments)
    _, polled = await call(http, fake, "GET", "/updates", timeout=0)
    got = polled["updates"][0]["message"]["body"]["attachments"]
    assert [a["type"] for a in got] == ["image", "file", "audio", "sticker"]
    for attachment in got:
        assert shape_errors(attachment, example("attachments")[attachment["type"]]) == [], attachment["type"]
    contents = []
    for attachment in got:
        async with http.get(attachment["payload"]["url"]) as response:
            contents.append(await response.read())
    assert contents[:3] == [SAMPLE_JPEG, b"%PDF-1.4", b"OggS voice"]
    assert got[1]["filename"] == "паспорт.pdf"
    assert got[1]["size"] == len(b"%PDF-1.4")
    async with http.get(f"{fake.url}/files/nothing.jpg") as missing:
        assert missing.status == 404
    again = {"type": "image", "payload": {"token": got[0]["payload"]["token"]}}
    assert (await send(http, fake, {"text": "Ваше фото", "attachments": [again]}))[0] == 200


# The rest of the citizens' actions


async def test_edits_raw_updates_and_chats(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    message = fake.user_message(USER, "опечатка")
    fake.edit_message(message, "исправлено")
    fake.raw_update({"update_type": "dialog_muted", "timestamp": 1, "chat_id": 5, "muted_until": 2})
    fake.raw_update({"update_type": "something_new", "timestamp": 2})
    _, polled = await call(http, fake, "GET", "/updates", timeout=0)
    created, edited, muted, odd = polled["updates"]
    assert created["message"]["body"]["text"] == "опечатка"
    assert edited["message"]["body"]["text"] == "исправлено"
    assert_shape(edited, "update_message_edited")
    assert (muted["update_type"], odd) == ("dialog_muted", {"update_type": "something_new", "timestamp": 2})
    status, chat = await call(http, fake, "GET", f"/chats/{fake.chats[USER]}")
    assert (status, chat["dialog_with_user"]["user_id"]) == (200, USER)
    assert_shape(chat, "chat_dialog", "dialog_with_user.avatar_url", "dialog_with_user.full_avatar_url")
    assert (await call(http, fake, "GET", "/chats/123"))[0] == 404


# Faults


async def test_more_than_30_requests_a_second_get_429(http: aiohttp.ClientSession) -> None:
    now = [1000.0]
    async with FakeMax(token=TOKEN, clock=lambda: now[0]) as fake:
        answers = [await call(http, fake, "GET", "/me") for _ in range(35)]
        assert [status for status, _ in answers] == [200] * 30 + [429] * 5
        assert answers[-1][1]["code"] == "too.many.requests"
        assert fake.too_many == 5
        now[0] += 1.0
        assert (await call(http, fake, "GET", "/me"))[0] == 200
        fake.rate_limit(None)
        assert {(await call(http, fake, "GET", "/me"))[0] for _ in range(40)} == {200}
        fake.rate_limit(2)
        assert [(await call(http, fake, "GET", "/me"))[0] for _ in range(3)] == [200, 200, 429]


async def test_an_html_502_from_the_proxy_and_json_faults(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    fake.add_user(USER)
    fake.fail_next("POST /messages", 502, html=True)
    async with http.post(f"{fake.url}/messages", params={"user_id": USER}, json={"text": "x"}) as response:
        assert (response.status, response.content_type) == (502, "text/html")
        assert "502 Bad Gateway" in await response.text()
    fake.fail_next("/me", 503, times=2)
    fake.fail_next("GET /updates", 500, body={"code": "internal.error", "message": "boom"})
    assert [(await call(http, fake, "GET", "/me"))[0] for _ in range(3)] == [503, 503, 200]
    assert await call(http, fake, "GET", "/updates", timeout=0) == (
        500,
        {"code": "internal.error", "message": "boom"},
    )
    assert (await send(http, fake, {"text": "x"}))[0] == 200
    assert [c.status for c in fake.calls_of("POST /messages")] == [502, 200]


async def test_hang_next_delays_the_answer(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    fake.hang_next("GET /me", 0.3)
    started = time.monotonic()
    assert (await call(http, fake, "GET", "/me"))[0] == 200
    assert time.monotonic() - started >= 0.3
    fake.hang_next("/me", 30)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await call(http, fake, "GET", "/me")


async def test_going_away_and_coming_back(http: aiohttp.ClientSession, fake: FakeMax) -> None:
    await fake.go_away()
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(http, fake, "GET", "/me")
    await fake.come_back()
    assert (await call(http, fake, "GET", "/me"))[0] == 200
