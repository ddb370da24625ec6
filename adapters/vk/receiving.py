"""Bots Long Poll: VK events stored in the inbox, the position kept so a restart loses nothing."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from adapters.stopping import receive_until_stopped, until_stopped
from adapters.vk.client import VkClient
from adapters.vk.mapping import CHANNEL, chat_key
from storage.records import NewUpdate
from storage.repositories import Repository

logger = logging.getLogger("okno.adapters.vk")

T = TypeVar("T")
WAIT_SECONDS = 25  # VK allows up to 90


@dataclass
class Server:
    url: str
    key: str
    ts: str


def new_update(group_id: int, payload: dict[str, Any]) -> NewUpdate:
    return NewUpdate(
        key=f"{CHANNEL}:{group_id}:{payload.get('event_id')}",
        channel=CHANNEL,
        chat_key=chat_key(payload),
        payload=payload,
    )


class LongPoll:
    def __init__(
        self,
        client: VkClient,
        group_id: int,
        repository: Repository,
        on_stored: Callable[[], None],
        wait: int = WAIT_SECONDS,
    ) -> None:
        self.client = client
        self.group_id = group_id
        self.repository = repository
        self.on_stored = on_stored
        self.wait = wait
        self._position = f"vk:longpoll:{group_id}"
        self._current: Server | None = None

    async def run(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as http:
            await receive_until_stopped(
                stop, functools.partial(self._step, http, stop), "VK long poll", self._forget_server
            )

    async def _step(self, http: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        self._current = self._current or await until_stopped(stop, self._server(keep_ts=True))
        if self._current is not None:
            self._current = await self._check(http, self._current, stop)

    def _forget_server(self) -> None:
        """After a failure the next step asks VK for a server again."""
        self._current = None

    async def _server(self, keep_ts: bool, ts: str | None = None) -> Server:
        answer = await self.client.call("groups.getLongPollServer", group_id=self.group_id)
        stored = await self.repository.cursor(self._position) if keep_ts else None
        position = ts or stored or str(answer["ts"])  # after a restart: from where we stopped
        return Server(str(answer["server"]), str(answer["key"]), str(position))

    async def _check(self, http: aiohttp.ClientSession, server: Server, stop: asyncio.Event) -> Server:
        params = {"act": "a_check", "key": server.key, "ts": server.ts, "wait": str(self.wait)}
        answer = await until_stopped(stop, self._get(http, server.url, params))
        if answer is None:  # stopping: events not yet confirmed come again on the next start
            return server
        failed = answer.get("failed")
        if failed == 1:  # events were lost from VK's history: go on from the ts it gives
            return Server(server.url, server.key, str(answer["ts"]))
        if failed == 2:  # the key expired: a new key, the same position
            return await self._server(keep_ts=False, ts=server.ts)
        if failed == 3:  # the information was lost: a new key and position
            return await self._server(keep_ts=False)
        updates = [u for u in answer.get("updates") or () if isinstance(u, dict) and u.get("event_id")]
        if updates:
            await self.repository.enqueue_updates([new_update(self.group_id, u) for u in updates])
            self.on_stored()
        next_ts = str(answer["ts"])
        await self.repository.save_cursor(self._position, next_ts)
        return Server(server.url, server.key, next_ts)

    async def _get(self, http: aiohttp.ClientSession, url: str, params: dict[str, str]) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=self.wait + 10)
        async with http.get(url, params=params, timeout=timeout) as response:
            data: dict[str, Any] = await response.json(content_type=None)
            return data
