"""MAX's updates as Okno reads them, its keyboards as Okno writes them, its errors as what to do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.base import Blocked, Ignore, Notice
from adapters.errors import ChatBlocked, PermanentFailure, RetryLater, TemporaryFailure
from adapters.max import mapping
from adapters.max.client import AttachmentNotReady, answer_of
from bots.settings import Settings
from dialog.messages import AttachmentKind, Button, InboundMessage

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "max_schema"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA / f"{name}.json").read_text(encoding="utf-8"))
    return data


def test_a_citizens_message_is_known_by_the_citizen_and_keyed_by_its_id() -> None:
    update = example("update_message_created")
    decoded = mapping.decode(update)
    assert decoded == InboundMessage(
        channel="max",
        chat_id="123456789",
        user_id="123456789",
        text="hi bot",
        platform_message_id="mid.000000000adf429c019d47b1ce4600ff",
    )
    assert mapping.chat_key(update) == "max:123456789"
    assert mapping.update_key(update) == mapping.update_key(json.loads(json.dumps(update)))
    assert mapping.display_name(update) == "John Doe"


def test_a_press_carries_our_button_id_and_is_keyed_by_its_callback() -> None:
    update = example("update_message_callback")
    decoded = mapping.decode(update)
    assert isinstance(decoded, InboundMessage)
    assert (decoded.chat_id, decoded.payload) == ("123456789", "picture")
    assert mapping.update_key(update).startswith("max:press:f9LHodD0cO")
    assert mapping.display_name(update) == "John Doe"  # the one who pressed, not the bot


def test_start_greets_stop_blocks_and_an_edit_is_answered_with_a_notice() -> None:
    started = mapping.decode(example("update_bot_started"))
    assert isinstance(started, InboundMessage) and started.text == "/start"
    assert mapping.decode(example("update_bot_stopped")) == Blocked("123456789")
    edited = mapping.decode(example("update_message_edited"))
    assert isinstance(edited, Notice) and "изменили сообщение" in edited.text


def test_files_become_attachments_an_operator_can_fetch() -> None:
    items = example("attachments")
    message = example("update_message_created")
    message["message"]["body"]["attachments"] = list(items.values())
    decoded = mapping.decode(message)
    assert isinstance(decoded, InboundMessage)
    kinds = [(a.kind, a.ref, a.name, a.mime_type) for a in decoded.attachments]
    assert kinds == [
        (AttachmentKind.PHOTO, items["image"]["payload"]["url"], None, "image/jpeg"),
        (AttachmentKind.DOCUMENT, items["file"]["payload"]["url"], "document.pdf", "application/pdf"),
        (AttachmentKind.VOICE, items["audio"]["payload"]["url"], None, "audio/ogg"),
        (AttachmentKind.STICKER, None, None, None),
    ]


@pytest.mark.parametrize(
    "update",
    [
        {},
        {"update_type": "message_created"},
        {"update_type": "message_created", "message": "text"},
        {"update_type": "message_created", "message": {"recipient": {}, "sender": {"user_id": "x"}}},
        {"update_type": "message_callback", "callback": {"callback_id": "1"}},
        {"update_type": "bot_started", "user": None},
        {"update_type": "dialog_cleared", "chat_id": 1},
        {"update_type": "message_removed", "message_id": "mid.1"},
    ],
)
def test_odd_and_unknown_updates_are_ignored(update: dict[str, Any]) -> None:
    assert isinstance(mapping.decode(update), Ignore)
    assert mapping.chat_key(update).startswith("max:")
    assert mapping.update_key(update).startswith("max:")


def test_group_chats_and_bots_are_not_answered() -> None:
    update = example("update_message_created")
    update["message"]["recipient"]["chat_type"] = "chat"
    assert mapping.decode(update) == Ignore("group chat")
    update = example("update_message_created")
    update["message"]["sender"]["is_bot"] = True
    assert isinstance(mapping.decode(update), Ignore)


def test_a_keyboard_keeps_to_maxs_rows_and_buttons() -> None:
    assert mapping.keyboard(()) is None
    few = mapping.keyboard([Button(f"id{i}", f"Раздел {i}") for i in range(5)])
    assert few is not None and [len(r) for r in few["payload"]["buttons"]] == [1] * 5
    many = mapping.keyboard([Button(f"id{i}", "Очень " * 40) for i in range(300)])
    assert many is not None
    rows = many["payload"]["buttons"]
    assert len(rows) <= 30 and all(len(r) <= 7 for r in rows)
    cells = [b for r in rows for b in r]
    assert len(cells) == 210 and cells[-1]["payload"] == "id299"  # the last (back, menu) kept
    assert all(1 <= len(b["text"]) <= 128 for b in cells)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, {"code": "too.many.requests", "message": "Too many"}, RetryLater),
        (500, {"code": "internal.error", "message": "oops"}, TemporaryFailure),
        (502, "<html><body>Bad Gateway</body></html>", TemporaryFailure),
        (200, "<html>maintenance</html>", TemporaryFailure),
        (400, {"code": "attachment.not.ready", "message": ""}, AttachmentNotReady),
        (401, {"code": "verify.token", "message": "Invalid access_token"}, PermanentFailure),
        (403, {"code": "chat.denied", "message": "error.dialog.suspended"}, ChatBlocked),
        (400, {"code": "proto.payload", "message": "text too long"}, PermanentFailure),
    ],
)
def test_maxs_answers_say_what_to_do(status: int, body: object, error: type[Exception]) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(error) as raised:
        answer_of(status, text)
    if status == 401:
        assert "OKNO_MAX_TOKEN" in str(raised.value)


def test_webhook_mode_needs_a_public_https_url_and_a_secret() -> None:
    def settings(**values: str) -> Settings:
        return Settings(_env_file=None, max_token="t", max_mode="webhook", **values)  # type: ignore[arg-type, call-arg]

    hook, secret = "https://bot.example.ru/max/hook", "s3cret"
    for wrong in ({}, {"max_webhook_url": "http://bot.example.ru/max", "max_webhook_secret": secret}):
        with pytest.raises(ValueError, match="OKNO_MAX_WEBHOOK_URL"):
            settings(**wrong)
    for wrong in ({"max_webhook_url": hook}, {"max_webhook_url": hook, "max_webhook_secret": "no!"}):
        with pytest.raises(ValueError, match="OKNO_MAX_WEBHOOK_SECRET"):
            settings(**wrong)
    assert settings(max_webhook_url=hook, max_webhook_secret=secret).max_webhook_path == "/max/hook"
