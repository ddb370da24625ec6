"""messages.send calls that are ready at the same moment go out as one `execute` (up to 25)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from adapters.errors import TemporaryFailure
from adapters.vk.client import VkClient, translated_code

logger = logging.getLogger("okno.adapters.vk")

EXECUTE_LIMIT = 25  # VK runs at most 25 API calls in one execute
IN_FLIGHT = 4


class SendBatcher:
    """The first caller sends for everyone who queued meanwhile: under load one request carries
    many messages, so VK's 20 requests a second stop being 20 messages a second."""

    def __init__(self, client: VkClient, size: int = EXECUTE_LIMIT) -> None:
        self.client = client
        self.size = max(1, min(size, EXECUTE_LIMIT))
        self._pending: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        self._sending = False

    async def send(self, params: dict[str, Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((params, future))
        if not self._sending:
            self._sending = True
            try:
                await asyncio.sleep(0)  # the sends that are ready now join this request
                while self._pending:
                    # a few requests in flight, so VK's answer time does not eat into the rate
                    batches: list[list[tuple[dict[str, Any], asyncio.Future[Any]]]] = []
                    while self._pending and len(batches) < IN_FLIGHT:
                        batches.append(self._pending[: self.size])
                        self._pending = self._pending[self.size :]
                    await asyncio.gather(*(self._flush(batch) for batch in batches))
            finally:
                self._sending = False
        return await future

    async def _flush(self, batch: list[tuple[dict[str, Any], asyncio.Future[Any]]]) -> None:
        try:
            if len(batch) == 1:
                results: list[Any] = [await self.client.call("messages.send", **batch[0][0])]
                errors: list[dict[str, Any]] = []
            else:
                code = "return [" + ",".join(_call(p) for p, _ in batch) + "];"
                answer = await self.client.call_raw("execute", code=code)
                results, errors = list(answer.get("response") or []), list(answer.get("execute_errors") or [])
        except Exception as exc:  # noqa: BLE001 - every waiting sender gets it and handles it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for index, (_, future) in enumerate(batch):
            result = results[index] if index < len(results) else False
            if result is False:  # this one failed inside the execute: its own error, in order
                error = errors.pop(0) if errors else {}
                code_ = int(error.get("error_code", 0))
                future.set_exception(
                    translated_code(code_, str(error.get("error_msg", "")))
                    if code_
                    else TemporaryFailure("VK gave no result")
                )
            else:
                future.set_result(result)


def _call(params: dict[str, Any]) -> str:
    return f"API.messages.send({json.dumps(params, ensure_ascii=False)})"
