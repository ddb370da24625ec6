"""Live updates for open inbox pages: one cheap database marker watched, and an event sent to every
open page when it moves, whichever process or messenger changed the tickets."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from storage.web import WebStore

logger = logging.getLogger("okno.handoff.web")

POLL_SECONDS = 0.5
PING_SECONDS = 15.0


class InboxFeed:
    def __init__(self, store: WebStore) -> None:
        self.store = store
        self.revision: tuple[int, ...] = ()
        self._changed = asyncio.Condition()
        self.watchers = 0
        self.stopped = False

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.watchers:
                try:
                    revision = await self.store.revision()
                except Exception:  # a database hiccup must not end live updates
                    logger.exception("the inbox could not check for changes")
                    revision = self.revision
                if revision != self.revision:
                    self.revision = revision
                    async with self._changed:
                        self._changed.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        self.stopped = True  # open event streams end, so shutdown does not wait for them
        async with self._changed:
            self._changed.notify_all()

    async def wait(self, seen: tuple[int, ...], timeout: float) -> tuple[int, ...]:
        async with self._changed:
            if self.revision == seen:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
        return self.revision

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: «change» whenever tickets, messages or notes change."""
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        self.watchers += 1
        try:
            seen = self.revision
            while not self.stopped:
                revision = await self.wait(seen, PING_SECONDS)
                message = b": ping\n\n" if revision == seen else b"event: change\ndata: 1\n\n"
                seen = revision
                await response.write(message)
        except ConnectionError:
            pass
        finally:
            self.watchers -= 1
        return response
