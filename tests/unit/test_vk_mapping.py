"""VK events to normalized messages and buttons to VK keyboards."""

from __future__ import annotations

import json
from typing import Any

from adapters.base import Blocked, Ignore
from adapters.vk import mapping
from dialog.messages import AttachmentKind, Button, InboundMessage


def message_new(text: str = "привет", peer: int = 501, **extra: Any) -> dict[str, Any]:
    message = {"id": 7, "date": 1, "peer_id": peer, "from_id": peer, "text": text, "attachments": []} | extra
    info = {"button_actions": ["text", "callback"], "keyboard": True, "inline_keyboard": True}
    return {"type": "message_new", "object": {"message": message, "client_info": info}, "event_id": "e1"}


def test_a_message_and_a_text_button_press() -> None:
    decoded = mapping.decode(message_new())
    assert isinstance(decoded, InboundMessage)
    assert (decoded.channel, decoded.chat_id, decoded.text, decoded.payload) == ("vk", "501", "привет", None)
    pressed = mapping.decode(message_new("Регистрация", payload=json.dumps({"b": "cat:account"})))
    assert isinstance(pressed, InboundMessage) and pressed.payload == "cat:account" and pressed.text == ""
    start = mapping.decode(message_new("Начать", payload=json.dumps({"command": "start"})))
    assert isinstance(start, InboundMessage) and (start.text, start.payload) == ("/start", None)
    forged = mapping.decode(message_new("x", payload="{not json"))
    assert isinstance(forged, InboundMessage) and forged.payload == "unknown"


def test_a_callback_button_and_subscription_events() -> None:
    event = {
        "type": "message_event",
        "object": {"user_id": 501, "peer_id": 501, "event_id": "ev", "payload": {"b": "menu"}},
    }
    decoded = mapping.decode(event)
    assert isinstance(decoded, InboundMessage) and decoded.payload == "menu"
    assert mapping.decode({"type": "message_deny", "object": {"user_id": 501}}) == Blocked("501", True)
    assert mapping.decode({"type": "message_allow", "object": {"user_id": 501}}) == Blocked("501", False)


def test_group_conversations_bots_and_malformed_events_are_ignored() -> None:
    assert isinstance(mapping.decode(message_new(peer=2_000_000_001)), Ignore)
    assert isinstance(mapping.decode(message_new(from_id=-5)), Ignore)
    assert isinstance(mapping.decode({"type": "message_new", "object": {"message": {}}}), Ignore)
    assert isinstance(mapping.decode({"type": "wall_post_new", "object": {}}), Ignore)
    assert isinstance(mapping.decode({"type": "message_new"}), Ignore)


def test_attachments_keep_what_an_operator_needs() -> None:
    photo = {
        "type": "photo",
        "photo": {
            "sizes": [{"width": 100, "height": 75, "url": "s"}, {"width": 800, "height": 600, "url": "big"}]
        },
    }
    doc = {"type": "doc", "doc": {"title": "скан.pdf", "ext": "pdf", "size": 1000, "url": "d"}}
    decoded = mapping.decode(message_new("", attachments=[photo, doc, {"type": "sticker", "sticker": {}}]))
    assert isinstance(decoded, InboundMessage)
    kinds = [(a.kind, a.ref, a.mime_type) for a in decoded.attachments]
    assert kinds == [
        (AttachmentKind.PHOTO, "big", "image/jpeg"),
        (AttachmentKind.DOCUMENT, "d", "application/pdf"),
        (AttachmentKind.STICKER, None, None),
    ]


def test_a_voice_message_goes_on_by_its_ogg_link() -> None:
    voice = {
        "id": 458000001,
        "owner_id": 501,
        "duration": 7,
        "waveform": [0, 12, 31, 0],
        "link_ogg": "https://psv4.userapi.com/c1/audio_msg501.ogg",
        "link_mp3": "https://psv4.userapi.com/c1/audio_msg501.mp3",
    }
    decoded = mapping.decode(message_new("", attachments=[{"type": "audio_message", "audio_message": voice}]))
    assert isinstance(decoded, InboundMessage)
    (attachment,) = decoded.attachments
    assert (attachment.kind, attachment.ref, attachment.mime_type, attachment.duration) == (
        AttachmentKind.VOICE,
        "https://psv4.userapi.com/c1/audio_msg501.ogg",  # Opus in OGG: Telegram plays it as a voice
        "audio/ogg",
        7,
    )
    mp3_only = {"type": "audio_message", "audio_message": voice | {"link_ogg": None}}
    decoded = mapping.decode(message_new("", attachments=[mp3_only]))
    assert isinstance(decoded, InboundMessage)
    assert (decoded.attachments[0].ref, decoded.attachments[0].mime_type) == (voice["link_mp3"], "audio/mpeg")


def cells(markup: str | None) -> tuple[bool, list[int], list[str]]:
    data = json.loads(markup or "")
    kinds = {b["action"]["type"] for row in data["buttons"] for b in row}
    ids = [json.loads(b["action"]["payload"])["b"] for row in data["buttons"] for b in row]
    assert kinds == ({"callback"} if data["inline"] else {"text"})
    assert all(len(b["action"]["label"]) <= 40 for row in data["buttons"] for b in row)
    return data["inline"], [len(row) for row in data["buttons"]], ids


def test_keyboards_hold_every_button_within_vk_limits() -> None:
    def buttons(n: int) -> list[Button]:
        return [
            Button(f"topic:{i}", f"Очень длинное название вопроса номер {i} про что-то") for i in range(n)
        ]

    assert cells(mapping.keyboard(buttons(5), inline=True))[:2] == (True, [1] * 5)
    inline, rows, ids = cells(mapping.keyboard(buttons(8), inline=True))
    assert inline and rows == [2, 2, 2, 2] and ids == [f"topic:{i}" for i in range(8)]  # 6 rows at most
    inline, rows, ids = cells(mapping.keyboard(buttons(13), inline=True))  # over 10: under the input field
    assert not inline and len(rows) <= 10 and len(ids) == 13
    inline, rows, ids = cells(mapping.keyboard(buttons(45), inline=False))
    assert len(ids) == 40 and ids[-1] == "topic:44"  # cut to 40, the way back kept
    assert cells(mapping.keyboard(buttons(3), inline=False))[:2] == (False, [1, 1, 1])
    assert mapping.keyboard([], inline=True) is None
    assert mapping.inline_supported(message_new()) is True
