"""The VK channel: decoding stored events and delivering replies with messages.send."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any

from adapters.base import Decoded
from adapters.errors import PermanentFailure
from adapters.presses import answer_press
from adapters.vk import mapping
from adapters.vk.batching import SendBatcher
from adapters.vk.client import MessageTooLong, VkClient
from dialog.messages import Button
from dialog.splitting import split_text

logger = logging.getLogger("okno.adapters.vk")

MAX_TEXT = 4096
MIN_SPLIT = 200  # a shorter text refused as too long is not a length problem
PART_KEYS = 2**30  # random ids of parts live above those of whole replies (outbox ids)


class VkChannel:
    name = mapping.CHANNEL
    max_text_length = MAX_TEXT
    deduplicates = True  # random_id

    def __init__(self, client: VkClient, group_id: int, batch: int = 25) -> None:
        self.client = client
        self.group_id = group_id
        self.batcher = SendBatcher(client, batch)
        self._inline: dict[str, bool] = {}  # what each citizen's app said it can show

    def decode(self, payload: dict[str, Any]) -> Decoded:
        supported = mapping.inline_supported(payload)
        peer = mapping.peer_of(payload)
        if supported is not None and peer is not None:
            self._inline[str(peer)] = supported
        return mapping.decode(payload)

    def display_name(self, payload: dict[str, Any]) -> str | None:
        return None  # VK events carry ids only

    async def acknowledge(self, payload: dict[str, Any], text: str | None = None) -> None:
        """A pressed callback button spins until answered."""
        data = payload.get("object") or {}
        if payload.get("type") != "message_event" or "event_id" not in data:
            return
        params = {
            "event_id": data["event_id"],
            "user_id": data.get("user_id"),
            "peer_id": data.get("peer_id"),
        }
        await answer_press(lambda: self.client.call("messages.sendMessageEventAnswer", **params), "VK")

    async def send(
        self, chat_id: str, text: str, buttons: Sequence[Button], key: str | None = None
    ) -> str | None:
        inline = self._inline.get(chat_id, True)
        params: dict[str, Any] = {
            "peer_id": int(chat_id),
            "random_id": _random_id(key),
            "message": text,
            "dont_parse_links": 1,
        }
        markup = mapping.keyboard(buttons, inline)
        if markup is not None:
            params["keyboard"] = markup
        try:
            result = await self.batcher.send(params)
        except MessageTooLong:
            if len(text) < MIN_SPLIT:
                raise
            return await self._send_in_parts(chat_id, text, buttons, key)
        return str(result)

    async def _send_in_parts(
        self, chat_id: str, text: str, buttons: Sequence[Button], key: str | None
    ) -> str | None:
        """VK's limit turned out lower than ours: halves, each under its own random_id."""
        parts = split_text(text, len(text) // 2 + 1)
        last = None
        for index, part in enumerate(parts):
            part_key = None if key is None else str(PART_KEYS + (int(key) * 16 + index) % PART_KEYS)
            last = await self.send(chat_id, part, buttons if index == len(parts) - 1 else (), part_key)
        return last

    async def send_media(
        self,
        chat_id: str,
        kind: str,
        ref: str,
        caption: str,
        key: str | None = None,
        data: bytes | None = None,
    ) -> str | None:
        """Upload the file through VK's upload server, then send it as an attachment."""
        if data is None:
            raise PermanentFailure("a file for VK needs its content: VK cannot take another platform's id")
        attachment = await self.client.upload(kind, data, int(chat_id))
        params: dict[str, Any] = {
            "peer_id": int(chat_id),
            "random_id": _random_id(key),
            "attachment": attachment,
        }
        if caption:
            params["message"] = caption
        return str(await self.client.call("messages.send", **params))

    async def fetch_file(self, ref: str) -> bytes:
        return await self.client.download(ref)

    async def close(self) -> None:
        await self.client.close()


def _random_id(key: str | None) -> int:
    """Our outbox id: VK drops a second message with the same random_id, so a retry never doubles."""
    if key is not None and key.isdigit():
        return int(key) % 2_147_483_647
    return secrets.randbelow(2_147_483_647)
