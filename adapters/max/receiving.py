"""MAX updates into the inbox: long polling with its marker kept in the database, or the webhook.

Either way an update is stored before MAX hears that it arrived (the next poll's marker, the
webhook's 200), and one that comes again is stored once: the inbox's key is the message's or the
press's own id.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.errors import RetryLater, TemporaryFailure
from adapters.max.client import MaxClient
from adapters.max.mapping import CHANNEL, UPDATE_TYPES, chat_key, update_key
from adapters.stopping import receive_until_stopped, until_stopped
from storage.records import NewUpdate
from storage.repositories import Repository

logger = logging.getLogger("okno.adapters.max")

WAIT_SECONDS = 25  # MAX holds a poll up to 90 s
BATCH = 100
SECRET_HEADER = "X-Max-Bot-Api-Secret"
MARKER = "max:marker"
SUBSCRIBE_ATTEMPTS = 5  # a MAX outage at start: 2 + 4 + 8 + 16 s, then the start fails saying why

Handler = Callable[[web.Request], Awaitable[web.Response]]


def new_update(update: dict[str, Any]) -> NewUpdate:
    return NewUpdate(key=update_key(update), channel=CHANNEL, chat_key=chat_key(update), payload=update)


class LongPoll:
    """GET /updates in a loop; the answer's marker, saved after its updates are stored, is where the
    next poll (and the next start) goes on from, and passing it tells MAX the rest arrived."""

    def __init__(
        self,
        client: MaxClient,
        repository: Repository,
        on_stored: Callable[[], None],
        wait: int = WAIT_SECONDS,
    ) -> None:
        self.client = client
        self.repository = repository
        self.on_stored = on_stored
        self.wait = wait
        self._unsubscribed = False

    async def run(self, stop: asyncio.Event) -> None:
        await receive_until_stopped(stop, functools.partial(self._step, stop), "MAX long poll")

    async def _step(self, stop: asyncio.Event) -> None:
        if not self._unsubscribed:  # MAX sends nothing to a poll while a webhook is subscribed
            await until_stopped(stop, drop_subscriptions(self.client))
            self._unsubscribed = True
        await self._poll(stop)

    async def _poll(self, stop: asyncio.Event) -> None:
        marker = await self.repository.cursor(MARKER)
        params = {"limit": BATCH, "timeout": self.wait, "marker": marker, "types": ",".join(UPDATE_TYPES)}
        answer = await until_stopped(stop, self.client.call("GET", "/updates", params, wait=self.wait))
        if answer is None:  # stopping: what was not acknowledged comes again on the next start
            return
        if not isinstance(answer, dict):
            raise ValueError(f"GET /updates answered {str(answer)[:200]}")
        updates = [u for u in answer.get("updates") or () if isinstance(u, dict)]
        if updates:
            await self.repository.enqueue_updates([new_update(u) for u in updates])
            self.on_stored()
        if answer.get("marker") is not None and str(answer["marker"]) != marker:
            await self.repository.save_cursor(MARKER, str(answer["marker"]))


async def check_token(client: MaxClient) -> None:
    """At start: a refused token stops `okno run` before anything runs, naming the setting
    (PermanentFailure); MAX away now is the receivers' and the outbox's business."""
    try:
        await client.call("GET", "/me")
    except (TemporaryFailure, RetryLater) as exc:
        logger.warning("MAX does not answer at start (%s): its updates wait until it does", exc)


async def drop_subscriptions(client: MaxClient) -> None:
    """Long polling is chosen: a webhook subscription left from webhook mode would take the updates."""
    found = await client.call("GET", "/subscriptions")
    for subscription in (found or {}).get("subscriptions") or ():
        url = subscription.get("url") if isinstance(subscription, dict) else None
        if url:
            logger.warning("removing the MAX webhook subscription %s: OKNO_MAX_MODE is longpoll", url)
            await client.call("DELETE", "/subscriptions", {"url": url})


async def subscribe(client: MaxClient, url: str, secret: str | None) -> None:
    """Ask MAX to post the updates Okno handles to `url`, with `secret` in every request's header."""
    body: dict[str, Any] = {"url": url, "update_types": list(UPDATE_TYPES)}
    if secret:
        body["secret"] = secret
    for attempt in range(1, SUBSCRIBE_ATTEMPTS + 1):
        try:
            await client.call("POST", "/subscriptions", body=body)
            break
        except (TemporaryFailure, RetryLater) as exc:
            if attempt == SUBSCRIBE_ATTEMPTS:
                raise
            logger.warning("MAX did not take the webhook subscription (%s); trying again", exc)
            await asyncio.sleep(2.0**attempt)
    logger.info("MAX posts updates to %s", url)


def webhook_handler(secret: str | None, repository: Repository, on_stored: Callable[[], None]) -> Handler:
    """MAX posts one update a request and retries until it gets 200: each is stored, then answered."""

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if secret is not None and not hmac.compare_digest(given.encode(), secret.encode()):
            logger.warning("a MAX webhook request with a wrong secret was refused")
            return web.json_response({"ok": False, "error": "wrong secret"}, status=403)
        try:
            update: Any = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "malformed JSON"}, status=400)
        if not isinstance(update, dict) or not update.get("update_type"):
            logger.warning("a MAX webhook request with no update in it was ignored")
            return web.json_response({"ok": True})  # nothing to retry: MAX would post it for hours
        await repository.enqueue_updates([new_update(update)])
        on_stored()
        return web.json_response({"ok": True})

    return handle
