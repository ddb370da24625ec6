"""Telegram messages with recordings: what reaches the operator is the file id, its kind and length."""

from __future__ import annotations

from typing import Any

from adapters.telegram import mapping
from dialog.messages import Attachment, AttachmentKind, InboundMessage


def update(**content: Any) -> dict[str, Any]:
    person = {"id": 701, "is_bot": False, "first_name": "Иван"}
    message = {"message_id": 5, "date": 1, "chat": {"id": 701, "type": "private"}, "from": person}
    return {"update_id": 1, "message": message | content}


def decoded(**content: Any) -> InboundMessage:
    message = mapping.decode(update(**content), allow_groups=False)
    assert isinstance(message, InboundMessage)
    return message


def test_a_voice_note_keeps_its_file_id_and_length() -> None:
    voice = {"file_id": "AwACAgIAAxk", "file_unique_id": "u1", "duration": 12, "mime_type": "audio/ogg"}
    message = decoded(voice=voice | {"file_size": 48_000}, caption="вот голосовое")
    assert message.text == "вот голосовое"
    assert message.attachments == (
        Attachment(AttachmentKind.VOICE, 48_000, None, "audio/ogg", "AwACAgIAAxk", 12),
    )


def test_an_audio_file_and_a_round_video_are_recordings_too() -> None:
    audio = {"file_id": "CQACAgIAAxk", "file_unique_id": "u2", "duration": 95, "file_name": "запись.mp3"}
    note = {"file_id": "DQACAgIAAxk", "file_unique_id": "u3", "duration": 20, "length": 240}
    (sent_audio,) = decoded(audio=audio).attachments
    (sent_note,) = decoded(video_note=note).attachments
    assert (sent_audio.kind, sent_audio.ref, sent_audio.name, sent_audio.duration) == (
        AttachmentKind.AUDIO,
        "CQACAgIAAxk",
        "запись.mp3",
        95,
    )
    assert sent_audio.mime_type == "audio/mpeg"  # Telegram may leave it out; the player needs one
    assert (sent_note.kind, sent_note.ref, sent_note.mime_type, sent_note.duration) == (
        AttachmentKind.VIDEO_NOTE,
        "DQACAgIAAxk",
        "video/mp4",
        20,
    )
