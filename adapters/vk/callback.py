"""The Callback API: VK posts events to our web server; each is stored, then answered «ok» at once."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.vk.receiving import new_update
from storage.repositories import Repository

logger = logging.getLogger("okno.adapters.vk")

Handler = Callable[[web.Request], Awaitable[web.Response]]


def callback_handler(
    group_id: int,
    secret: str | None,
    confirmation: str,
    repository: Repository,
    on_stored: Callable[[], None],
) -> Handler:
    """VK retries an event until it gets «ok», sometimes many seconds later: a stored event id
    is skipped, so a retry is handled once."""

    async def handle(request: web.Request) -> web.Response:
        try:
            event: Any = await request.json()
        except ValueError:
            return web.Response(status=400, text="malformed JSON")
        if not isinstance(event, dict) or event.get("group_id") != group_id:
            return web.Response(status=403, text="unknown community")
        if event.get("type") == "confirmation":
            return web.Response(text=confirmation)
        if secret is not None and not hmac.compare_digest(str(event.get("secret", "")), secret):
            logger.warning("a VK callback with a wrong secret was refused")
            return web.Response(status=403, text="wrong secret")
        if not event.get("event_id"):
            return web.Response(text="ok")  # nothing to tell apart a retry by: not ours to handle
        event.pop("secret", None)  # not kept in the database
        await repository.enqueue_updates([new_update(group_id, event)])
        on_stored()
        return web.Response(text="ok")

    return handle
