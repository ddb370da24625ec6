"""An aiogram session that posts plain sends as JSON instead of url-encoded forms.

aiogram encodes every request as a form, percent-encoding each Cyrillic letter in
Python; for long Russian answers that costs more than the rest of a send. Methods that
carry no files go out as UTF-8 JSON, which the Bot API takes just the same.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods.base import TelegramMethod, TelegramType
from aiohttp import ClientError, ClientTimeout
from aiohttp.payload import BytesPayload

if TYPE_CHECKING:
    from aiogram import Bot

JSON_METHODS = frozenset({"sendMessage", "answerCallbackQuery", "getUpdates"})


class JsonAiohttpSession(AiohttpSession):
    async def __call__(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        if len(self.middleware):  # request middlewares registered: aiogram's own chain runs them
            return await super().__call__(bot, method, timeout)
        # with none, the chain only costs a generic type built anew for every call
        return await self.make_request(bot, method, timeout)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        if method.__api_method__ not in JSON_METHODS:
            return await super().make_request(bot, method, timeout)
        ready = getattr(method, "json_payload", None)  # our own methods know their JSON already
        files: dict[str, Any] = {}
        payload = (
            ready()
            if callable(ready)
            else {
                key: prepared
                for key, value in method.model_dump(warnings=False).items()
                if (prepared := self.prepare_value(value, bot=bot, files=files, _dumps_json=False))
                is not None
            }
        )
        if files:  # an upload after all: the form encoding carries it
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            async with session.post(
                url,
                data=BytesPayload(body, content_type="application/json"),  # no look-up of a payload type
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as response:
                raw = await response.text()
        except TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except ClientError as exc:
            raise TelegramNetworkError(method=method, message=f"{type(exc).__name__}: {exc}") from exc
        result = self.check_response(bot=bot, method=method, status_code=response.status, content=raw)
        return cast(TelegramType, result.result)
