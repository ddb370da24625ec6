"""Receiving Telegram updates: long polling or a webhook, each storing an update before confirming it."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods.base import TelegramMethod
from aiohttp import web

from adapters.errors import BadToken
from adapters.stopping import sleep_unless, until_stopped
from adapters.telegram.mapping import ALLOWED_UPDATES, CHANNEL, chat_key
from storage.records import CITIZENS_QUEUE, NewUpdate
from storage.repositories import Repository

logger = logging.getLogger("okno.adapters.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates call open
MAX_BACKOFF = 30.0


class GetRawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """getUpdates returning plain JSON: one malformed update must not make a batch unreadable."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


# the inbox queue an update is filed in, told from its raw JSON (citizens' or the operators' groups')
QueueOf = Callable[[dict[str, Any]], str]
# stored updates wait in this queue: its worker looks now
Wake = Callable[[str], None]


def new_update(bot_id: int, payload: dict[str, Any], queue: str = CITIZENS_QUEUE) -> NewUpdate:
    return NewUpdate(
        key=f"{CHANNEL}:{bot_id}:{payload['update_id']}",
        channel=CHANNEL,
        chat_key=chat_key(payload),
        payload=payload,
        queue=queue,
    )


async def bot_id(bot: Bot) -> int:
    try:
        return (await bot.get_me()).id
    except TelegramUnauthorizedError as exc:
        raise BadToken("Telegram rejected OKNO_TELEGRAM_TOKEN (Unauthorized): check the token") from exc


class Polling:
    """getUpdates in a loop; the offset advances only after the updates are stored."""

    def __init__(self, bot: Bot, repository: Repository, on_stored: Wake, queue_of: QueueOf) -> None:
        self.bot = bot
        self.repository = repository
        self.on_stored = on_stored
        self.queue_of = queue_of

    async def run(self, stop: asyncio.Event) -> None:
        me = await bot_id(self.bot)
        await self.bot.delete_webhook(drop_pending_updates=False)
        logger.info("polling Telegram for updates")
        offset: int | None = None
        failures = 0
        while not stop.is_set():
            try:
                offset = await self._poll_once(me, offset, stop)
                failures = 0
            except TelegramUnauthorizedError as exc:
                raise BadToken("Telegram rejected OKNO_TELEGRAM_TOKEN (Unauthorized)") from exc
            except TelegramRetryAfter as exc:
                await sleep_unless(stop, float(exc.retry_after))
            except Exception:  # the loop must outlive network, server and database trouble
                failures += 1
                delay = min(MAX_BACKOFF, 2.0**failures)
                logger.exception("polling failed; retrying in %.0f s", delay)
                await sleep_unless(stop, delay)

    async def _poll_once(self, me: int, offset: int | None, stop: asyncio.Event) -> int | None:
        method = GetRawUpdates(offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES)
        answer = await until_stopped(stop, self.bot(method, request_timeout=POLL_TIMEOUT + 10))
        if answer is None:  # stopping: unconfirmed updates come again on the next start
            return offset
        # a null, a string or an update without an id in the array is skipped, never retried for ever
        payloads = [p for p in answer if isinstance(p, dict) and isinstance(p.get("update_id"), int)]
        if len(payloads) < len(answer):
            logger.warning("%d malformed entries in getUpdates skipped", len(answer) - len(payloads))
        if not payloads:
            return offset
        updates = [new_update(me, p, self.queue_of(p)) for p in payloads]
        await self.repository.enqueue_updates(updates)
        for queue in dict.fromkeys(u.queue for u in updates):
            self.on_stored(queue)
        return max(int(p["update_id"]) for p in payloads) + 1


def webhook_handler(
    me: int, secret: str, repository: Repository, on_stored: Wake, queue_of: QueueOf
) -> Callable[[web.Request], Any]:
    """The aiohttp handler Telegram posts updates to; it answers only after storing them."""

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            logger.warning("webhook call with a wrong or missing secret refused")
            return web.json_response({"ok": False, "error": "wrong secret"}, status=401)
        try:
            payload = json.loads(await request.text())
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep JSON
            return web.json_response({"ok": False, "error": "body is not JSON"}, status=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.json_response({"ok": False, "error": "not a Telegram update"}, status=400)
        update = new_update(me, payload, queue_of(payload))
        try:
            await repository.enqueue_updates([update])
        except Exception:  # Telegram retries a failed call, so nothing is lost
            logger.exception("could not store a webhook update")
            return web.json_response({"ok": False, "error": "try again"}, status=500)
        on_stored(update.queue)
        return web.json_response({"ok": True})

    return handle


async def register_webhook(bot: Bot, url: str, secret: str) -> None:
    await bot.set_webhook(
        url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False
    )
    logger.info("Telegram webhook registered")
