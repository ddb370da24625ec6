"""What every fake API server shares: an aiohttp app on 127.0.0.1, its recorded calls, waiting on them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Generic, Protocol, Self, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

logger = logging.getLogger(__name__)


class RecordedCall(Protocol):
    @property
    def method(self) -> str: ...

    @property
    def at(self) -> float: ...


CallT = TypeVar("CallT", bound=RecordedCall)


class FakeServer(Generic[CallT]):
    """Serve ``self.app`` on a free port of 127.0.0.1 as ``async with``; subclasses add the API."""

    name = "fake server"

    def __init__(self) -> None:
        self.url = ""
        self.calls: list[CallT] = []
        self.app = web.Application(middlewares=[self._refuse_when_gone])
        self._closed = asyncio.Event()
        self._started = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port = 0
        self._gone = False
        names = [n.removeprefix("_api_") for n in dir(type(self)) if n.startswith("_api_")]
        self._canonical = {self.canonical(n).lower(): self.canonical(n) for n in names}

    async def __aenter__(self) -> Self:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host="127.0.0.1", port=0)
        await self._site.start()
        host, self._port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{self._port}"
        logger.debug("%s listening on %s", self.name, self.url)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closed.set()
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def release(self) -> None:
        """Let long polls in progress answer at once (the server is closing)."""

    async def go_away(self) -> None:
        """Be down, as an API host whose server process died: new connections are refused and the
        ones already open are dropped without an answer."""
        self._gone = True
        self.release()
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def come_back(self) -> None:
        """Listen again on the same port."""
        assert self._runner is not None, "the server was never started"
        self._gone = False
        self._site = web.TCPSite(self._runner, host="127.0.0.1", port=self._port, reuse_address=True)
        await self._site.start()

    @web.middleware
    async def _refuse_when_gone(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._gone:  # a kept-alive connection from before the outage: drop it unanswered
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()
        return await handler(request)

    def canonical(self, handler_name: str) -> str:
        """The API method a ``_api_<name>`` handler serves."""
        return handler_name

    def _name(self, method: str) -> str:
        return self._canonical.get(method.lower(), method)

    def calls_of(self, method: str) -> list[CallT]:
        return [call for call in self.calls if call.method == self._name(method)]

    async def wait_for(self, predicate: Callable[[Self], object], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s; calls:\n{self.summary()}")
            await asyncio.sleep(0.01)

    def summary(self) -> str:
        lines = [f"  +{c.at - self._started:.3f}s {self.describe(c)}" for c in self.calls]
        return "\n".join(lines) or "  (no calls)"

    def describe(self, call: CallT) -> str:
        return call.method
