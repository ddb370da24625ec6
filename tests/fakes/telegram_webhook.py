"""Telegram's side of a webhook: queued updates are posted to the bot's URL until it answers 200.

Like Telegram, an update leaves the queue only when the bot confirms it, anything else (an error
status, a refused connection, a timeout) is posted again later, and an update may come twice
when the first answer did not arrive in time (`redeliver`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp

from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_wire import JSON

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_SECONDS = 0.5


class WebhookDelivery:
    """Posts `fake`'s queued updates to the webhook it was given by setWebhook, in order."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.posts: list[tuple[int, int]] = []  # (update_id, HTTP status, or 0 for no answer)
        self._twice = 0
        self._task: asyncio.Task[None] | None = None

    def redeliver(self, count: int) -> None:
        """Post each of the next `count` updates a second time after its 200."""
        self._twice += count

    async def __aenter__(self) -> WebhookDelivery:
        self._task = asyncio.create_task(self._run(), name="fake webhook delivery")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                pending = self.fake.pending() if self.fake.webhook["url"] else []
                if not pending:
                    await self.fake.next_update(0.2)
                    continue
                update = pending[0]
                if not await self._post(session, update):
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                if self._twice > 0:
                    self._twice -= 1
                    await self._post(session, update)
                self.fake.delivered(int(update["update_id"]))

    async def _post(self, session: aiohttp.ClientSession, update: JSON) -> bool:
        headers = {}
        if secret := self.fake.webhook.get("secret_token"):
            headers[SECRET_HEADER] = str(secret)
        try:
            async with session.post(str(self.fake.webhook["url"]), json=update, headers=headers) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.debug("webhook post of %s failed: %r", update["update_id"], error)
            status = 0
        self.posts.append((int(update["update_id"]), status))
        return status == 200
